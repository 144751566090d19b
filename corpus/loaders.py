"""Read one file into text: one function per format.

Offsets of every citation point into the text these functions return, so they return the file's
text verbatim (.txt, .md) or the visible text of the page (.html), never a reformatted copy.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")

_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "main",
    "aside",
    "nav",
    "dt",
    "dd",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head"}


def read_text_file(path: Path) -> str:
    """Return a .txt or .md file's text, decoded as UTF-8 (invalid bytes replaced).

    Line endings are normalised to ``\\n`` so that offsets do not depend on the platform that
    wrote the file.
    """
    raw = path.read_bytes().decode("utf-8", errors="replace")
    return raw.replace("\r\n", "\n").replace("\r", "\n")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        if tag == "title":
            self._in_title = True
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag.startswith("h") or tag == "p" else "\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip_depth:
            self._skip_depth -= 1
        if tag == "title":
            self._in_title = False
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag.startswith("h") or tag == "p" else "\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data.strip()
            return
        if not self._skip_depth:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def read_html_file(path: Path) -> tuple[str, str | None]:
    """Strip an HTML page to its visible text, one block element a paragraph.

    Returns:
        The text (paragraphs separated by blank lines) and the page's ``<title>``, if any.
    """
    parser = _TextExtractor()
    parser.feed(read_text_file(path))
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, parser.title


def read_document_text(path: Path) -> tuple[str, str | None]:
    """Read any supported file.

    Returns:
        The document text and a title found in the file's markup (HTML ``<title>``), if any.

    Raises:
        ValueError: The suffix is not one of `SUPPORTED_SUFFIXES`.
    """
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return read_html_file(path)
    if suffix in SUPPORTED_SUFFIXES:
        return read_text_file(path), None
    raise ValueError(f"unsupported file type {suffix!r} for {path}; use one of {SUPPORTED_SUFFIXES}")
