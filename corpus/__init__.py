"""Source documents and ingestion: reading files into `Document`s (knows nothing about vectors)."""

from corpus.ingest import load_corpus
from corpus.models import Document

__all__ = ["Document", "load_corpus"]
