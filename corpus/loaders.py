"""Read one file into text: one function per format, each returning a `Loaded`.

Offsets of every citation point into the text these functions return, so they return the file's
text verbatim (.txt, .md) or the visible text of the page (.html, written as Markdown-like text by
`corpus.html_text`), never a reformatted copy.
Formats with their own parsers live beside this module (`corpus.pdf`, `corpus.office`);
`corpus.registry` maps each file suffix to its reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corpus.html_text import html_to_markdown
from corpus.notebook import NotANotebook, notebook_to_markdown
from corpus.source_titles import asciidoc_title, rst_title


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


def read_rst(path: Path) -> Loaded:
    """Read a reStructuredText file verbatim, titled by its first section title; the index parses
    its sections, lists and tables."""
    text = read_text_file(path)
    return Loaded(text, title=rst_title(text), meta={"format": "rst"})


def read_asciidoc(path: Path) -> Loaded:
    """Read an AsciiDoc file verbatim, titled by its document title (``= Title``); the index parses
    its sections, lists and tables."""
    text = read_text_file(path)
    return Loaded(text, title=asciidoc_title(text), meta={"format": "asciidoc"})


def read_notebook(path: Path) -> Loaded:
    """Read a Jupyter notebook as Markdown (`corpus.notebook`): Markdown cells as written, code
    cells fenced, outputs left out; titled by its metadata ``title``, else by its first heading."""
    try:
        text, title = notebook_to_markdown(read_text_file(path))
    except NotANotebook as exc:
        raise UnreadableFile(str(exc)) from exc
    return Loaded(text, title=title, meta={"format": "markdown"})


def read_html_file(path: Path) -> tuple[str, str | None]:
    """An HTML page as Markdown-like text (`corpus.html_text`), and its ``<title>``, if any."""
    return html_to_markdown(read_text_file(path))


def read_html(path: Path) -> Loaded:
    """Read an HTML page as Markdown-like text (headings, lists, tables with their header row),
    titled by its ``<title>``; the index reads it with its Markdown parser."""
    text, title = read_html_file(path)
    return Loaded(text, title=title or None, meta={"format": "markdown"})
