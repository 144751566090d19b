"""Read an HTML page as Markdown-like text: headings, paragraphs, lists, tables and code kept apart.

The page's visible text is written out as the Markdown the index's parser reads (as the Word and
PowerPoint readers do): ``<h1>``-``<h6>`` become ``#`` headings, list items ``-`` / ``1.`` items
(nested by depth), tables GitHub-flavoured Markdown tables whose header row names every cell
(so a row is answered with its column names), ``<pre>`` a fenced code block, a definition term a
bold line (a minor heading over its definition). Scripts, styles, the site's navigation, the
``¶`` / ``#`` permalinks that documentation generators put after headings and the reference marks
of footnotes ("hash tables¹") are left out, and a page
that marks its main content (``<main>``, ``role="main"``) is read from there only; text that
Markdown would take for a tag is written as entities. Offsets of citations point into this text,
which the viewer shows.

Built on the standard library's `html.parser`, which tolerates the unclosed tags of real pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from corpus.markdown_text import gfm_table, one_line

# Never read: code and styles, and the site's navigation (menus, sidebars), which repeats on every
# page and answers nothing.
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "button", "nav"})
# Tags that end the paragraph being written (the text before and after are separate blocks).
_BREAKING = frozenset(
    "p div section article header footer main aside nav blockquote dd dl figure figcaption form "
    "details summary center address hr".split()
)
# Class names documentation generators and site themes give their menus and breadcrumbs.
_NAVIGATION_CLASSES = frozenset(
    {"nav", "navbar", "nav-panel", "navigation", "sidebar", "breadcrumb", "breadcrumbs", "toc"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TABLE_TAGS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th"})
# A link whose whole text is one of these and that points inside the page is a permalink marker.
_PERMALINK_TEXT = frozenset({"", "¶", "§", "#", "🔗"})
# Page text that Markdown would read as a tag ("vector<int>", an escaped "<script>") or an entity
# ("&amp;") is written as the entity that shows it as it was.
_LITERAL = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?\w+;)")
_ESCAPES = {"<": "&lt;", "&": "&amp;"}
# Inline code, written as a Markdown code span.
_INLINE_CODE = frozenset({"code", "tt", "kbd", "samp"})


@dataclass
class _Open:
    """An element being tracked (left out, or the main content) and how deep its tag nests in it."""

    tag: str
    depth: int = 1


@dataclass
class _Table:
    rows: list[list[str]] = field(default_factory=list)
    cell: list[str] | None = None
    header_rows: int = 0  # rows made only of <th> cells, or inside <thead>
    in_head: bool = False
    row_all_th: bool = True


class _MarkdownWriter(HTMLParser):
    def __init__(self, *, only_main: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title: str | None = None
        self._inline: list[str] = []
        self._prefix = ""  # "# " for a heading, "  - " for a list item, "**" for a term
        self._suffix = ""
        self._skipped: list[_Open] = []  # the elements left out, innermost last
        self._main: list[_Open] = []  # the page's main content element
        self._only_main = only_main  # the page marks its main content: nothing outside it is read
        self._in_title = False
        self._lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>
        self._items: list[int] = []  # per open list item: the column its text starts at
        self._continuation = ""  # the prefix of an item's later paragraphs (its text's indent)
        self._tables: list[_Table] = []
        self._pre: list[str] | None = None
        self._links: list[tuple[bool, int]] = []  # (points inside the page, where its text starts)
        self._code: tuple[list[str], int] | None = None  # inline code: its list, where it starts
        self._code_depth = 0

    # -- blocks ----------------------------------------------------------------------------------
    def _flush(self) -> None:
        """End the block being written. A prefix not yet used (an item's marker before its first
        paragraph) waits for the next text."""
        text = one_line("".join(self._inline))
        self._inline = []
        if text:
            self.blocks.append(f"{self._prefix}{text}{self._suffix}")
            self._prefix, self._suffix = self._continuation, ""

    def _start(self, prefix: str = "", suffix: str = "") -> None:
        self._flush()
        self._prefix, self._suffix = prefix, suffix

    @property
    def _skip(self) -> bool:
        """Inside an element left out, or outside the main content of a page that marks it."""
        return bool(self._skipped) or (self._only_main and not self._main)

    @staticmethod
    def _enter(stack: list[_Open], tag: str, starts: bool) -> None:
        """Count `tag` into `stack`: a new element when `starts`, else a nested one of its tag."""
        if stack and stack[-1].tag == tag:
            stack[-1].depth += 1
        elif starts:
            stack.append(_Open(tag))

    @staticmethod
    def _leave(stack: list[_Open], tag: str) -> bool:
        """Count `tag` out of `stack`; True when that closes the element the stack tracks."""
        if not stack or stack[-1].tag != tag:
            return False
        stack[-1].depth -= 1
        if stack[-1].depth == 0:
            stack.pop()
            return True
        return False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: C901
        attributes = dict(attrs)
        if tag == "title":
            self._in_title = True
        if tag == "body":  # </head> may be left out
            self._skipped = [entry for entry in self._skipped if entry.tag != "head"]
        self._enter(self._main, tag, _is_main(tag, attributes) and not self._skipped)
        left_out = tag in _SKIP_TAGS or _is_navigation(attributes) or _is_note_reference(tag, attributes)
        self._enter(self._skipped, tag, left_out)
        if self._skip or self._in_title or self._pre is not None:
            return
        if tag in _INLINE_CODE:
            self._code_depth += 1
            if self._code_depth == 1:
                current = self._current()
                self._code = (current, len(current))
        elif tag == "a":
            href = attributes.get("href") or ""
            self._links.append((href.startswith("#"), len(self._current())))
        elif tag in _TABLE_TAGS:
            self._table_start(tag)
        elif self._tables and self._tables[-1].cell is not None:
            if tag == "br" or tag in _BREAKING or tag in ("li", "ul", "ol"):
                self._tables[-1].cell.append(" ")
        else:
            self._block_start(tag)

    def _block_start(self, tag: str) -> None:
        if tag in _HEADINGS:
            self._start("#" * _HEADINGS[tag] + " ")
        elif tag in ("ul", "ol"):
            self._flush()
            self._lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            numbering = self._lists[-1] if self._lists else []
            marker = f"{numbering[0]}. " if numbering else "- "
            if numbering:
                numbering[0] += 1
            indent = self._items[-1] if self._items else 0
            self._continuation = ""
            self._start(" " * indent + marker)
            self._items.append(indent + len(marker))
            self._continuation = " " * self._items[-1]
        elif tag == "dt":
            self._start("**", "**")
        elif tag == "pre":
            self._flush()
            self._pre = []
        elif tag == "br":
            self._inline.append(" ")
        elif tag in _BREAKING:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        was_skipped = self._skip
        self._leave(self._skipped, tag)
        if self._leave(self._main, tag) and not self._skipped:
            self._flush()
        if was_skipped:
            return
        if tag == "pre" and self._pre is not None:
            self._end_code()
        elif self._pre is not None:
            return
        elif tag in _INLINE_CODE and self._code_depth:
            self._code_depth -= 1
            if self._code_depth == 0:
                self._end_inline_code()
        elif tag == "a" and self._links:
            inside, start = self._links.pop()
            current = self._current()
            if inside and "".join(current[start:]).strip().lower() in _PERMALINK_TEXT:
                del current[start:]  # a permalink marker ("¶" after a heading)
        elif tag in _TABLE_TAGS:
            self._table_end(tag)
        else:
            self._block_end(tag)

    def _block_end(self, tag: str) -> None:
        if tag == "li":
            self._flush()
            if self._items:
                self._items.pop()
            self._continuation = " " * self._items[-1] if self._items else ""
            self._prefix = self._continuation
        elif tag in _HEADINGS or tag == "dt":
            self._flush()
            self._prefix, self._suffix = self._continuation, ""
        elif tag in _BREAKING:
            self._flush()
        elif tag in ("ul", "ol") and self._lists:
            self._flush()
            self._lists.pop()

    def _end_code(self) -> None:
        code = "".join(self._pre or []).strip("\n")
        self._pre = None
        if code.strip():
            fence = "~~~~" if "```" in code else "```"
            self.blocks.append(f"{fence}\n{code}\n{fence}")

    def _end_inline_code(self) -> None:
        """Write the inline code just closed as a Markdown code span (literal text: the reader
        shows ``<job-name>`` or ``{.items[0]}`` in it as typed)."""
        if self._code is None:
            return
        into, start = self._code
        self._code = None
        code = one_line("".join(into[start:]))
        del into[start:]
        if code:
            runs = [len(run) for run in re.findall(r"`+", code)]
            fence = "`" * (max(runs, default=0) + 1)
            pad = " " if code.startswith("`") or code.endswith("`") else ""
            into.append(f"{fence}{pad}{code}{pad}{fence}")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = one_line(f"{self.title or ''} {data}")
        elif self._skip:
            return
        elif self._pre is not None:
            self._pre.append(data)  # a fenced block: Markdown reads it verbatim
        elif self._code is not None:
            self._code[0].append(data)  # a code span: read verbatim too
        else:
            self._current().append(_LITERAL.sub(lambda m: _ESCAPES[m.group()[0]], data))

    def _current(self) -> list[str]:
        """Where inline text goes: the open table cell, else the block being written."""
        table = self._tables[-1] if self._tables else None
        if table is not None and table.cell is not None:
            return table.cell
        return self._inline

    # -- tables ----------------------------------------------------------------------------------
    def _table_start(self, tag: str) -> None:
        if tag == "table":  # a new table, or one inside a cell (its text joins the cell)
            if not self._tables:
                self._flush()
            self._tables.append(_Table())
            return
        if not self._tables:
            return  # a row or cell outside any table: its text is read as text
        table = self._tables[-1]
        if tag == "thead":
            table.in_head = True
        elif tag == "tr":
            table.rows.append([])
            table.row_all_th = True
        elif tag in ("td", "th"):
            if not table.rows:
                table.rows.append([])
            table.row_all_th &= tag == "th"
            table.cell = []

    def _table_end(self, tag: str) -> None:
        if not self._tables:
            return
        table = self._tables[-1]
        if tag in ("td", "th") and table.cell is not None:
            table.rows[-1].append(one_line("".join(table.cell)))
            table.cell = None
        elif tag == "thead":
            table.in_head = False
        elif tag == "tr":
            if table.rows and table.rows[-1] and (table.in_head or table.row_all_th):
                table.header_rows = len(table.rows)
        elif tag == "table":
            self._tables.pop()
            rows = [row for row in table.rows if any(cell for cell in row)]
            if self._tables and self._tables[-1].cell is not None:  # nested: flattened into the cell
                self._tables[-1].cell.append(" ".join(" ".join(row) for row in rows))
            elif rows:
                self._flush()
                self.blocks.extend(_table_blocks(rows, table.header_rows > 0))

    def text(self) -> str:
        self._flush()
        return "\n\n".join(block for block in self.blocks if block.strip())


def _is_main(tag: str, attrs: dict[str, str | None]) -> bool:
    """The element a page marks as its main content (``<main>`` or ``role="main"``)."""
    return tag == "main" or attrs.get("role") == "main"


def _is_navigation(attrs: dict[str, str | None]) -> bool:
    """An element that a page marks as navigation (``role="navigation"``, or a class such as
    ``nav-panel``, ``sidebar``, ``breadcrumb``): the generator's menus, not the page's text."""
    classes = set((attrs.get("class") or "").lower().split())
    return attrs.get("role") == "navigation" or bool(classes & _NAVIGATION_CLASSES)


def _is_note_reference(tag: str, attrs: dict[str, str | None]) -> bool:
    """A footnote's reference mark in the text (``<sup class="footnote-reference">``, Pandoc's
    ``role="doc-noteref"``, a ``<sup class="reference">``): left out, or "hash tables1" reads as a
    word. The footnote itself, at the end of the page, is kept. A *link* of class ``reference`` is
    not one: Sphinx gives that class to every cross reference ("Raises HTTPError")."""
    classes = (attrs.get("class") or "").lower().split()
    return (
        attrs.get("role") == "doc-noteref"
        or any(c.startswith(("footnote-ref", "fn-ref", "footnote-reference")) for c in classes)
        or (tag == "sup" and "reference" in classes)
    )


def _table_blocks(rows: list[list[str]], has_header: bool) -> list[str]:
    """A table with a header row as a Markdown table (columns empty in every row left out); one
    without (a layout table) as one line a row, its cells joined by " · "."""
    if not has_header:
        return [" · ".join(cell for cell in row if cell) for row in rows]
    width = max(map(len, rows))
    padded = [row + [""] * (width - len(row)) for row in rows]
    keep = [i for i in range(width) if any(row[i] for row in padded[1:]) or len(padded) == 1]
    return [gfm_table([[row[i] for i in keep] for row in padded])]


_MAIN = re.compile(r"<main[\s>]|\brole\s*=\s*[\"']?main\b", re.I)


def html_to_markdown(html: str) -> tuple[str, str | None]:
    """The page as Markdown-like text, and its ``<title>`` (None when it has none). A page that
    marks its main content (``<main>``, ``role="main"``) is read from there only: its header,
    footer and sidebars repeat on every page and answer nothing. (When that reading finds no text,
    say the mark was only in a script, the whole page is read.)"""
    for only_main in [True, False] if _MAIN.search(html) else [False]:
        writer = _MarkdownWriter(only_main=only_main)
        writer.feed(html)
        writer.close()
        text = re.sub(r"\n{3,}", "\n\n", writer.text()).strip()
        if text:
            break
    return text, writer.title or None
