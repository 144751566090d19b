"""Find running headers, footers and page numbers in paged text, by their spans.

The text stays verbatim (citations point into it); the index leaves these spans out of chunks,
so "Acme Corp - Confidential - Page 3" never answers a question. A line counts when it sits
among the first or last `EDGE_LINES` lines of a page and either is a bare page number
("7", "- 7 -", "Page 7 of 12", "vii") or, with digits ignored, recurs at the same edge (top or
bottom) of at least half of the pages (and of two pages at least).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

EDGE_LINES = 2
REPEAT_SHARE = 0.5
MAX_LINE = 120  # running headers and footers are short; a long line is body text

_PAGE_NUMBER = re.compile(
    r"(?:page|p\.|pg\.?)?\s*[-–—(\[]?\s*(?:\d{1,5}|[ivxlcdm]{1,8})\s*[-–—)\]]?"
    r"(?:\s*(?:/|of)\s*\d{1,5})?",
    re.IGNORECASE,
)
# Roman page numbers up to 199 (front matter): "mix" or "dim" alone on a line is a word.
_ROMAN = re.compile(r"c?(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})", re.IGNORECASE)
_LINE = re.compile(r"[^\n\f]+")


def _page_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text[start:end]``, without surrounding whitespace."""
    spans = []
    for match in _LINE.finditer(text, start, end):
        line = match.group()
        if line.strip():
            left = match.start() + len(line) - len(line.lstrip())
            spans.append((left, match.start() + len(line.rstrip())))
    return spans


def _edges(lines: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """The first and last `EDGE_LINES` lines of a page, each tagged ``top`` or ``bottom``."""
    top = [("top", *span) for span in lines[:EDGE_LINES]]
    bottom = [("bottom", *span) for span in lines[-EDGE_LINES:] if span not in lines[:EDGE_LINES]]
    return top + bottom


def _key(edge: str, line: str) -> str:
    """Lines equal but for their numbers (page numbers, dates) at the same edge share a key."""
    return edge + ":" + re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number: ``7``, ``- 7 -``, ``Page 7 of 12``, ``vii``."""
    line = line.strip()
    if not _PAGE_NUMBER.fullmatch(line):
        return False
    letters = re.sub(r"(?i)page|pg|p\.|of|[^a-z]", "", line)
    return not letters or bool(_ROMAN.fullmatch(letters))


def boilerplate_spans(text: str, pages: Sequence[int]) -> list[tuple[int, int]]:
    """Spans of running headers, footers and page numbers in paged `text`.

    Args:
        text: The document text, pages joined by form feeds.
        pages: Start offset of each page in `text`.

    Returns:
        Sorted, non-overlapping ``(start, end)`` spans, each one whole line without its newline.
    """
    ends = [*pages[1:], len(text)]
    edges = [_edges(_page_lines(text, start, end)) for start, end in zip(pages, ends, strict=True)]
    counts = Counter(key for page in edges for key in {_key(edge, text[s:e]) for edge, s, e in page})
    needed = max(2, math.ceil(REPEAT_SHARE * len(pages)))
    return sorted(
        (s, e)
        for page in edges
        for edge, s, e in page
        if is_page_number(text[s:e]) or (e - s <= MAX_LINE and counts[_key(edge, text[s:e])] >= needed)
    )
