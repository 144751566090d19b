"""Read Word (.docx) and PowerPoint (.pptx) files as Markdown-like text.

Word heading styles (and paragraphs set by hand as headings: short, bold or larger than the body
text) and slide titles become ``#`` headings, paragraphs in a fixed-pitch font fenced code,
tables become GitHub-flavoured
Markdown tables whose first row is the header, so the index reads sections and table rows the
way it reads a Markdown file (``meta["format"] = "markdown"``). Blocks keep document order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docx.document import Document as WordDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.shapes.base import BaseShape
from pptx.slide import Slide
from pptx.text.text import TextFrame

from corpus.loaders import Loaded, UnreadableFile
from corpus.markdown_text import gfm_table, one_line
from corpus.typesetting import HEADING_SIZE, MAX_BOLD_HEADING_WORDS, MONO_FONT_NAME, NOT_SENTENCE_END

ENCRYPTED = "encrypted (password-protected Office file)"
CORRUPT_DOCX = "corrupt or unreadable DOCX"
CORRUPT_PPTX = "corrupt or unreadable PPTX"
NOTES_LABEL = "Notes:"

# Office files are ZIP packages; password-protected ones are OLE compound files instead.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
_LIST_ITEM = re.compile(r" *- ")
_BULLET_PLACEHOLDERS = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT}
_CODE_STYLE = re.compile(r"code|preformatted|macro text|source", re.IGNORECASE)


def _open_error(path: Path, corrupt: str) -> UnreadableFile:
    with path.open("rb") as handle:
        encrypted = handle.read(len(_OLE_MAGIC)) == _OLE_MAGIC
    return UnreadableFile(ENCRYPTED if encrypted else corrupt)


# -- Word ------------------------------------------------------------------------------------------


def _heading_level(paragraph: Paragraph) -> int:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 1
    match = _HEADING_STYLE.fullmatch(name or "")
    return min(int(match.group(1)), 6) if match else 0


def _list_depth(paragraph: Paragraph) -> int | None:
    """Nesting level of a list item (numbered or bulleted), None when not a list item."""
    numbering = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
    name = paragraph.style.name if paragraph.style is not None else ""
    if numbering is None:
        return 0 if (name or "").startswith("List") else None
    level = numbering.find(qn("w:ilvl"))
    value = level.get(qn("w:val")) if level is not None else None
    return int(value) if value and value.isdigit() else 0


@dataclass(frozen=True)
class _Look:
    """How a paragraph is set: its font size in points (None when Word leaves it to defaults),
    and whether all of its text is bold, and all of it in a fixed-pitch font."""

    size: float | None
    bold: bool
    mono: bool


def _look(paragraph: Paragraph) -> _Look:
    """A paragraph's look from its runs, each falling back to the paragraph style's font."""
    style = paragraph.style
    font = style.font if style is not None else None
    runs = [run for run in paragraph.runs if run.text.strip()]
    sizes = {(run.font.size or (font.size if font else None)) for run in runs}
    size = next(iter(sizes)).pt if len(sizes) == 1 and None not in sizes else None  # type: ignore[union-attr]
    bold = bool(runs) and all(run.bold if run.bold is not None else bool(font and font.bold) for run in runs)
    names = [run.font.name or (font.name if font else None) or "" for run in runs]
    mono = bool(runs) and all(MONO_FONT_NAME.search(name) for name in names)
    return _Look(size, bold, mono or bool(style is not None and _CODE_STYLE.search(style.name or "")))


@dataclass(frozen=True)
class _Setting:
    """What the document's body text looks like, for telling headings and code set by hand."""

    body_size: float | None
    heading_sizes: tuple[float, ...]  # sizes of hand-set headings, largest first
    deepest_style: int  # the deepest heading style level the document uses (0: none)


def word_paragraph(paragraph: Paragraph, setting: _Setting | None = None) -> str:
    """One paragraph as a Markdown block: ``#`` heading, ``-`` list item or plain text.

    Besides heading styles, a short paragraph set by hand as a heading is one (`setting`): all
    bold, or larger than the body text, and not a sentence. A paragraph set in a fixed-pitch font
    (or a code style) is code, written as a fenced block (`_join` merges consecutive ones)."""
    lines = [line.strip() for line in paragraph.text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if not text:
        return ""
    level = _heading_level(paragraph)
    if level:
        return "#" * level + " " + one_line(text)
    depth = _list_depth(paragraph)
    if depth is not None:
        return "  " * depth + "- " + one_line(text)
    if setting is None:
        return text
    look = _look(paragraph)
    if look.mono:
        return "```\n" + "\n".join(paragraph.text.splitlines()) + "\n```"
    level = _hand_heading(text, look, setting)
    return "#" * level + " " + one_line(text) if level else text


def _hand_heading(text: str, look: _Look, setting: _Setting) -> int:
    """The level of a heading set by hand (0: not one): short, not a sentence, and bold or larger
    than the body text (`corpus.typesetting`, as PDF reading does)."""
    if len(text.split()) > MAX_BOLD_HEADING_WORDS or text.rstrip()[-1:] in NOT_SENTENCE_END:
        return 0
    larger = (
        look.size is not None
        and setting.body_size is not None
        and look.size >= HEADING_SIZE * setting.body_size
    )
    if not (larger or look.bold):
        return 0
    rank = (
        setting.heading_sizes.index(look.size) + 1
        if larger and look.size in setting.heading_sizes
        else len(setting.heading_sizes) + 1
    )
    return min(setting.deepest_style + rank, 6)


def _setting(paragraphs: list[Paragraph]) -> _Setting:
    weights: Counter[float] = Counter()
    looks = []
    deepest = 0
    for paragraph in paragraphs:
        deepest = max(deepest, _heading_level(paragraph))
        look = _look(paragraph)
        looks.append((paragraph, look))
        if look.size is not None and not look.mono:
            weights[look.size] += len(paragraph.text)
    body = weights.most_common(1)[0][0] if weights else None
    sizes = sorted(
        {
            look.size
            for paragraph, look in looks
            if body is not None
            and look.size is not None
            and look.size >= HEADING_SIZE * body
            and not _heading_level(paragraph)
        },
        reverse=True,
    )
    return _Setting(body, tuple(sizes), deepest)


def word_table(table: Table) -> str:
    """A Word table as a Markdown table; a cell spanning columns is written once."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            cells.append("" if cell is previous else cell.text)
            previous = cell
        rows.append(cells)
    return gfm_table(rows) if rows else ""


def _word_blocks(container: Any, document: WordDocument) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in document order, also inside content controls (``w:sdt``)."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _word_blocks(content, document)


def _join(blocks: Iterable[str]) -> str:
    """Blocks separated by blank lines; consecutive list items stay one (tight) list, consecutive
    code paragraphs one code block."""
    parts: list[str] = []
    last_line = ""
    for block in filter(None, blocks):
        if parts and block.startswith("```\n") and parts[-1].endswith("\n```"):
            parts[-1] = parts[-1][: -len("```")] + block[len("```\n") :]
            continue
        if parts:
            parts.append("\n" if _LIST_ITEM.match(block) and _LIST_ITEM.match(last_line) else "\n\n")
        parts.append(block)
        last_line = block.rsplit("\n", 1)[-1]
    return "".join(parts)


def read_docx(path: Path) -> Loaded:
    """Read a Word document body in order: headings, paragraphs, list items and tables.

    Returns:
        Markdown-like text, the core-properties title (else the first heading), meta ``format``.

    Raises:
        UnreadableFile: Password-protected or not a readable .docx package.
    """
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises many types for a broken package
        raise _open_error(path, CORRUPT_DOCX) from exc
    body = list(_word_blocks(document.element.body, document))
    setting = _setting([block for block in body if isinstance(block, Paragraph)])
    blocks = [
        word_paragraph(block, setting) if isinstance(block, Paragraph) else word_table(block)
        for block in body
    ]
    headings = (block.lstrip("#").strip() for block in blocks if block.startswith("#"))
    title = one_line(document.core_properties.title or "") or next(headings, None)
    return Loaded(_join(blocks), title=title, meta={"format": "markdown"})


# -- PowerPoint ------------------------------------------------------------------------------------


def _is_bullet_body(shape: BaseShape) -> bool:
    return shape.is_placeholder and shape.placeholder_format.type in _BULLET_PLACEHOLDERS


def _text_frame(frame: TextFrame, bullets: bool) -> list[str]:
    """Paragraphs of a text frame; in a body placeholder with several, as nested list items."""
    paragraphs = [(p.level, one_line(p.text)) for p in frame.paragraphs]
    paragraphs = [(level, text) for level, text in paragraphs if text]
    if bullets and len(paragraphs) > 1:
        return ["\n".join("  " * level + "- " + text for level, text in paragraphs)]
    return [text for _, text in paragraphs]


def _shape_blocks(shape: BaseShape) -> list[str]:
    """Text of one shape: a group's shapes (recursively), a table, or a text frame."""
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [block for inner in shape.shapes for block in _shape_blocks(inner)]  # type: ignore[attr-defined]
    if getattr(shape, "has_table", False):
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]  # type: ignore[attr-defined]
        return [gfm_table(rows)]
    if shape.has_text_frame:
        return _text_frame(shape.text_frame, _is_bullet_body(shape))  # type: ignore[attr-defined]
    return []


def _notes(slide: Slide) -> str:
    frame = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    lines = [one_line(p.text) for p in frame.paragraphs] if frame is not None else []
    text = "\n".join(line for line in lines if line)
    return f"{NOTES_LABEL} {text}" if text else ""


def slide_title(slide: Slide) -> str:
    """The text of the slide's title placeholder, on one line ("" when it has none)."""
    title = slide.shapes.title
    return one_line(title.text_frame.text) if title is not None and title.has_text_frame else ""


def slide_text(slide: Slide, number: int) -> str:
    """One slide: ``# <title>`` (``# Slide N`` when untitled), its shapes in order, then notes."""
    title = slide.shapes.title
    title_id = title.shape_id if title is not None else None
    blocks = [f"# {slide_title(slide) or f'Slide {number}'}"]
    for shape in slide.shapes:
        if shape.shape_id != title_id:
            blocks.extend(_shape_blocks(shape))
    blocks.append(_notes(slide))
    return _join(blocks)


def read_pptx(path: Path) -> Loaded:
    """Read a slide deck: each slide's title, text frames, tables, groups and speaker notes.

    Returns:
        Markdown-like text (slides separated by blank lines), slide starts, the core-properties
        title (else the first slide's title) and meta ``format``.

    Raises:
        UnreadableFile: Password-protected or not a readable .pptx package.
    """
    try:
        presentation = Presentation(str(path))
    except Exception as exc:  # python-pptx raises many types for a broken package
        raise _open_error(path, CORRUPT_PPTX) from exc
    texts = [slide_text(slide, number) for number, slide in enumerate(presentation.slides, 1)]
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 2
    titles = (slide_title(slide) for slide in presentation.slides)
    title = one_line(presentation.core_properties.title or "") or next((t for t in titles if t), None)
    return Loaded("\n\n".join(texts), title=title, slides=tuple(starts), meta={"format": "markdown"})
