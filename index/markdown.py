"""Read a Markdown document's structure with a real parser (markdown-it-py), offsets kept verbatim.

Why markdown-it-py: it is CommonMark-exact (setext headings, lazy continuation lines, nested lists,
fences that hide ``# comments`` from heading detection), has the GFM table rule, and every block
token carries a source line map, which is what exact citations need: blocks, sentences and table
rows are spans of the original file, never of a rendered copy. Mistune renders well but gives no
source positions. Indented code blocks are turned off: in documentation sources, indentation is far
more often an admonition body or a wrapped list item than code (fenced code stays code).

What comes out (`Structure`):
- blocks for the chunker: headings (ATX, setext, and a paragraph that is only bold text, as a
  level-7 heading), paragraphs, lists with the sentence that introduces them, tables, code, and
  boilerplate (front matter, HTML comments, lines that are only template tags);
- answer units: sentences of paragraphs and list items with hard-wrapped lines joined, table rows
  whose display carries the column headers; code is never an answer unit;
- views: the readable text of each paragraph, item, row and code block, for passage display.
"""

from __future__ import annotations

import bisect
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from corpus.frontmatter import front_matter_end, front_matter_title
from index.markup import (
    CODE_DIRECTIVES,
    MYST_TARGET,
    SILENT_DIRECTIVES,
    TAB_LABEL,
    clean_cell,
    clean_markdown,
    link_labels,
    row_display,
)
from index.sentences import last_mark, split_sentences, trim_span
from index.structure import Block, BlockKind, Structure, Unit, first_heading, merge_leadins

_PARSER = MarkdownIt("commonmark", {"html": True}).enable("table").disable("code")
# A whole line in bold ("**Deploy checklist**"), not a sentence with bold words at both ends.
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(?:(?!\1)[^\n])+\1\s*:?\s*$")
# MDX's ESM lines (``import Tabs from '@theme/Tabs';``): code for the page, not words for readers.
_ESM_LINE = re.compile(
    r"^\s*(?:import\s[^\n]*?\bfrom\s*['\"][^'\"\n]+['\"]|import\s*['\"][^'\"\n]+['\"]|"
    r"export\s+(?:const|let|var|default|function)\b[^\n]*);?\s*$"
)
# The first line of a block whose body is indented under it: an MkDocs admonition or content tab.
_BODY_MARKER = re.compile(r"^[ \t]*(?:!{3}|\?{3}\+?|={3}[+!]?)[ \t]+\S")
# A code fence, and the directive it opens in MyST Markdown (```` ```{note} ````, ``~~~{code-block} py``).
# MyST's colon fence (``:::{note}``) opens a directive too, never code.
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}|:{3,}(?=\{))[ \t]*(?:\{([\w:.+-]+)\})?")
# A directive's option line (``:class: tip``) and a MyST comment line (``% draft``).
_OPTION_LINE = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
_MYST_COMMENT = re.compile(r"^[ \t]*%(?:[ \t].*)?$")
_LIST_NUMBER_ONLY = re.compile(r"\d{1,3}[.)]")
_HTML_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr\s*>", re.I | re.S)
_HTML_OPEN_ROW = re.compile(r"<tr\b", re.I)  # a row left open where the HTML block ends
_HTML_CELL = re.compile(r"<(t[hd])\b[^>]*>(.*?)</t[hd]\s*>", re.I | re.S)
# Block quote and list item markers at the start of a paragraph's first line.
_MARKERS = re.compile(r"(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*(?:\[[ xX]\][ \t]+)?")
# An HTML block that holds a program or a style sheet (CommonMark ends it at its closing tag).
_HTML_PROGRAM = re.compile(r"\A<(script|style|textarea)\b", re.I)
# Where the text of an HTML block breaks: a block-level element's tag (a cell, a row, a list item,
# a division, a line break) or any tag alone on its line (a component, ``<Alert type="warning">``).
# Text on either side belongs to different sentences ("... any value.</td></tr><tr><td>IP
# addresses</td>"); inline tags (``<a>``, ``<b>``, ``<code>``) do not break it, nor do tags inside
# an HTML comment (matched first, as ``comment``, so that commented-out markup stays one comment;
# a table or row commented out is no table or row either).
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_HTML_BREAK = re.compile(
    rf"(?P<comment>(?s:{_HTML_COMMENT.pattern}))"
    r"|</?(?:address|article|aside|blockquote|br|caption|center|dd|details|dialog|div|dl|dt|fieldset|"
    r"figcaption|figure|footer|form|h[1-6]|header|hr|li|main|nav|ol|p|section|summary|table|tbody|td|"
    r"tfoot|th|thead|tr|ul)\b[^>]*>|^[ \t]*</?[A-Za-z][\w.:-]*(?:\s[^>]*)?/?>[ \t]*$",
    re.I | re.M,
)
_HTML_HEADING = re.compile(r"\A<h([1-6])\b[^>]*>(.*?)</h\1\s*>\Z", re.I | re.S)
# Images alone (a screenshot, a row of badges): their alt text is shown, but it answers nothing.
_IMAGES_ONLY = re.compile(r"\A(?:\s*\[?!\[[^\]]*\]\([^)]*\)(?:\]\([^)]*\))?)+\s*\Z")
# A template tag over several lines (a Hugo figure with a parameter a line and ">}}" alone on the
# last): left to the parser, ">}}" opens a block quote and "- item" a list. Never across a blank line
# or a code fence, so a stray "{{" cannot swallow the document.
# (At most 1,000 characters: a tag is never longer, and an unclosed one must not make every later
# "{{<" scan to the end of the file.)
_MULTILINE_TAG = re.compile(
    r"(?:\{\{[<%]|\{%|<%)(?:[^\n]|\n(?![ \t>]*(?:\n|`{3}|~{3}))){0,1000}?(?:[%>]\}\}|%\}|%>)"
)
_CONTAINERS: dict[str, BlockKind] = {
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "blockquote_open": "para",
}


@dataclass
class _Reader:
    text: str
    line_starts: list[int]
    blocks: list[Block] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    views: list[Unit] = field(default_factory=list)
    references: frozenset[str] = frozenset()  # the document's link labels (`link_labels`)

    def clean(self, source: str) -> str:
        """`clean_markdown` with this document's link labels."""
        return clean_markdown(source, self.references)

    def cell(self, source: str) -> str:
        """`clean_cell` with this document's link labels."""
        return clean_cell(source, self.references)

    def span(self, lines: list[int] | None) -> tuple[int, int]:
        """Character span of source lines ``[first, last)``, surrounding whitespace trimmed."""
        if not lines:
            return 0, 0
        first, last = lines
        start = self.line_starts[first]
        end = self.line_starts[last] - 1 if last < len(self.line_starts) else len(self.text)
        return self.trim(start, end)

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """The span without its surrounding whitespace."""
        return trim_span(self.text, start, end)

    def add_block(self, start: int, end: int, kind: BlockKind, level: int = 0, label: str = "") -> None:
        if end > start:
            self.blocks.append(Block(start, end, kind, level, label))

    def add_sentences(self, start: int, end: int) -> None:
        for s, e in split_sentences(self.text, start, end, wrapped=True):
            display = self.clean(self.text[s:e])
            # A bare list number ("30." after a task box) is a marker, never a sentence.
            if any(ch.isalnum() for ch in display) and not _LIST_NUMBER_ONLY.fullmatch(display):
                self.units.append(Unit(s, e, display))


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _parser_text(text: str, front_matter_end: int) -> str:
    """What the parser reads, line numbers unchanged: front matter blanked, the continuation
    lines of a template tag written over several lines replaced by a placeholder word, and the
    indented bodies of admonitions and content tabs moved left (`_outdent_bodies`)."""
    head = re.sub(r"[^\n]", "", text[:front_matter_end])
    body = _MULTILINE_TAG.sub(_placeholder, text[front_matter_end:])
    return head + _outdent_bodies(_myst_directives(body))


_FENCE_LINE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,}|:{3,}|-{3})[ \t]*")


class _Closings:
    """Where the fence that closes a block is: the next line made only of at least n of a fence's
    marks. Looked up by bisection in the lines that can close something, so a file of thousands of
    unclosed fences costs no more than one pass (a forward scan per fence was quadratic)."""

    def __init__(self, lines: list[str]) -> None:
        self._end = len(lines)
        self._by_mark: dict[str, list[tuple[int, int]]] = {}
        for index, line in enumerate(lines):
            found = _FENCE_LINE.fullmatch(line)
            if found:
                run = found.group(1)
                self._by_mark.setdefault(run[0], []).append((index, len(run)))
        self._lists: dict[tuple[str, int], list[int]] = {}

    def after(self, line: int, mark: str, count: int) -> int:
        """The first line after `line` closing a fence of `count` `mark`s; the line count if none."""
        key = (mark, count)
        if key not in self._lists:
            self._lists[key] = [i for i, n in self._by_mark.get(mark, []) if n >= count]
        found = self._lists[key]
        at = bisect.bisect_right(found, line)
        return found[at] if at < len(found) else self._end


def _myst_directives(text: str) -> str:
    """MyST Markdown's directives read for what they hold (line count unchanged).

    A fenced directive (```` ```{note} ````, ``~~~{admonition} Title``) is parsed as its body: its
    fence lines and option lines (``:class: tip``, or a ``---`` YAML block) are blanked, so an
    admonition's text is prose and its lists are lists, where the parser would read it all as
    code. A code directive (``{code-block}``) stays a fence; a directive with no words for
    readers (``{toctree}``, ``{image}``) is blanked whole. Target lines (``(install)=``) and
    comment lines (``% note to self``) are blanked too. The source keeps every line, so offsets
    still point into the verbatim file.
    """
    lines = text.split("\n")
    out = list(lines)
    closes: set[int] = set()  # closing fence lines of the prose directives met so far
    closing = _Closings(lines)
    i = 0
    while i < len(lines):
        fence = None if i in closes else _FENCE.match(lines[i])
        if fence is None:
            standalone = i == 0 or not lines[i - 1].strip() or bool(_MYST_COMMENT.match(lines[i - 1]))
            if MYST_TARGET.match(lines[i]) or (standalone and _MYST_COMMENT.match(lines[i])):
                out[i] = ""
            i += 1
            continue
        marks, name = fence.group(1), (fence.group(2) or "").lower().rsplit(":", 1)[-1]
        close = closing.after(i, marks[0], len(marks))
        if not name or name in CODE_DIRECTIVES:
            i = close + 1  # code: nothing inside is markup
            continue
        closes.add(close)
        blank = range(i, min(close + 1, len(lines))) if name in SILENT_DIRECTIVES else (i, close)
        for j in blank:
            if j < len(lines):
                out[j] = ""
        body = i + 1
        if body < close and lines[body].strip() == "---":  # options as a YAML block
            end = closing.after(body, "-", 3)
            for j in range(body, end + 1 if end < close else body + 1):
                out[j] = ""
        else:
            while body < close and _OPTION_LINE.match(lines[body]):
                out[body] = ""
                body += 1
        i = close + 1 if name in SILENT_DIRECTIVES else i + 1  # a prose body may hold more directives
    return "\n".join(out)


def _outdent_bodies(text: str) -> str:
    """The bodies of MkDocs admonitions (``!!! note``, ``??? tip``) and content tabs (``=== "Tab"``)
    four spaces to the left, so that their lists and fenced code are read as lists and code: at
    their source indentation the parser takes them for paragraph text. Nested bodies move by four
    spaces a level. Line count and order are unchanged (source line maps stay exact)."""
    out: list[str] = []
    bodies: list[int] = []  # the source indentation of each open body, innermost last
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if line.strip():
            while bodies and indent < bodies[-1]:
                bodies.pop()
        shift = min(4 * len(bodies), indent)
        out.append(line[shift:])
        if _BODY_MARKER.match(line):
            bodies.append(indent + 4)
    return "\n".join(out)


def _placeholder(match: re.Match[str]) -> str:
    first, *rest = match.group().split("\n")
    return "\n".join([first, *("x" for _ in rest)])


def _heading(reader: _Reader, tokens: list[Token], i: int) -> None:
    start, end = reader.span(tokens[i].map)
    label = reader.clean(tokens[i + 1].content)
    if label:
        reader.add_block(start, end, "heading", int(tokens[i].tag[1:]), label)
    else:
        reader.add_block(start, end, "boilerplate")


def _paragraph(reader: _Reader, token: Token, bullet: bool) -> None:
    """A paragraph's view and sentences; the source span, not the parser's inline text, is cited.

    The span starts after the markers of the containers it opens ("> ", "1. ", "- [ ] "). Images
    alone and a content tab's label are shown but are not sentences.
    """
    start, end = reader.span(token.map)
    marker = _MARKERS.match(reader.text, start, end)
    start = marker.end() if marker else start
    display = reader.clean(reader.text[start:end])
    if not any(ch.isalnum() for ch in display):
        return
    reader.views.append(Unit(start, end, f"• {display}" if bullet else display))
    if not _IMAGES_ONLY.match(reader.text[start:end]) and not TAB_LABEL.fullmatch(reader.text[start:end]):
        reader.add_sentences(start, end)


def _paragraph_kind(source: str, display: str) -> tuple[BlockKind, int]:
    """A top-level paragraph is text, a minor (level 7) heading when it is one bold line or a
    content tab's label, or boilerplate."""
    if not any(ch.isalnum() for ch in display) or all(_ESM_LINE.match(ln) for ln in source.splitlines()):
        return "boilerplate", 0
    if TAB_LABEL.fullmatch(source) or (
        _BOLD_LINE.match(source) and len(display.split()) <= 12 and last_mark(display) not in ".!?"
    ):
        return "heading", 7
    return "para", 0


def _table(reader: _Reader, tokens: list[Token], i: int) -> int:
    """Read a GFM table starting at tokens[i]; return the index of its closing token."""
    header: list[str] = []
    row: list[str] = []
    row_map: list[int] | None = None
    in_head = False
    j = i
    while tokens[j].type != "table_close":
        tok = tokens[j]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row, row_map = [], tok.map
        elif tok.type == "inline":
            row.append(reader.cell(tok.content))
        elif tok.type == "tr_close":
            _table_row(reader, header, row, row_map, in_head)
            if in_head:
                header = row
        j += 1
    return j


def _table_row(
    reader: _Reader, header: list[str], row: list[str], row_map: list[int] | None, in_head: bool
) -> None:
    start, end = reader.span(row_map)
    if in_head:
        reader.views.append(Unit(start, end, " | ".join(c for c in row if c)))
        return
    display = row_display(header, row)
    if display:
        reader.units.append(Unit(start, end, display))
        reader.views.append(Unit(start, end, display))


def _html_block(reader: _Reader, token: Token) -> None:
    start, end = reader.span(token.map)
    source = reader.text[start:end]
    if _HTML_PROGRAM.match(source):
        reader.add_block(start, end, "boilerplate")  # a script or a style sheet: no words for readers
        return
    if re.search(r"<table\b", _HTML_COMMENT.sub("", source), re.I):
        _html_table(reader, start, end)
        return
    heading = _HTML_HEADING.match(source)
    if heading and reader.clean(heading.group(2)):
        reader.add_block(start, end, "heading", int(heading.group(1)), reader.clean(heading.group(2)))
        return
    stretches = _html_stretches(reader, start, end)
    reader.add_block(start, end, "para" if stretches else "boilerplate")
    _add_html_text(reader, stretches)


def _html_stretches(reader: _Reader, start: int, end: int) -> list[tuple[int, int, str]]:
    """The stretches of HTML between breaks (`_HTML_BREAK`) that have words, with their readable
    text."""
    breaks = (m for m in _HTML_BREAK.finditer(reader.text, start, end) if m.group("comment") is None)
    cuts = [start, *(p for m in breaks for p in m.span()), end]
    stretches = []
    for s, e in zip(cuts[::2], cuts[1::2], strict=True):
        display = reader.clean(reader.text[s:e])
        if any(ch.isalnum() for ch in display):
            stretches.append((s, e, display))
    return stretches


def _add_html_text(reader: _Reader, stretches: list[tuple[int, int, str]]) -> None:
    """A view and sentences for each stretch of HTML text (`_html_stretches`)."""
    for s, e, display in stretches:
        reader.views.append(Unit(s, e, display))
        reader.add_sentences(s, e)


def _html_table(reader: _Reader, start: int, end: int) -> None:
    """An HTML table's rows, each with its column names; text after the last closed row (a cell
    whose Markdown content runs past a blank line, as ``<td markdown="1">`` does) is prose."""
    reader.add_block(start, end, "table")
    header: list[str] = []
    rows_end = start
    comments = [m.span() for m in _HTML_COMMENT.finditer(reader.text, start, end)]
    for row in _HTML_ROW.finditer(reader.text, start, end):
        if any(s <= row.start() < e for s, e in comments):
            continue
        rows_end = row.end()
        cells = [
            (m.group(1).lower(), reader.cell(reader.clean(m.group(2))))
            for m in _HTML_CELL.finditer(row.group(1))
        ]
        values = [c for _, c in cells]
        if cells and all(kind == "th" for kind, _ in cells) and not header:
            header = values
            reader.views.append(Unit(row.start(), row.end(), " | ".join(v for v in values if v)))
            continue
        display = row_display(header, values)
        if display:
            reader.units.append(Unit(row.start(), row.end(), display))
            reader.views.append(Unit(row.start(), row.end(), display))
    opened = _HTML_OPEN_ROW.search(reader.text, rows_end, end)
    if opened is not None:
        _add_html_text(reader, _html_stretches(reader, opened.start(), end))


def _top_level(reader: _Reader, tokens: list[Token], i: int) -> int:
    """Handle the top-level token at i (and its children); return the index to continue from."""
    tok = tokens[i]
    if tok.type == "heading_open":
        _heading(reader, tokens, i)
        return i + 3
    if tok.type == "paragraph_open":
        start, end = reader.span(tok.map)
        display = reader.clean(reader.text[start:end])
        kind, level = _paragraph_kind(reader.text[start:end], display)
        reader.add_block(start, end, kind, level, display.rstrip(":").strip() if level else "")
        if kind == "para":
            _paragraph(reader, tok, bullet=False)
        return i + 3
    if tok.type == "table_open":
        start, end = reader.span(tok.map)
        reader.add_block(start, end, "table")
        return _table(reader, tokens, i) + 1
    if tok.type == "fence":
        start, end = reader.span(tok.map)
        reader.add_block(start, end, "code")
        _fence_view(reader, tok)
        return i + 1
    if tok.type == "html_block":
        _html_block(reader, tok)
        return i + 1
    if tok.type in _CONTAINERS:
        return _container(reader, tokens, i, _CONTAINERS[tok.type])
    return i + 1


def _fence_view(reader: _Reader, tok: Token) -> None:
    """The code of a fence: the parser's, or the source's where it holds a masked template tag."""
    start, end = reader.span(tok.map)
    code = tok.content
    if any("\n" in m.group() for m in _MULTILINE_TAG.finditer(reader.text, start, end)):
        lines = reader.text[start:end].split("\n")[1:]
        if lines and lines[-1].strip().startswith(tok.markup):
            lines.pop()
        code = textwrap.dedent("\n".join(lines))
    if code.strip():
        reader.views.append(Unit(start, end, code.strip("\n"), code=True))


def _container(reader: _Reader, tokens: list[Token], i: int, kind: BlockKind) -> int:
    """A list or block quote: one block; what is inside gives views and answer units."""
    start, end = reader.span(tokens[i].map)
    reader.add_block(start, end, kind)
    depth, j = 0, i
    while True:
        last = _inner(reader, tokens, j, kind)
        depth += sum(tok.nesting for tok in tokens[j : last + 1])
        j = last + 1
        if depth == 0:
            return j


def _inner(reader: _Reader, tokens: list[Token], j: int, kind: BlockKind) -> int:
    """Read the token at j inside a container; return the index of the last token it consumed."""
    tok = tokens[j]
    if tok.type == "paragraph_open":
        _paragraph(reader, tok, bullet=kind == "list")
    elif tok.type == "fence":
        _fence_view(reader, tok)
    elif tok.type == "table_open":
        return _table(reader, tokens, j)  # its closing token: the table's nesting is balanced
    elif tok.type == "heading_open":
        s, e = reader.span(tok.map)
        label = reader.clean(tokens[j + 1].content)
        if label:
            reader.views.append(Unit(s, e, label))
    elif tok.type == "html_block":
        s, e = reader.span(tok.map)
        display = reader.clean(reader.text[s:e])
        if any(ch.isalnum() for ch in display):
            reader.views.append(Unit(s, e, display))
            reader.add_sentences(s, e)
    return j


def parse_markdown(text: str) -> Structure:
    """Read a Markdown document (front matter, headings, paragraphs, lists, tables, code, HTML).

    Args:
        text: The verbatim document text.

    Returns:
        Its `Structure`; every span is an offset range into `text`.
    """
    fm_end = front_matter_end(text)
    env: dict[str, Any] = {}
    tokens = _PARSER.parse(_parser_text(text, fm_end), env)
    reader = _Reader(text, _line_starts(text), references=link_labels(env.get("references", {})))
    if fm_end:
        reader.add_block(*reader.trim(0, fm_end), "boilerplate")
    i = 0
    while i < len(tokens):
        i = _top_level(reader, tokens, i)
    blocks = merge_leadins(text, sorted(reader.blocks, key=lambda b: b.start))
    title = front_matter_title(text) if fm_end else None
    return Structure(
        blocks=tuple(blocks),
        units=tuple(sorted(reader.units, key=lambda u: u.start)),
        views=tuple(sorted(reader.views, key=lambda u: u.start)),
        title=title or first_heading(blocks),
    )
