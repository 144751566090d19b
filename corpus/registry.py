"""The one table of file formats docqa reads: suffix → reader. Add a format here.

Readers of binary formats (PDF, Word, PowerPoint) run in a child process with a time limit
(`corpus.isolation`), so a hostile or broken file is reported and skipped, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corpus.isolation import PARSE_TIMEOUT, Reader, run_isolated
from corpus.loaders import (
    Loaded,
    UnreadableFile,
    read_asciidoc,
    read_html,
    read_markdown,
    read_notebook,
    read_plain,
    read_rst,
)


# The binary formats' parsers (pypdfium2, python-docx, python-pptx: 0.2 s of imports) load on the
# first file of their kind, so that loading an index or answering a question never imports them.
def read_pdf(path: Path) -> Loaded:
    """`corpus.pdf.read_pdf`, imported on first use."""
    from corpus.pdf import read_pdf as read

    return read(path)


def read_docx(path: Path) -> Loaded:
    """`corpus.office.read_docx`, imported on first use."""
    from corpus.office import read_docx as read

    return read(path)


def read_pptx(path: Path) -> Loaded:
    """`corpus.office.read_pptx`, imported on first use."""
    from corpus.office import read_pptx as read

    return read(path)


@dataclass(frozen=True)
class Format:
    """One readable format.

    Attributes:
        name: Short name for messages (``pdf``).
        suffixes: Lower-case file suffixes with the dot (``.pdf``).
        read: Module-level function from a path to its `Loaded` text.
        isolated: Read in a child process with a time limit (parsers of untrusted binary files).
    """

    name: str
    suffixes: tuple[str, ...]
    read: Reader
    isolated: bool = False


FORMATS: tuple[Format, ...] = (
    Format("text", (".txt",), read_plain),
    Format("markdown", (".md", ".markdown", ".mdx"), read_markdown),
    Format("rst", (".rst", ".rest"), read_rst),
    Format("asciidoc", (".adoc", ".asciidoc"), read_asciidoc),
    Format("html", (".html", ".htm"), read_html),
    Format("notebook", (".ipynb",), read_notebook),
    Format("pdf", (".pdf",), read_pdf, isolated=True),
    Format("docx", (".docx",), read_docx, isolated=True),
    Format("pptx", (".pptx",), read_pptx, isolated=True),
)

_BY_SUFFIX = {suffix: fmt for fmt in FORMATS for suffix in fmt.suffixes}
# A page kept as a template of a site generator (Middleman's ``logging.html.md.erb``, Jinja's
# ``page.md.j2``): read as the format its name carries under the template's suffix; the reader
# leaves the template's tags out of what it shows.
TEMPLATE_SUFFIXES: tuple[str, ...] = (".erb", ".j2", ".jinja", ".jinja2", ".njk", ".liquid", ".tmpl")
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_BY_SUFFIX)


def supported_list() -> str:
    """The supported suffixes for a message: ``.txt, .md, …, .pptx``."""
    return ", ".join(SUPPORTED_SUFFIXES)


def format_for(path: Path) -> Format | None:
    """The format that reads `path` (by its suffix, any case), or None.

    A text file named for another text format (``advanced.rst.txt``, ``notes.md.txt``: how Sphinx
    and download buttons keep sources) is read as that format; a Markdown or text page kept as a
    template (`TEMPLATE_SUFFIXES`: ``logging.html.md.erb``) as Markdown or text."""
    suffix = path.suffix.lower()
    inner = _BY_SUFFIX.get(Path(path.stem).suffix.lower())  # the format the name carries underneath
    if suffix in TEMPLATE_SUFFIXES:
        return inner if inner is not None and inner.name in ("markdown", "text") else None
    fmt = _BY_SUFFIX.get(suffix)
    if fmt is not None and fmt.name == "text" and inner is not None and not inner.isolated:
        return inner
    return fmt


def load_file(path: Path, *, timeout: float = PARSE_TIMEOUT) -> Loaded:
    """Read one file with the reader its suffix selects.

    Args:
        path: The file.
        timeout: Seconds an isolated reader may take before its child process is killed.

    Returns:
        The file's text, title, page or slide starts and meta.

    Raises:
        UnreadableFile: Unsupported suffix, or the reader failed, crashed or timed out; the
            exception's ``reason`` says which.
    """
    fmt = format_for(path)
    if fmt is None:
        raise UnreadableFile(f"unsupported suffix {path.suffix or '(none)'}")
    if fmt.isolated:
        return run_isolated(fmt.read, path, timeout)
    try:
        return fmt.read(path)
    except (OSError, ValueError, RecursionError) as exc:
        raise UnreadableFile(f"cannot read the file ({exc})") from exc


_SOURCE_COPIES = "_sources"


def rendered_page(relative: str) -> str | None:
    """The HTML page a documentation build made from this source copy (relative path), or None.

    A Sphinx build keeps every page's source beside its HTML as ``_sources/<page>.<ext>.txt``
    (``_sources/user/install.rst.txt`` for ``user/install.html``): when the corpus holds both,
    the page is read and the copy skipped, or every passage would be there twice, once as markup.
    """
    parts = PurePosixPath(relative).parts
    if _SOURCE_COPIES not in parts[:-1] or not relative.endswith(".txt"):
        return None
    at = parts.index(_SOURCE_COPIES)
    name = PurePosixPath(*parts[at + 1 :]).with_suffix("").with_suffix(".html")
    return PurePosixPath(*parts[:at], name).as_posix()


# What marks the root of a Sphinx HTML build: its search index, written beside index.html.
_SPHINX_SEARCH_INDEX = "searchindex.js"
# Pages a Sphinx build generates from the others: the general and module indexes, the search page,
# and the highlighted source of every module (the ``viewcode`` extension, under ``_modules/``).
_SPHINX_GENERATED = re.compile(r"(?:genindex(?:-\w+)?|search|[\w-]*modindex)\.html")
_SPHINX_SOURCES = "_modules"


# The "page not found" page a static site generator writes beside the site's index.html.
_ERROR_PAGE = "404.html"


def generated_page(relative: str, present: set[str]) -> str | None:
    """Why a page of a built site is left out, or None: a Sphinx build generates it from the
    others (an index of every name, the search page, the highlighted source of the modules), so
    its words are the pages' words again, as link lists or code (a folder is taken for a Sphinx
    build when it holds Sphinx's ``searchindex.js``); or it is the site's ``404.html`` beside its
    ``index.html`` (MkDocs, Docusaurus, Hugo and Jekyll write one), which says only "page not
    found"."""
    path = PurePosixPath(relative)
    if path.name == _ERROR_PAGE and path.with_name("index.html").as_posix() in present:
        return "a site's page-not-found page"
    for depth in range(len(path.parts) - 1, -1, -1):
        root = PurePosixPath(*path.parts[:depth])
        if (root / _SPHINX_SEARCH_INDEX).as_posix() not in present:
            continue
        inside = path.parts[depth:]
        if len(inside) == 1 and _SPHINX_GENERATED.fullmatch(inside[0]):
            return "generated by Sphinx (an index or search page)"
        if inside[0] == _SPHINX_SOURCES and relative.endswith(".html"):
            return "generated by Sphinx (highlighted source code of a module)"
        return None
    return None
