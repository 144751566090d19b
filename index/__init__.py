"""Chunking, embedding and search: build an index from documents, load it, ask it questions.

No web framework is imported here; the service and the CLI build on this API.
"""

from index.engine import MODES, Index, load_index
from index.errors import (
    CorpusError,
    EmptyQuery,
    IndexCorrupt,
    IndexNotReady,
    InvalidText,
    QAError,
    QueryTooLong,
    UnknownDocument,
)
from index.store import build_index, build_index_from_documents, index_exists
from index.types import AnswerSpan, Chunk, Clarification, Meaning, Passage, QueryResult

__all__ = [
    "MODES",
    "AnswerSpan",
    "Chunk",
    "Clarification",
    "CorpusError",
    "EmptyQuery",
    "Index",
    "IndexCorrupt",
    "IndexNotReady",
    "InvalidText",
    "Meaning",
    "Passage",
    "QAError",
    "QueryResult",
    "QueryTooLong",
    "UnknownDocument",
    "build_index",
    "build_index_from_documents",
    "index_exists",
    "load_index",
]
