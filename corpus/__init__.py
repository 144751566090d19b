"""Source documents and ingestion: reading files into `Document`s (knows nothing about vectors)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corpus.models import Document

if TYPE_CHECKING:
    from corpus.ingest import load_corpus

__all__ = ["Document", "load_corpus"]


def __getattr__(name: str) -> Any:
    # Ingestion (its readers and their parsers) loads on first use: loading an index and answering
    # questions need `corpus.models` only.
    if name == "load_corpus":
        from corpus.ingest import load_corpus

        return load_corpus
    raise AttributeError(f"module 'corpus' has no attribute {name!r}")
