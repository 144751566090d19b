"""Rebuild a PDF's blocks (headings, paragraphs, list items, code, table lines) from its layout.

A PDF's text layer has one line per printed line and no blank lines, and its words alone do not
say where a paragraph ends: a documentation page printed to PDF has code lines wider than any
prose line, so "a line shorter than the longest ends its paragraph" cuts every paragraph into
fragments. PDFium does say, for every character, its box, font size, weight and whether the font
is fixed-pitch. This module reads that, as a typesetter would:

- the body text is the most common font size; a line set larger (or bold at body size, short and
  without a sentence's final mark) is a heading, its level given by its size;
- a line set in a fixed-pitch font is code (shown with its passage, never an answer);
- a line PDFium breaks at a superscript or a change of font continues its printed line;
- a paragraph ends where the space between two lines is clearly larger than the usual line pitch,
  at a bullet, at an indented first line after a finished sentence, after a finished sentence that
  stops short of the right margin, and at a page break unless the page's last sentence is
  unfinished and the next page goes on in lower case (the block then spans the running footer and
  header between, which the index leaves out of what it shows);
- a run of short lines that are not sentences is a table (one row a line), and a bold line over
  it, set as large as the rows, is its header row.

`layout_blocks` works on `Line` records (offsets into the document's text plus geometry), so it
is tested on hand-made lines as well as on real PDFs.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from corpus.typesetting import HEADING_SIZE, MAX_BOLD_HEADING_WORDS, NOT_SENTENCE_END

# A new paragraph: the baseline-to-baseline distance exceeds the body's usual pitch by this much.
# Typesetting convention (paragraph spacing is at least a third of a line); not fitted.
PARAGRAPH_GAP = 1.3
MAX_HEADING_WORDS = 20
SHORT_LINE = 0.7  # a line narrower than this share of the column is short (a table row, a label)
COLUMN_GAP = 1.5  # a blank this many font sizes wide parts two table cells (a space is about 0.3)
WRAPPED_LINE = 0.8  # a wrapped line reaches at least this share of the column
_BULLET = re.compile(r"^\s*(?:[•\-–*·▪◦●○■□➢►]|\d{1,3}[.)]|[a-z][.)])\s+\S")
_SENTENCE_END = ".!?:"


@dataclass(frozen=True)
class Line:
    """One printed line: its span in the document's text and how it was set.

    `top`/`bottom` are PDF coordinates (y grows up the page) of its first printed line and
    `last_bottom` the baseline of its last (PDFium joins the two halves of a word hyphenated at a
    line end into one line); `x1` is where its last printed line ends; `mono` and `bold` are the shares of
    its visible characters set in a fixed-pitch font and in a bold weight; `gap` is the widest blank
    between two of its characters, in font sizes (a table's columns are set apart by more than a
    space).
    """

    start: int
    end: int
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    last_bottom: float
    size: float
    mono: float
    bold: float
    gap: float
    text: str


@dataclass(frozen=True)
class LayoutBlock:
    """A block of lines: ``heading`` (with its `level`), ``para``, ``item``, ``code``, ``table`` (a
    row) or ``table_head`` (the header row over them)."""

    start: int
    end: int
    kind: str
    level: int = 0
    lines: tuple[tuple[int, int], ...] = ()


def _line_kind(line: Line, body: float) -> str:
    words = len(line.text.split())
    if line.mono >= 0.8:
        return "code"
    if line.size >= body * HEADING_SIZE and words <= MAX_HEADING_WORDS:
        return "heading"
    if (
        line.bold >= 0.9
        and words <= MAX_BOLD_HEADING_WORDS
        and line.text.rstrip()[-1:] not in NOT_SENTENCE_END
        and not _BULLET.match(line.text)
    ):
        return "heading"
    return "text"


def _body_size(lines: Sequence[Line]) -> float:
    """The font size most characters of prose are set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        if line.mono < 0.8:
            weights[round(line.size * 2) / 2] += line.end - line.start
    return weights.most_common(1)[0][0] if weights else 0.0


def _prose(lines: Sequence[Line], body: float) -> list[Line]:
    """Lines of running text: body size, not code, and wide (at least 40% of the widest text
    span; table cells and labels are narrower and would skew the margins and the pitch)."""
    body_lines = [ln for ln in lines if abs(ln.size - body) < 0.5 and ln.mono < 0.8] or list(lines)
    span = max(ln.x1 for ln in body_lines) - min(ln.x0 for ln in body_lines)
    return [ln for ln in body_lines if ln.x1 - ln.x0 >= 0.4 * span] or body_lines


def _pitch(prose: Sequence[Line], body: float) -> float:
    """The usual baseline-to-baseline distance of consecutive lines of running text."""
    steps = [
        a.last_bottom - b.bottom
        for a, b in zip(prose, prose[1:], strict=False)
        # Lines are never set closer than their font size: a smaller step is between pieces of
        # one printed row (table cells set at different heights), not a line pitch.
        if a.page == b.page and 0.9 * body < a.last_bottom - b.bottom < 3 * body
    ]
    return statistics.median(steps) if steps else body * 1.2


def _column(prose: Sequence[Line]) -> tuple[float, float]:
    """Left edge and right margin of the running text: where most of its lines start, and how far
    they reach (the 90th percentile of their ends, so a stray wide line does not set it)."""
    left = Counter(round(ln.x0) for ln in prose).most_common(1)[0][0]
    ends = sorted(ln.x1 for ln in prose)
    right = ends[int(0.9 * (len(ends) - 1))] if len(ends) >= 10 else ends[-1]
    return float(left), right


def _starts_block(prev: Line, line: Line, block_kind: str, geometry: tuple[float, float, float]) -> bool:
    """Whether the text line `line` begins a new block after `prev`, the last line of a paragraph
    or list item."""
    pitch, left, right = geometry
    if line.page != prev.page or prev.last_bottom - line.bottom > PARAGRAPH_GAP * pitch:
        return True
    if abs(prev.last_bottom - line.bottom) < 0.5 * pitch:  # the same printed line (a superscript)
        return False
    if prev.last_bottom - line.bottom < -pitch:  # the next column, or a jump up the page
        return True
    if _BULLET.match(line.text):
        return True
    # A wrapped line runs to the right margin: one that stops well short was ended on purpose
    # (a paragraph's last line, a table row, an address line) unless the next line's first word
    # would not have fitted in the space left (a long path or URL wraps early).
    room = right - prev.x1
    if room > (1 - WRAPPED_LINE) * max(right - left, 1.0) and room > _first_word_width(line):
        return True
    ended = prev.text.rstrip()[-1:] in _SENTENCE_END
    return ended and block_kind == "para" and line.x0 > prev.x0 + line.size  # an indented first line


def _goes_on(last: Line, line: Line) -> bool:
    """Whether `line`, first on its page, continues the sentence that `last` left unfinished at the
    foot of the page before: same size, no final mark, and it goes on in lower case."""
    return (
        line.page == last.page + 1
        and abs(last.size - line.size) < 0.5
        and last.text.rstrip()[-1:] not in NOT_SENTENCE_END
        and line.text.lstrip()[:1].islower()
    )


def _first_word_width(line: Line) -> float:
    """About how wide the line's first word (and the space before it) is set: half the font size
    a character, the usual average of a text face."""
    return (len(line.text.strip().split(" ", 1)[0]) + 1) * 0.5 * line.size


def _is_row(line: Line, left: float, right: float) -> bool:
    """A line that is not a sentence and is short or has columns: a table row (in a run of them)."""
    if line.text.rstrip()[-1:] in NOT_SENTENCE_END:
        return False
    return line.gap >= COLUMN_GAP or line.x1 - line.x0 < SHORT_LINE * max(right - left, 1.0)


def layout_blocks(lines: Sequence[Line]) -> list[LayoutBlock]:
    """Group a document's lines (reading order, running headers and footers left out) into blocks."""
    if not lines:
        return []
    body = _body_size(lines)
    prose = _prose(lines, body)
    pitch = _pitch(prose, body)
    left, right = _column(prose)
    groups: list[tuple[str, list[Line]]] = []
    for line in lines:
        kind = _line_kind(line, body)
        prev = groups[-1] if groups else None
        last = prev[1][-1] if prev else None
        if kind == "code" and prev is not None and last is not None and prev[0] in ("para", "item"):
            # Inline code that fills a line ("... store it locally in" / "~/.cargo/config"): the
            # sentence before it is not finished and no paragraph space parts them.
            unfinished = last.text.rstrip()[-1:] not in _SENTENCE_END
            if (
                unfinished
                and last.page == line.page
                and 0 < last.last_bottom - line.bottom <= PARAGRAPH_GAP * pitch
            ):
                kind = "text"
        if prev is not None and last is not None and last.page == line.page:
            same_size = abs(last.size - line.size) < 0.5
            near = last.last_bottom - line.bottom <= 2.5 * max(pitch, line.size)
            if kind == "heading" and prev[0] == "heading" and same_size and near:
                prev[1].append(line)
                continue
            if kind == "code" and prev[0] == "code" and last.last_bottom - line.bottom <= 3 * pitch:
                prev[1].append(line)
                continue
            if kind == "text" and prev[0] in ("para", "item"):
                if not _starts_block(last, line, prev[0], (pitch, left, right)):
                    prev[1].append(line)
                    continue
        elif kind == "text" and prev is not None and last is not None and _goes_on(last, line):
            prev[1].append(line)  # a sentence that runs on to the next page
            continue
        if kind == "text":
            kind = "item" if _BULLET.match(line.text) else "para"
        groups.append((kind, [line]))
    return _with_levels(_with_tables(groups, left, right), body)


def _with_tables(
    groups: list[tuple[str, list[Line]]], left: float, right: float
) -> list[tuple[str, list[Line]]]:
    """Runs of two or more one-line paragraphs that are short and not sentences are table lines."""

    def row(group: tuple[str, list[Line]]) -> bool:
        return group[0] == "para" and len(group[1]) == 1 and _is_row(group[1][0], left, right)

    out: list[tuple[str, list[Line]]] = []
    i = 0
    while i < len(groups):
        j = i
        while j < len(groups) and row(groups[j]):
            j += 1
        if j - i >= 2:
            head = out[-1] if out else None
            if (
                head is not None
                and head[0] == "heading"
                and len(head[1]) == 1
                and abs(head[1][0].size - groups[i][1][0].size) < 0.5
            ):
                out[-1] = ("table_head", head[1])  # a bold line over the rows, as big as they: their header
            out.extend(("table", members) for _, members in groups[i:j])
            i = j
        else:
            out.append(groups[i])
            i += 1
    return out


def _with_levels(groups: list[tuple[str, list[Line]]], body: float) -> list[LayoutBlock]:
    """Blocks with heading levels: the largest heading size is level 1, the next 2, and so on."""
    sizes = sorted(
        {
            round(g[1][0].size * 2) / 2
            for g in groups
            if g[0] == "heading" and g[1][0].size >= body * HEADING_SIZE
        },
        reverse=True,
    )
    out = []
    for kind, members in groups:
        level = 0
        if kind == "heading":
            size = round(members[0].size * 2) / 2
            level = sizes.index(size) + 1 if size in sizes else len(sizes) + 1
        spans = tuple((ln.start, ln.end) for ln in members)
        out.append(LayoutBlock(members[0].start, members[-1].end, kind, level, spans))
    return out
