"""Split a `Document` into `Chunk`s along its structure.

Headings become the chunk's ``section`` path; an FAQ question stays with its answer; a list stays
with the sentence that introduces it; a flattened table stays whole. Chunks never cross a heading
or a boilerplate block, target `min_words`..`max_words` words, and are always verbatim spans:
``document.text[chunk.start:chunk.end] == chunk.text``. Blocks too long for one chunk are split at
sentence boundaries (list items and table rows are sentences too).
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from corpus.models import Document
from index.asciidoc import clean_adoc, parse_asciidoc
from index.markdown import parse_markdown
from index.markup import clean_markdown, clean_plain
from index.rst import clean_rst, parse_rst
from index.structure import Block, Structure, Unit, pdf_structure, plain_structure
from index.types import Chunk

logger = logging.getLogger(__name__)

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class ChunkerConfig:
    """Size bounds of a chunk, in words.

    Raises:
        ValueError: When the bounds are not ``0 < min_words <= max_words``.
    """

    min_words: int = 40
    max_words: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.min_words <= self.max_words:
            raise ValueError(f"need 0 < min_words <= max_words, got {self.min_words}, {self.max_words}")


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    section: tuple[str, ...]
    words: int
    breaks_before: bool  # a new section, or boilerplate/heading in between: never merge across


def _words(text: str) -> int:
    return len(text.split())


def _heading_level(
    block: Block, label: str, prev_level: int | None, stack: list[tuple[int, str]], next_kind: str
) -> int:
    """Nesting level of a heading: Markdown says it; in plain text it is inferred from shape."""
    if block.level:
        return block.level
    if prev_level is not None:  # a heading right under another heading is its child
        return prev_level + 1
    if block.kind == "question":
        return 2 if stack and not stack[0][1].endswith("?") else 1
    if len(label.split()) <= 3 and next_kind not in ("heading", "question"):
        return 2 if stack else 1  # a short label ("Focus", "Scope") under the current topic
    return 1


def _breaks(text: str, block: Block, source: bool) -> bool:
    """Whether a boilerplate block ends the run of text before it (no chunk spans it).

    On scraped pages it is navigation or a sign-up between articles. In Markdown it is mostly a
    template tag (``{{< tabs >}}``, ``{% include %}``), in reStructuredText a comment, a link target
    or a ``toctree``: layout inside a section, which must not cut a heading from its text. An HTML
    comment still breaks: it may hold notes not meant for readers.
    """
    return not source or text[block.start : block.end].lstrip().startswith("<!--")


def _sections(
    text: str, blocks: list[Block], source: bool = False
) -> list[tuple[Block, tuple[str, ...], bool]]:
    """Pair each block (headings included) with its section path and whether a break precedes it."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[Block, tuple[str, ...], bool]] = []
    pending_break, prev_level = True, None
    content = [b for b in blocks if b.kind != "boilerplate"]
    next_kinds = {id(b): (content[i + 1].kind if i + 1 < len(content) else "") for i, b in enumerate(content)}
    for block in blocks:
        if block.kind in ("heading", "question"):
            label = block.label or " ".join(text[block.start : block.end].lstrip("#").split())
            level = _heading_level(block, label, prev_level, stack, next_kinds[id(block)])
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, label))
            out.append((block, tuple(lbl for _, lbl in stack), True))
            pending_break, prev_level = False, level
            continue
        prev_level = None
        if block.kind == "boilerplate":
            pending_break = pending_break or _breaks(text, block, source)
            continue
        out.append((block, tuple(lbl for _, lbl in stack), pending_break))
        pending_break = False
    return out


@dataclass(frozen=True)
class _Source:
    """A markup format read from its source: its suffixes, its reader and its inline cleaner."""

    suffixes: tuple[str, ...]
    parse: Callable[[str], Structure]
    clean: Callable[[str], str]


# Formats whose documents are their source text, by the loader's ``format`` note.
_SOURCES: dict[str, _Source] = {
    "markdown": _Source((".md", ".markdown", ".mdx"), parse_markdown, clean_markdown),
    "rst": _Source((".rst", ".rest"), parse_rst, clean_rst),
    "asciidoc": _Source((".adoc", ".asciidoc"), parse_asciidoc, clean_adoc),
}


def _source_of(document: Document) -> _Source | None:
    """The markup format of a source document (by the loader's ``format`` note, or its suffix)."""
    found = _SOURCES.get(document.meta.get("format") or "")
    if found is not None:
        return found
    name = document.source.lower()
    return next((source for source in _SOURCES.values() if name.endswith(source.suffixes)), None)


def parse_structure(document: Document) -> Structure:
    """Read a document's structure: Markdown, reStructuredText and AsciiDoc by their own readers,
    PDF text by its layout, other text through line rules."""
    source = _source_of(document)
    if source is not None:
        try:
            return source.parse(document.text)
        except RecursionError:
            # Nested deeper than any real document (a generated or hostile file): one file must not
            # stop a build, so it is read by the line rules instead.
            logger.warning(
                "%s is nested too deeply for its format's reader; read as plain text", document.source
            )
            return plain_structure(document.text)
    if document.meta.get("format") == "pdf":
        spans = json.loads(document.meta.get("boilerplate_spans") or "[]")
        layout = json.loads(document.meta.get("layout") or "[]")
        return pdf_structure(
            document.text,
            [(int(s), int(e)) for s, e in spans],
            [(int(s), int(e), str(kind), int(level)) for s, e, kind, level in layout],
        )
    return plain_structure(document.text)


def _units_within(units: tuple[Unit, ...], starts: list[int], start: int, end: int) -> list[Unit]:
    lo = bisect.bisect_left(starts, start)
    hi = bisect.bisect_left(starts, end)
    return [u for u in units[lo:hi] if u.end <= end]


def _pieces(text: str, structure: Structure, max_words: int, source: bool) -> list[_Piece]:
    """Content pieces: whole blocks, or unit groups (sentences, rows) of blocks longer than `max_words`."""
    pieces: list[_Piece] = []
    starts = [u.start for u in structure.units]
    for block, path, brk in _sections(text, list(structure.blocks), source):
        body = text[block.start : block.end]
        spans = [(u.start, u.end) for u in _units_within(structure.units, starts, block.start, block.end)]
        if _words(body) <= max_words or block.kind in ("heading", "question") or not spans:
            pieces.append(_Piece(block.start, block.end, path, _words(body), brk))
            continue
        group_start, group_words = block.start, 0
        for i, (s_start, s_end) in enumerate(spans):
            n = _words(text[s_start:s_end])
            if group_words and group_words + n > max_words:
                prev_end = spans[i - 1][1]
                pieces.append(_Piece(group_start, prev_end, path, group_words, brk))
                group_start, group_words, brk = s_start, 0, False
            group_words += n
        pieces.append(_Piece(group_start, block.end, path, group_words, brk))
    return pieces


def chunk_document(
    document: Document,
    config: ChunkerConfig | None = None,
    first_id: int = 0,
    structure: Structure | None = None,
) -> list[Chunk]:
    """Chunk one document.

    Args:
        document: The document; its text is not modified.
        config: Size bounds (default 40..200 words).
        first_id: `chunk_id` of the first chunk (ids are dense across a corpus).
        structure: The document's structure when the caller has already parsed it.

    Returns:
        The chunks in document order.
    """
    config = config or ChunkerConfig()
    text = document.text
    structure = structure or parse_structure(document)
    groups: list[list[_Piece]] = []
    for piece in _pieces(text, structure, config.max_words, _source_of(document) is not None):
        current = groups[-1] if groups else None
        if current is not None and not piece.breaks_before and piece.section == current[0].section:
            size = sum(p.words for p in current)
            heading_only = len(current) == 1 and current[0].breaks_before and _is_heading_piece(current)
            if heading_only or size < config.min_words or size + piece.words <= config.max_words // 2:
                current.append(piece)
                continue
        groups.append([piece])
    return _to_chunks(document, groups, first_id, structure.views)


def _is_heading_piece(group: list[_Piece]) -> bool:
    return bool(group[0].section) and group[0].words <= 14


def span_display(
    text: str,
    views: tuple[Unit, ...],
    start: int,
    end: int,
    clean: Callable[[str], str],
    *,
    prose_only: bool = False,
) -> str:
    """Readable text of any span: the views it covers, one a line; a view it cuts is cleaned in part.

    `clean` reads a cut view's source (the document format's markup cleaner). A span that covers
    no view (a heading alone, template tags) has no readable text: "".
    With `prose_only`, code views are left out (what is embedded and indexed).
    """
    lines: list[str] = []
    for view in views:
        if view.start >= end:
            break
        if view.end <= start or (prose_only and view.code):
            continue
        inside = view.start >= start and view.end <= end
        part = view.display if inside else clean(text[max(view.start, start) : min(view.end, end)])
        if part:
            lines.append(part)
    return "\n".join(lines)


def _to_chunks(
    document: Document, groups: list[list[_Piece]], first_id: int, views: tuple[Unit, ...]
) -> list[Chunk]:
    chunks: list[Chunk] = []
    source = _source_of(document)
    clean = source.clean if source is not None else clean_plain
    for group in groups:
        start, end = group[0].start, group[-1].end
        body = document.text[start:end]
        section = SECTION_SEPARATOR.join(group[0].section)
        display = span_display(document.text, views, start, end, clean)
        if not display.strip():
            continue  # only markup (template tags, comments): nothing a reader or the model can use
        prose = span_display(document.text, views, start, end, clean, prose_only=True) or display
        embed = f"{document.title}\n{section}\n{prose}" if section else f"{document.title}\n{prose}"
        chunks.append(
            Chunk(first_id + len(chunks), document.doc_id, section, start, end, body, embed, display)
        )
    return chunks
