"""Read one file into text: one function per format, each returning a `Loaded`.

Offsets of every citation point into the text these functions return, so they return the file's
text verbatim (.txt, .md) or the visible text of the page (.html), never a reformatted copy.
Formats with their own parsers live beside this module (`corpus.pdf`, `corpus.office`);
`corpus.registry` maps each file suffix to its reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

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


@dataclass(frozen=True)
class Loaded:
    """What a reader found in one file, before ingestion gives it an id.

    Attributes:
        text: The text that citations point into.
        title: A title found in the file (HTML ``<title>``, PDF or Office metadata), if any.
        pages: Start offset of each page in `text` (paged formats); pages are joined by a form feed.
        slides: Start offset of each slide in `text` (slide decks).
        meta: Extra string fields for `Document.meta` (``format``, ``boilerplate_spans``, …).
    """

    text: str
    title: str | None = None
    pages: tuple[int, ...] = ()
    slides: tuple[int, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)


class UnreadableFile(Exception):
    """A file that cannot be read into a document; `reason` says why, in a few words for a report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_text_file(path: Path) -> str:
    """Return a .txt or .md file's text, decoded as UTF-8 (invalid bytes replaced).

    Line endings are normalised to ``\\n`` so that offsets do not depend on the platform that
    wrote the file.
    """
    raw = path.read_bytes().decode("utf-8", errors="replace")
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def read_plain(path: Path) -> Loaded:
    """Read a plain-text file verbatim."""
    return Loaded(read_text_file(path), meta={"format": "text"})


def read_markdown(path: Path) -> Loaded:
    """Read a Markdown file verbatim; the index parses its headings, lists and tables."""
    return Loaded(read_text_file(path), meta={"format": "markdown"})


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


def read_html(path: Path) -> Loaded:
    """Read an HTML page as its visible text, titled by its ``<title>``."""
    text, title = read_html_file(path)
    return Loaded(text, title=title or None, meta={"format": "html"})
