"""Find a document's structure: blocks (paragraphs, lists, tables), headings and boilerplate.

Everything here reads the verbatim text and returns offsets; nothing rewrites it. Scraped pages
carry navigation words, image names, author bios and newsletter sign-ups; those blocks are marked
``boilerplate`` so the chunker leaves them out while citations still point into the original file.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

from index.sentences import last_mark, split_sentences

BlockKind = Literal["heading", "question", "leadin", "list", "table", "para", "code", "boilerplate"]

_BULLET_LINE = re.compile(r"^\s*(?:[•\-–*·▪◦]|\d{1,3}[.)])\s+\S")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+\S")
_NAV_WORDS = frozenset(
    """blog home menu share tweet print search login log in sign in sign up subscribe author authors
    scroll image image advertisement related articles related posts table of contents toc ask us how
    read more next previous back to top cookie settings""".split("\n")
)
_NAV_PHRASES = frozenset(
    {
        "blog",
        "home",
        "menu",
        "share",
        "author",
        "scroll image",
        "related articles",
        "related posts",
        "ask us how",
        "read more",
        "table of contents",
        "back to top",
        "advertisement",
        "tags",
        "categories",
    }
)
_BOILER_PREFIX = re.compile(
    r"^(related( articles| posts)?\s*:|also read\s*:|read more\s*:|see also\s*:|visit\s*:|"
    r"published (in|on|by)\b|"
    r"posted (in|on|by)\b|updated on\b|to (know|learn|read) more\b|click here\b|share (this|on)\b|tags?\s*:|"
    r"categor(y|ies)\s*:|photo\s*:|image\s*:|source\s*:)",
    re.IGNORECASE,
)
_MARKETING = re.compile(
    r"\b(subscribe|newsletter|never miss|sign up|join our|drop us a note|stay on top of|follow us|"
    r"all rights reserved|cookie)\b",
    re.IGNORECASE,
)
_TOKEN_ONLY = re.compile(r"^[\w.]+[-_][\w.-]+$|^[\w-]+\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
_TAIL_MARKERS = frozenset({"authors", "about the author", "about the authors", "author"})


@dataclass(frozen=True)
class Block:
    """A run of text between blank lines (or one line, in a document without blank lines).

    `label` is a heading's readable text (Markdown headings); empty for other blocks.
    """

    start: int
    end: int
    kind: BlockKind
    level: int = 0
    label: str = ""


@dataclass(frozen=True)
class Unit:
    """A verbatim span with its readable text.

    Answer units are sentences, list items and table rows (a row's `display` names its columns);
    views are what a passage shows: paragraphs, items (with a bullet), rows, code (`code` set:
    shown, but not embedded or indexed, where it would drown the prose that explains it).
    """

    start: int
    end: int
    display: str
    code: bool = False


@dataclass(frozen=True)
class Structure:
    """A document read for indexing: blocks to chunk, answer units, display views and a title."""

    blocks: tuple[Block, ...]
    units: tuple[Unit, ...]
    views: tuple[Unit, ...]
    title: str | None = None


def merge_leadins(text: str, blocks: list[Block]) -> list[Block]:
    """A paragraph ending with ":" right before a list is its lead-in: one block with the list."""
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (
            block.kind == "list"
            and prev is not None
            and prev.kind == "para"
            and text[prev.start : prev.end].rstrip().endswith(":")
        ):
            out[-1] = Block(prev.start, block.end, "list")
            continue
        out.append(block)
    return out


def first_heading(blocks: list[Block]) -> str | None:
    """The label of the first heading of levels 1-6 (the document's title when it has no other)."""
    return next((b.label for b in blocks if b.kind == "heading" and b.level <= 6), None)


def plain_structure(text: str) -> Structure:
    """The structure of a plain-text (or HTML-stripped) document, from the line rules above."""
    blocks = parse_blocks(text)
    units: list[Unit] = []
    views: list[Unit] = []
    for block in blocks:
        if block.kind in ("boilerplate", "heading", "question"):
            continue
        if block.kind == "table":
            rows = _table_rows(text, block)
            units.extend(rows[1:])  # the first row is the header: context, never an answer
            views.extend(rows)
            continue
        views.append(Unit(block.start, block.end, " ".join(text[block.start : block.end].split())))
        for seg_start, seg_end in _items(text, block.start, block.end):
            wrapped = _hard_wrapped(text[seg_start:seg_end].split("\n"))
            for start, end in split_sentences(text, seg_start, seg_end, wrapped=wrapped):
                units.append(Unit(start, end, " ".join(text[start:end].split())))
    return Structure(tuple(blocks), tuple(units), tuple(views))


def _items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A block cut where each bullet line begins: the lead-in before the first bullet, then every
    item with its wrapped continuation lines (so a hard-wrapped item is read whole, and an item
    never runs into the next)."""
    cuts = [start]
    pos = start
    for line in text[start:end].split("\n"):
        if pos > start and _BULLET_LINE.match(line):
            cuts.append(pos)
        pos += len(line) + 1
    return [(a, b - 1 if b < end else b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]


def _table_rows(text: str, block: Block) -> list[Unit]:
    rows: list[Unit] = []
    offset = block.start
    for line in text[block.start : block.end].split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        stripped = line.strip()
        if stripped:
            lead = len(line) - len(line.lstrip())
            rows.append(Unit(start + lead, start + lead + len(stripped), " ".join(stripped.split())))
    return rows


def _raw_blocks(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks when the document uses blank lines, else one block per line."""
    uses_blank_lines = len(re.findall(r"\n[ \t]*\n", text)) >= 2
    separator = re.compile(r"\n[ \t]*\n+") if uses_blank_lines else re.compile(r"\n+")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for match in [*separator.finditer(text), None]:
        stop = match.start() if match else len(text)
        spans.extend(_split_markdown_headings(text, cursor, stop))
        cursor = match.end() if match else len(text)
    return [(s, e) for s, e in (_strip(text, s, e) for s, e in spans) if e > s]


def _split_markdown_headings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A Markdown heading line is its own block even without a blank line around it."""
    spans, cursor, pos = [], start, start
    for line in text[start:end].split("\n"):
        line_end = pos + len(line)
        if _MD_HEADING.match(line):
            spans += [(cursor, pos), (pos, line_end)]
            cursor = line_end + 1
        pos = line_end + 1
    spans.append((cursor, end))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_boilerplate(line: str) -> bool:
    low = line.strip().lower().rstrip(":")
    words = low.split()
    if not words:
        return True
    if low in _NAV_PHRASES or _TOKEN_ONLY.match(low) or _BOILER_PREFIX.match(line.strip()):
        return True
    if len(words) <= 25 and _MARKETING.search(line):
        return True
    return len(words) == 1 and low.isalpha() and line.strip().islower()


def _looks_like_heading(line: str) -> bool:
    stripped = line.strip()
    words = stripped.split()
    if _MD_HEADING.match(line):
        return True
    if not words or len(words) > 14 or len(stripped) > 120 or _BULLET_LINE.match(line):
        return False
    mark = last_mark(stripped)  # "We shipped it! 🎉" ends with its "!", not with the emoji
    if not mark or mark in ".!;,":
        return False
    return stripped[0].isupper() or stripped[0].isdigit()


_ENDS_SENTENCE = re.compile(r"""[.!?:;…]["')\]]*\s*$""")


def _classify(text: str, start: int, end: int) -> tuple[BlockKind, int]:
    body = text[start:end]
    lines = [ln for ln in body.split("\n") if ln.strip()]
    md = _MD_HEADING.match(lines[0])
    if len(lines) == 1:
        if md:
            return "heading", len(md.group(1))
        if _is_boilerplate(lines[0]):
            return "boilerplate", 0
        if _looks_like_heading(lines[0]):
            return ("question" if body.rstrip().endswith("?") else "heading"), 0
        return "para", 0
    bullets = sum(1 for ln in lines if _BULLET_LINE.match(ln))
    if bullets >= len(lines) - 1 and bullets:
        return "list", 0
    return ("table" if len(lines) >= 3 and not _is_prose(lines) else "para"), 0


def _is_prose(lines: list[str]) -> bool:
    """Lines that are a paragraph, not the rows of a flattened table: every line ends a sentence
    (one sentence a line), or the paragraph is hard-wrapped. A table's header row ends without a
    stop, and so do its rows' cells; none of its lines continues the one before."""
    return all(_ENDS_SENTENCE.search(ln) for ln in lines) or _hard_wrapped(lines)


def _hard_wrapped(lines: list[str]) -> bool:
    """A line breaks mid-sentence: it ends without a stop and the next begins in lower case."""
    return any(
        not _ENDS_SENTENCE.search(line) and nxt.lstrip()[:1].islower()
        for line, nxt in zip(lines, lines[1:], strict=False)
    )


def parse_blocks(text: str) -> list[Block]:
    """Split a document into classified blocks, in order.

    A block ending with ``:`` right before a list is its lead-in and joins the list; everything after an
    "Authors" marker is the page's tail (bios, sign-ups) and is boilerplate.
    """
    blocks: list[Block] = []
    in_tail = False
    for start, end in _raw_blocks(text):
        kind, level = _classify(text, start, end)
        if text[start:end].strip().lower().rstrip(":") in _TAIL_MARKERS:
            in_tail = True
        if in_tail:
            kind = "boilerplate"
        blocks.append(Block(start, end, kind, level))
    return _mark_leadins(text, blocks)


def _mark_leadins(text: str, blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for i, block in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        ends_colon = text[block.start : block.end].rstrip().endswith(":")
        if out and out[-1].kind == "leadin":
            # A list keeps the sentence that introduces it: one block from the lead-in to the list's end.
            lead = out.pop()
            block = Block(lead.start, block.end, "list", 0)
        elif (
            ends_colon
            and nxt is not None
            and nxt.kind == "list"
            and block.kind in ("heading", "para", "question")
        ):
            block = Block(block.start, block.end, "leadin", 0)
        elif (
            block.kind in ("heading", "question")
            and not block.level
            and (ends_colon or (out and out[-1].kind == "question"))
        ):
            # "Here's the breakdown:" introduces what follows; a short line after a question answers it.
            block = Block(block.start, block.end, "para", 0)
        elif (
            block.kind in ("heading", "question")
            and (nxt is None or nxt.kind == "boilerplate")
            and not block.level
        ):
            # A "heading" with nothing under it is a stray line (a caption, a promo), not structure.
            block = Block(block.start, block.end, "boilerplate" if nxt is None else "para", 0)
        out.append(block)
    return out


def pdf_structure(
    text: str, boilerplate: list[tuple[int, int]], layout: list[tuple[int, int, str, int]] | None = None
) -> Structure:
    """The structure of text extracted from a PDF: lines re-joined into paragraphs.

    The loader reads the blocks from the page layout (`corpus.pdf_layout`: font sizes, line
    spacing, margins, fixed-pitch code) and records them as `layout` (start, end, kind, level):
    headings get their level, code is shown but never an answer, paragraphs and list items are
    split into sentences, table lines are units of their own.

    Without a layout (text from elsewhere), a paragraph is rebuilt from the text's lines alone (a
    new one starts after a line that ends a sentence short of a full line (`_full_line`), at a
    bullet, or at a page break); running headers, footers and page numbers (the loader's `boilerplate`
    spans) are left out; a short line before a paragraph is a heading; a run of short lines is a
    table (one row a line).
    """
    if layout:
        return _layout_structure(text, layout, boilerplate)
    lines = _pdf_lines(text, boilerplate)
    blocks: list[Block] = []
    units: list[Unit] = []
    views: list[Unit] = []
    for kind, spans in _pdf_groups(text, lines):
        start, end = spans[0][0], spans[-1][1]
        if kind == "heading":
            label = " ".join(text[start:end].split())
            blocks.append(Block(start, end, "heading", 0, label))
            continue
        blocks.append(Block(start, end, kind))
        if kind == "table":
            rows = [Unit(s, e, " ".join(text[s:e].split())) for s, e in spans]
            units.extend(rows)
            views.extend(rows)
            continue
        views.append(Unit(start, end, " ".join(text[start:end].split())))
        for s, e in split_sentences(text, start, end, wrapped=True):
            units.append(Unit(s, e, " ".join(text[s:e].split())))
    return Structure(tuple(blocks), tuple(units), tuple(views))


def _layout_structure(
    text: str, layout: list[tuple[int, int, str, int]], boilerplate: list[tuple[int, int]]
) -> Structure:
    skip = sorted(boilerplate)
    skip_ends = [b for _, b in skip]

    def outside(start: int, end: int) -> list[tuple[int, int]]:
        """The parts of a span outside the running footers and headers it crosses (a block that
        runs on to the next page spans them)."""
        parts, at = [], start
        for a, b in skip[bisect.bisect_right(skip_ends, start) :]:
            if a >= end:
                break
            parts.append((at, a))
            at = b
        parts.append((at, end))
        return [(a, b) for a, b in parts if text[a:b].strip()]

    def shown_text(start: int, end: int) -> str:
        """The span as read: without the footers and headers it crosses."""
        return " ".join(" ".join(text[a:b] for a, b in outside(start, end)).split())

    blocks: list[Block] = []
    units: list[Unit] = []
    views: list[Unit] = []
    for start, end, kind, level in layout:
        shown = shown_text(start, end)
        if kind == "heading":
            blocks.append(Block(start, end, "heading", level, shown))
        elif kind == "code":
            blocks.append(Block(start, end, "code"))
            views.append(Unit(start, end, text[start:end], code=True))
        elif kind in ("table", "table_head"):
            blocks.append(Block(start, end, "table"))
            if kind == "table":  # a header row is context, never an answer
                units.append(Unit(start, end, shown))
            views.append(Unit(start, end, shown))
        else:
            blocks.append(Block(start, end, "list" if kind == "item" else "para"))
            # One view a page: a passage that cuts the block shows no footer from between them.
            views.extend(Unit(a, b, shown_text(a, b)) for a, b in outside(start, end))
            for s, e in split_sentences(text, start, end, wrapped=True):
                units.append(Unit(s, e, shown_text(s, e)))
    return Structure(tuple(blocks), tuple(units), tuple(views))


def _pdf_lines(text: str, boilerplate: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """(start, end, starts_page) of every non-empty line that is not boilerplate."""
    skip = sorted(boilerplate)
    out: list[tuple[int, int, bool]] = []
    page_start = True
    for match in re.finditer(r"[^\n\f]+|\f", text):
        if match.group(0) == "\f":
            page_start = True
            continue
        start, end = _strip(text, match.start(), match.end())
        if end <= start or any(s <= start and end <= e for s, e in skip):
            continue
        out.append((start, end, page_start))
        page_start = False
    return out


def _full_line(text: str, lines: list[tuple[int, int, bool]]) -> int:
    """How long a full line of running text is: the median length of lines that a wrapped sentence
    continues after (the next line goes on in lower case), else of the longest tenth. Not the
    longest line: a code line or a URL runs wider than any prose line."""
    wrapped = sorted(
        e - s
        for (s, e, _), (n, _, new_page) in zip(lines, lines[1:], strict=False)
        if not new_page and text[n].islower()
    )
    if len(wrapped) >= 3:
        return wrapped[len(wrapped) // 2]
    lengths = sorted(e - s for s, e, _ in lines)
    return lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0


def _pdf_groups(
    text: str, lines: list[tuple[int, int, bool]]
) -> list[tuple[BlockKind, list[tuple[int, int]]]]:
    width = _full_line(text, lines)
    groups: list[tuple[BlockKind, list[tuple[int, int]]]] = []
    for start, end, new_page in lines:
        line = text[start:end]
        short = len(line) < 0.6 * width and line.rstrip()[-1:] not in ".!?;,:"
        prev = groups[-1] if groups else None
        if short:
            if prev is not None and prev[0] in ("heading", "table") and not new_page:
                groups[-1] = ("table", [*prev[1], (start, end)])
            else:
                groups.append(("heading", [(start, end)]))
            continue
        ended = prev is not None and text[prev[1][-1][0] : prev[1][-1][1]].rstrip()[-1:] in ".!?:"
        prev_short = prev is not None and (prev[1][-1][1] - prev[1][-1][0]) < 0.85 * width
        if (
            prev is None
            or prev[0] != "para"
            or new_page
            or _BULLET_LINE.match(line)
            or (ended and prev_short)
        ):
            groups.append(("para", [(start, end)]))
        else:
            groups[-1] = ("para", [*prev[1], (start, end)])
    return groups
