"""Internal records of the index: chunks, passages, answers. Frozen dataclasses, never pydantic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one document; `text == document.text[start:end]` always.

    Attributes:
        chunk_id: Position of the chunk in the index (0-based, dense).
        doc_id: Id of the document the chunk belongs to.
        section: Heading path, joined by " › " (empty when the document has no headings).
        start: Start offset in the document text (inclusive).
        end: End offset in the document text (exclusive).
        text: The verbatim span.
        embed_text: What BM25 indexes: title, section and the span's readable text (embedded only
            when the chunk has no answer units; `index.chunk_vectors`).
        display: The span as clean readable text (markup removed, table rows with their headers).
    """

    chunk_id: int
    doc_id: str
    section: str
    start: int
    end: int
    text: str
    embed_text: str
    display: str = ""


@dataclass(frozen=True)
class Passage:
    """A ranked chunk as returned to a client, carrying everything a citation needs.

    `page` is the 1-based page of a paged document (PDF) the span starts on, `page_end` the page
    it ends on when that is a later one, and `slide` the slide of a deck; None otherwise.
    """

    rank: int
    score: float
    doc_id: str
    title: str
    source: str
    section: str
    start: int
    end: int
    text: str
    chunk_id: int = -1
    display: str = ""
    page: int | None = None
    page_end: int | None = None
    slide: int | None = None

    @property
    def url(self) -> str:
        """Relative link to the citation viewer with this passage highlighted."""
        return f"/documents/{self.doc_id}?start={self.start}&end={self.end}"

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON form of a passage."""
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "display": self.display or " ".join(self.text.split()),
            "url": self.url,
            "page": self.page,
            "page_end": self.page_end,
            "slide": self.slide,
        }


@dataclass(frozen=True)
class AnswerSpan:
    """The sentence (or two adjacent sentences) that answers the question, with exact offsets.

    `display` is the same span as readable text (markup removed, a table row with its headers);
    `page`, `page_end` and `slide` locate it as on `Passage`.
    """

    text: str
    doc_id: str
    start: int
    end: int
    passage_rank: int
    display: str = ""
    page: int | None = None
    page_end: int | None = None
    slide: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON form of an answer."""
        return {
            "text": self.text,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "passage_rank": self.passage_rank,
            "display": self.display or " ".join(self.text.split()),
            "url": f"/documents/{self.doc_id}?start={self.start}&end={self.end}",
            "page": self.page,
            "page_end": self.page_end,
            "slide": self.slide,
        }


@dataclass(frozen=True)
class Meaning:
    """One expansion of an acronym and the documents that define it so."""

    expansion: str
    doc_ids: tuple[str, ...]


@dataclass(frozen=True)
class Clarification:
    """An acronym of the question that means different things in different documents."""

    term: str
    meanings: tuple[Meaning, ...]

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON form of a clarification."""
        return {
            "term": self.term,
            "meanings": [{"expansion": m.expansion, "doc_ids": list(m.doc_ids)} for m in self.meanings],
        }


@dataclass(frozen=True)
class QueryResult:
    """The full answer to one question: the contract's QueryResponse as a dataclass."""

    question: str
    answer: AnswerSpan | None
    abstained: bool
    confidence: float
    passages: tuple[Passage, ...]
    clarifications: tuple[Clarification, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The contract's QueryResponse JSON."""
        return {
            "question": self.question,
            "answer": self.answer.to_dict() if self.answer else None,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "passages": [p.to_dict() for p in self.passages],
            "clarifications": [c.to_dict() for c in self.clarifications],
        }
