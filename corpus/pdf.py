"""Read a PDF's text layer with PDFium, page by page.

Pages are joined with a form feed and their start offsets kept, so a citation can name its page.
Running headers, footers and page numbers stay in the text (offsets are into the verbatim text)
but their spans are recorded in ``meta["boilerplate_spans"]`` for the index to leave out.
Call `read_pdf` through `corpus.isolation.run_isolated`: PDFium is C++ and a hostile file may
crash or hang it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from corpus.boilerplate import boilerplate_spans
from corpus.loaders import Loaded, UnreadableFile

PAGE_SEPARATOR = "\f"
ENCRYPTED = "encrypted"
NO_TEXT_LAYER = "no text layer (scanned? OCR is not supported)"
CORRUPT = "corrupt or unreadable PDF"

# Control characters PDFium may emit (NUL, the 0x02 hyphen marker, stray form feeds); tabs and
# newlines stay, form feeds are reserved for page breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")
_PASSWORD_ERRORS = (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise UnreadableFile(ENCRYPTED if exc.err_code in _PASSWORD_ERRORS else CORRUPT) from exc


def clean_page_text(raw: str) -> str:
    """Normalise one page's text: ``\\n`` line ends, no control characters, no outer blank lines."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    return _CONTROL.sub("", text).strip()


def _page_text(document: pdfium.PdfDocument, index: int) -> str | None:
    """The page's text, or None when PDFium cannot read that page."""
    try:
        page = document[index]
        try:
            textpage = page.get_textpage()
            try:
                return clean_page_text(str(textpage.get_text_bounded()))
            finally:
                textpage.close()
        finally:
            page.close()
    except pdfium.PdfiumError:
        return None


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
        line), and meta ``format``, ``page_count``, ``boilerplate_spans`` (JSON ``[[start, end], …]``)
        and, when some pages have no text, ``pages_without_text`` (JSON list of 1-based numbers).

    Raises:
        UnreadableFile: Encrypted, without any text layer, or not a readable PDF.
    """
    document = _open(path)
    try:
        title = _metadata_title(document)
        read = [_page_text(document, index) for index in range(len(document))]
    finally:
        document.close()
    texts = [text or "" for text in read]
    if not any(texts):
        raise UnreadableFile(CORRUPT if all(page is None for page in read) else NO_TEXT_LAYER)
    text, pages = join_pages(texts)
    spans = boilerplate_spans(text, pages)
    meta = {
        "format": "pdf",
        "page_count": str(len(pages)),
        "boilerplate_spans": json.dumps([list(span) for span in spans]),
    }
    if not all(texts):
        meta["pages_without_text"] = json.dumps([n for n, page in enumerate(texts, 1) if not page])
    return Loaded(text, title=title or _first_line(text, spans), pages=pages, meta=meta)
