"""Read a PDF's text layer with PDFium, page by page.

A page's text is its printed lines in reading order: top to bottom on a page of one column (PDFium
gives them in drawing order, in which a browser-printed code box comes after the paragraph under
it), in PDFium's order on a page set in columns. This text is the document's: citations point into
it. Pages are joined with a form feed and their start offsets kept, so a citation can name its page.
Running headers, footers and page numbers stay in the text (offsets are into the verbatim text)
but their spans are recorded in ``meta["boilerplate_spans"]`` for the index to leave out.
Where the text lies on the page, in which font size, weight and pitch, is read as well and turned
into blocks (headings with levels, paragraphs, list items, code, table lines; `corpus.pdf_layout`),
recorded in ``meta["layout"]`` for the index to split into sentences and sections.
Call `read_pdf` through `corpus.isolation.run_isolated`: PDFium is C++ and a hostile file may
crash or hang it.
"""

from __future__ import annotations

import ctypes
import json
import re
import statistics
from pathlib import Path
from typing import NamedTuple

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from corpus.boilerplate import boilerplate_spans
from corpus.loaders import Loaded, UnreadableFile
from corpus.pdf_layout import Line, layout_blocks
from corpus.typesetting import BOLD_WEIGHT, MONO_FONT_NAME

PAGE_SEPARATOR = "\f"
ENCRYPTED = "encrypted"
NO_TEXT_LAYER = "no text layer (scanned? OCR is not supported)"
CORRUPT = "corrupt or unreadable PDF"

# Control characters PDFium may emit (NUL, the 0x02 hyphen marker, stray form feeds); tabs and
# newlines stay, form feeds are reserved for page breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")
# PDFium writes a hyphen it found at the end of a printed line, where it joins the word's two
# halves, as U+FFFE (older versions: 0x02): "high\ufffe" + "risk". Mostly a real hyphen
# ("high-risk", "two-factor"); written as one, and the index also matches the joined form.
_LINE_END_HYPHEN = str.maketrans({"\ufffe": "-", "\x02": "-"})
_PASSWORD_ERRORS = (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise UnreadableFile(ENCRYPTED if exc.err_code in _PASSWORD_ERRORS else CORRUPT) from exc


def clean_page_text(raw: str) -> str:
    """Normalise one page's text: ``\\n`` line ends, no control characters, no outer blank lines."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").translate(_LINE_END_HYPHEN)
    return _CONTROL.sub("", text).strip()


_LINE_BREAK = re.compile(r"\r\n|[\r\n\f]")
_FIXED_PITCH = 1  # PDF font descriptor flag


class _Geometry(NamedTuple):
    """Where and how a line is printed (PDF points, y up the page): `x0`, `top`, `bottom` of its
    first printed line, `x1` and `last_bottom` of its last (PDFium joins a word hyphenated at a
    line end into one line), its font `size`, the shares of its characters in a fixed-pitch font
    (`mono`) and in bold (`bold`), and its widest blank in font sizes (`gap`)."""

    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    mono: float
    bold: float
    gap: float
    last_bottom: float


class _Fonts:
    """Font facts of a text page's characters (one pair of buffers for every PDFium call)."""

    def __init__(self, textpage: pdfium.PdfTextPage) -> None:
        self.raw = textpage.raw
        self.flags = ctypes.c_int()
        self.name = ctypes.create_string_buffer(128)

    def facts(self, index: int) -> tuple[float, bool, bool]:
        """(size, fixed pitch, bold) of one character."""
        size = float(pdfium_c.FPDFText_GetFontSize(self.raw, index))
        pdfium_c.FPDFText_GetFontInfo(self.raw, index, self.name, len(self.name), ctypes.byref(self.flags))
        name = self.name.value.decode("latin-1")
        mono = bool(self.flags.value & _FIXED_PITCH) or bool(MONO_FONT_NAME.search(name))
        weight = int(pdfium_c.FPDFText_GetFontWeight(self.raw, index))
        bold = weight >= BOLD_WEIGHT or "bold" in name.lower()
        return size, mono, bold


def _line_geometry(
    textpage: pdfium.PdfTextPage, fonts: _Fonts, raw: str, index: list[int], lo: int, hi: int
) -> _Geometry | None:
    """(x0, x1, top, bottom, size, mono share, bold share, widest gap, last bottom) of the
    characters raw[lo:hi] (`index`: each character's PDFium index); x0, top and bottom are its
    first printed line's, x1, the gap and the last bottom its last printed line's."""
    boxes, sizes, mono, bold = [], [], 0, 0
    for i in range(lo, hi):
        if raw[i].isspace() or _CONTROL.match(raw[i]):
            continue
        boxes.append(textpage.get_charbox(index[i]))
        size, is_mono, is_bold = fonts.facts(index[i])
        sizes.append(size)
        mono += is_mono
        bold += is_bold
    if not boxes:
        return None
    n = len(boxes)
    size = statistics.median(sizes)
    # Where a character sits lower than the one before by most of a line, a new printed line begins
    # (PDFium joins a word hyphenated at a line end into one line of text).
    breaks = [i for i in range(1, n) if boxes[i - 1][1] - boxes[i][1] > 0.8 * size]
    first = boxes[: breaks[0]] if breaks else boxes
    last = boxes[breaks[-1] :] if breaks else boxes
    # The widest blank between two characters, in font sizes: a table's column gap is wider than
    # any space between words.
    gap = max((b[0] - a[2] for a, b in zip(last, last[1:], strict=False)), default=0.0)
    return _Geometry(
        x0=min(b[0] for b in first),
        x1=max(b[2] for b in last),
        top=max(b[3] for b in first),
        bottom=statistics.median(b[1] for b in first),
        size=size,
        mono=mono / n,
        bold=bold / n,
        gap=gap / size if size > 0 else 0.0,
        last_bottom=statistics.median(b[1] for b in last),
    )


def _page_text(
    document: pdfium.PdfDocument, index: int
) -> tuple[str, list[tuple[int, int, _Geometry]]] | None:
    """The page's text and its lines' (start, end, geometry), or None when PDFium cannot read it.

    The text is the page's non-blank lines in reading order (`_reading_order`), each with the
    geometry of the characters it was read from. When the characters cannot be matched to the text
    (PDFium counts them in UTF-16 units; a mismatch means something else), the text is
    `clean_page_text` of PDFium's text, without geometry."""
    try:
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                raw = str(textpage.get_text_range())
                lines = _lines_of(textpage, raw)
                if lines is None:
                    return clean_page_text(raw), []
                return _joined(lines)
            finally:
                textpage.close()
        finally:
            page.close()
    except pdfium.PdfiumError:
        return None


def _lines_of(textpage: pdfium.PdfTextPage, raw: str) -> list[tuple[str, _Geometry]] | None:
    """Each non-blank line of PDFium's page text (cleaned, right-trimmed) with its geometry, in
    PDFium's order; None when its characters do not match the text."""
    index, at = [], 0
    for ch in raw:
        index.append(at)
        at += 2 if ord(ch) > 0xFFFF else 1  # a character beyond U+FFFF takes two indexes
    if at != textpage.count_chars():
        return None
    fonts = _Fonts(textpage)
    out, lo = [], 0
    for brk in [*_LINE_BREAK.finditer(raw), None]:
        hi = brk.start() if brk is not None else len(raw)
        line = _CONTROL.sub("", raw[lo:hi].translate(_LINE_END_HYPHEN)).rstrip()
        geometry = _line_geometry(textpage, fonts, raw, index, lo, hi) if line.strip() else None
        if geometry is not None:
            out.append((line, geometry))
        lo = brk.end() if brk is not None else hi
    return out


def _reading_order(lines: list[tuple[str, _Geometry]]) -> list[tuple[str, _Geometry]]:
    """Lines top to bottom, left to right within a printed line, on a page of one column.

    PDFium gives lines in the order the page draws them, and a browser's print draws a boxed code
    block after the paragraph below it. On a page with columns (lines side by side, each of some
    width) the drawing order is kept: it is usually column by column."""
    if _has_columns(lines):
        return lines
    by_height = sorted(lines, key=lambda ln: -ln[1].bottom)
    rows: list[list[tuple[str, _Geometry]]] = []
    for line in by_height:
        size = line[1].size or 1.0
        if rows and abs(rows[-1][0][1].bottom - line[1].bottom) < 0.5 * size:
            rows[-1].append(line)  # the same printed line (a superscript, a change of font)
        else:
            rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln[1].x0)]


def _has_columns(lines: list[tuple[str, _Geometry]]) -> bool:
    """Whether some wide lines stand side by side (a page set in columns)."""
    if not lines:
        return False
    page_width = max(g.x1 for _, g in lines) - min(g.x0 for _, g in lines)
    wide = [g for _, g in lines if g.x1 - g.x0 > 0.25 * page_width]
    side_by_side = sum(
        1
        for i, a in enumerate(wide)
        for b in wide[i + 1 :]
        if (a.x1 <= b.x0 or b.x1 <= a.x0) and min(a.top, b.top) > max(a.bottom, b.bottom)
    )
    return side_by_side >= 3


def _joined(lines: list[tuple[str, _Geometry]]) -> tuple[str, list[tuple[int, int, _Geometry]]]:
    """The page text of `lines` in reading order, and each line's span in it."""
    parts, spans, pos = [], [], 0
    for line, geometry in _reading_order(lines):
        start = pos + len(line) - len(line.lstrip())
        spans.append((start, pos + len(line), geometry))
        parts.append(line)
        pos += len(line) + 1
    text = "\n".join(parts)
    lead = len(text) - len(text.lstrip())
    if lead:  # the page text never begins with blanks (offsets shift with them)
        text = text[lead:]
        spans = [(s - lead, e - lead, g) for s, e, g in spans]
    return text, spans


def join_pages(texts: list[str]) -> tuple[str, tuple[int, ...]]:
    """Join page texts with form feeds; return the text and each page's start offset."""
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(texts), tuple(starts)


def _metadata_title(document: pdfium.PdfDocument) -> str | None:
    try:
        title = " ".join(str(document.get_metadata_value("Title")).split())
    except pdfium.PdfiumError:
        return None
    return title if title and title.casefold() not in {"untitled", "untitled document"} else None


def _first_line(text: str, skip: list[tuple[int, int]]) -> str | None:
    """The first non-blank line that is not a running header, trimmed for a title."""
    skipped = {start for start, _ in skip}
    for match in re.finditer(r"[^\n\f]+", text):
        start = match.start() + len(match.group()) - len(match.group().lstrip())
        line = " ".join(match.group().split())
        if line and start not in skipped:
            return line if len(line) <= 120 else line[:117].rstrip() + "…"
    return None


def read_pdf(path: Path) -> Loaded:
    """Read a PDF's text layer.

    Returns:
        The pages' text joined by form feeds, page starts, the metadata title (else the first
        line), and meta ``format``, ``page_count``, ``boilerplate_spans`` (JSON ``[[start, end], …]``),
        ``layout`` (JSON ``[[start, end, kind, level], …]``, `corpus.pdf_layout`; absent when a page's
        characters could not be matched to its text) and, when some pages have no text,
        ``pages_without_text`` (JSON list of 1-based numbers).

    Raises:
        UnreadableFile: Encrypted, without any text layer, or not a readable PDF.
    """
    document = _open(path)
    try:
        title = _metadata_title(document)
        read = [_page_text(document, index) for index in range(len(document))]
    finally:
        document.close()
    texts = [page[0] if page else "" for page in read]
    if not any(texts):
        raise UnreadableFile(CORRUPT if all(page is None for page in read) else NO_TEXT_LAYER)
    text, pages = join_pages(texts)
    spans = boilerplate_spans(text, pages)
    meta = {
        "format": "pdf",
        "page_count": str(len(pages)),
        "boilerplate_spans": json.dumps([list(span) for span in spans]),
    }
    lines = _document_lines(text, pages, [page[1] if page else [] for page in read], spans)
    if lines:
        meta["layout"] = json.dumps([[b.start, b.end, b.kind, b.level] for b in layout_blocks(lines)])
    if not all(texts):
        meta["pages_without_text"] = json.dumps([n for n, page in enumerate(texts, 1) if not page])
    return Loaded(text, title=title or _first_line(text, spans), pages=pages, meta=meta)


def _document_lines(
    text: str,
    pages: tuple[int, ...],
    per_page: list[list[tuple[int, int, _Geometry]]],
    boilerplate: list[tuple[int, int]],
) -> list[Line]:
    """Every page's lines in document offsets, running headers and footers left out; empty when a
    page with text has no geometry (the index then reads the text by its lines alone)."""
    out: list[Line] = []
    for number, (offset, lines) in enumerate(zip(pages, per_page, strict=True)):
        page_end = pages[number + 1] - 1 if number + 1 < len(pages) else len(text)
        if not lines and text[offset:page_end].strip():
            return []
        for start, end, g in lines:
            s, e = start + offset, end + offset
            if any(a <= s and e <= b for a, b in boilerplate):
                continue
            out.append(
                Line(
                    s,
                    e,
                    number,
                    g.x0,
                    g.x1,
                    g.top,
                    g.bottom,
                    g.last_bottom,
                    g.size,
                    g.mono,
                    g.bold,
                    g.gap,
                    text[s:e],
                )
            )
    return out
