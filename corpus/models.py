"""The `Document` record shared by ingestion, indexing and the service."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One source document, its text exactly as served to clients.

    Every citation offset in docqa points into `text`, so `text` is never
    rewritten after loading (boilerplate is skipped at chunking time instead).

    Attributes:
        doc_id: Stable, readable identifier (``cco-vs-coo``), safe in a URL path.
        title: Human title, from the corpus manifest or the first heading/line.
        source: Path of the file relative to the corpus root's parent (``corpus/x.txt``).
        text: The document's text (HTML is stripped to text at load time).
        url: Optional original location of the document.
        pages: Start offset in `text` of each page, for paged formats (PDF); empty otherwise.
            Page N (1-based) is ``text[pages[N-1]:pages[N]]``; pages are joined by a form feed.
        slides: Start offset in `text` of each slide, for slide decks (PPTX); empty otherwise.
    """

    doc_id: str
    title: str
    source: str
    text: str
    url: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    pages: tuple[int, ...] = ()
    slides: tuple[int, ...] = ()
