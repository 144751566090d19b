"""Page and slide numbers of a span, from a document's page (or slide) start offsets.

A paged document keeps `pages`: the start offset in `text` of each page (pages joined by a form
feed), and a slide deck `slides` likewise (`corpus.models.Document`). Citations carry the
1-based page of their first character, and the page of their last one when that is later.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.models import Document


def page_of(starts: Sequence[int], offset: int) -> int | None:
    """The 1-based page (or slide) holding the character at `offset`.

    Args:
        starts: Start offset of each page, ascending (``Document.pages`` or ``Document.slides``).
        offset: A character offset into the document text.

    Returns:
        The page number, or None when the document is not paged (`starts` empty). Text before
        the first start (there should be none) counts as page 1.

    Example:
        >>> page_of((0, 120, 300), 150)
        2
    """
    if not starts:
        return None
    return max(1, bisect_right(starts, offset))


@dataclass(frozen=True)
class Location:
    """Where a span lies in a paged document or a slide deck (every field None when neither)."""

    page: int | None = None
    page_end: int | None = None
    slide: int | None = None


def locate(document: Document, start: int, end: int) -> Location:
    """Page (and last page, when later) and slide of ``document.text[start:end]``.

    Whitespace at the span's edges, form feeds included, does not count: a passage that begins
    with the break before page 2 is on page 2 alone.

    Args:
        document: The document the span belongs to.
        start: Start offset of the span (inclusive).
        end: End offset of the span (exclusive).

    Returns:
        The span's `Location`; `page_end` is set only when the span crosses into a later page.
    """
    if not document.pages and not document.slides:
        return Location()
    text = document.text[start:end]
    first, last = start, max(start, end - 1)
    if text.strip():
        first += len(text) - len(text.lstrip())
        last -= len(text) - len(text.rstrip())
    page = page_of(document.pages, first)
    page_end = page_of(document.pages, last)
    return Location(
        page=page,
        page_end=page_end if page is not None and page_end is not None and page_end > page else None,
        slide=page_of(document.slides, first),
    )


def page_label(page: int | None, page_end: int | None = None, slide: int | None = None) -> str:
    """How a citation names its place: "p. 2", "pp. 2–3", "slide 4" (empty when it has none).

    Args:
        page: First page of the span, or None.
        page_end: Last page when later than `page`, or None.
        slide: Slide of the span, or None.

    Returns:
        The label the chat widget, Slack and the CLI show next to a citation.
    """
    parts = []
    if page is not None:
        parts.append(f"pp. {page}–{page_end}" if page_end is not None and page_end > page else f"p. {page}")
    if slide is not None:
        parts.append(f"slide {slide}")
    return ", ".join(parts)
