"""Read an AsciiDoc document's structure (Asciidoctor and Antora sources), offsets verbatim.

AsciiDoc defines its blocks by lines: ``=`` section titles, blank lines between paragraphs,
delimiter lines around listings and examples, ``[attribute]`` and ``.Title`` lines before a block,
``|===`` around tables. Like `index.rst`, this reader walks the lines (`index.line_reader`) so that
every block, sentence and table row is an exact span of the file.

What comes out (`Structure`):
- blocks: section titles (``== Install`` is level 2; the ``= Title`` line names the document),
  paragraphs, lists (with the paragraph that introduces them), tables, code (listing and literal
  blocks, indented literal paragraphs) and boilerplate (the header's attribute entries, comments,
  block attribute lines, ``include::``/``image::`` lines, passthrough blocks);
- answer units: sentences of paragraphs, admonition paragraphs (``NOTE: ...``) and list items,
  description list items as "term: definition", table rows that name their columns; what is inside
  example, sidebar, quote and open blocks is read as prose; a block title (``.Defaults``) heads it;
- views: the readable text of each paragraph, item, row and code block.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from index.line_reader import At, LineReader, indent_of
from index.structure import Structure

_SECTION = re.compile(r"^(={1,6}|#{1,6})[ \t]+(\S.*?)[ \t]*$")
# ``:name: value`` (``:!name:`` unsets); a name may hold spaces (``:man manual:``), which its key
# drops, as Asciidoctor does.
_ATTRIBUTE_ENTRY = re.compile(r"^:!?(\w[^:\n]*?)!?:(?:[ \t]+(.*))?$")
_BLOCK_ATTRIBUTES = re.compile(r"^\[[^\]\n]*\]$")
_BLOCK_TITLE = re.compile(r"^\.(?![.\s])\S")
_COMMENT = re.compile(r"^//(?!//)")
_MACRO_LINE = re.compile(r"^(?:include|image|toc|video|audio|ifdef|ifndef|ifeval|endif)::[^\n]*\]$")
_LIST_ITEM = re.compile(r"^([ \t]*)(\*{1,5}|-|\.{1,5}|\d{1,3}\.|[a-zA-Z]\.)[ \t]+(?:\[[ xX*]\][ \t]+)?(?=\S)")
_DESCRIPTION = re.compile(r"^(?!\s)(.*?\S)(:{2,4}|;;)(?:[ \t]+(\S.*))?$")
_CONTINUATION = "+"
# Delimiter lines: four or more of one character (two hyphens for an open block), or a fence.
_DELIMITER = re.compile(r"^(-{4,}|\.{4,}|={4,}|\*{4,}|_{4,}|\+{4,}|/{4,}|--|```[\w+-]*)[ \t]*$")
_CODE_DELIMITERS = ("-", ".", "`")
_SILENT_DELIMITERS = ("+", "/")
_TABLE = re.compile(r"^[|,:!]===[ \t]*$")

# Inline markup, removed for display (the words a reader sees are kept).
# A link or cross reference with its text: ``https://x.y[text]``, ``link:file.pdf[text]``, ``xref:a.adoc[]``.
_URL_MACRO = re.compile(
    r"(?:(?:link|mailto|xref):[^\s\[\]]*|\b[a-z][\w+.-]*://[^\s\[\]]*)\[([^\]]{0,1000})\]"
)
_XREF = re.compile(r"<<([^,>\n]{1,1000})(?:,\s*([^>\n]{1,1000}))?>>")
_UI_MACRO = re.compile(
    r"\b(?:kbd|btn|pass|footnote|footnoteref|indexterm2?|anchor|icon|image|menu):[^\[\s]*\[([^\]]{0,1000})\]"
)
_SILENT_MACROS = ("footnote", "anchor", "icon", "indexterm")
_INDEX_TERM = re.compile(r"\(\(\(.{0,1000}?\)\)\)|\(\((.{0,1000}?)\)\)")
_ANCHOR = re.compile(r"\[\[[^\]\n]*\]\]|\[#[\w-]+\]")
_ROLE = re.compile(r"\[\.[\w. -]+\](?=[#*_`])")
_CONSTRAINED = re.compile(
    r"(\*\*|__|``|##|\+\+\+|\+\+)(.{1,1000}?)\1|(?<![\w])([*_`#+^~])(?=\S)(.{1,1000}?)(?<=\S)\3(?![\w])"
)
_ATTRIBUTE_REF = re.compile(r"\{([\w][\w-]*)\}")
# A link whose target is, or starts with, an attribute the document does not set (a site-wide
# ``{url-ruby}[Ruby]``, ``{url-gems}/asciidoctor[asciidoctor^]``).
_UNKNOWN_LINK = re.compile(r"\{[\w][\w-]*\}[^\s\[\]]*\[([^\]]*)\]")
_ESCAPE = re.compile(r"\\(?=[*_`#+{<\[])")
_HARD_BREAK = re.compile(r"[ \t]\+$", re.M)
# A description list's "term:: definition" reads "term: definition".
_DESCRIPTION_MARK = re.compile(r"^(\S[^\n]*?)(?::{2,4}|;;)(?=\s|$)")
# Where a removed footnote or anchor leaves a space before punctuation ("index , then").
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?)])")


@dataclass
class _Reader(LineReader):
    """An AsciiDoc document being read: the document's attribute values (for ``{name}``), and
    the title and attribute lines waiting for the block below them."""

    attributes: dict[str, str] = field(default_factory=dict)
    pending_title: str = ""
    pending_attributes: str = ""


def clean_adoc(text: str, attributes: dict[str, str] | None = None) -> str:
    """The readable text of an AsciiDoc span: macros, cross references, formatting marks, anchors
    and escapes removed, attribute references replaced by the values the document sets (an
    unknown one, ``/users/{id}``, stays as written, as Asciidoctor leaves it), character
    references decoded (``&#8805;`` → ≥), lines joined.

    >>> clean_adoc("Run `make` (see xref:install.adoc[the install guide]) *now* +", {})
    'Run make (see the install guide) now'
    """
    values = attributes or {}
    for _ in range(2):  # a value may name another attribute; an unknown one stays as written
        text = _ATTRIBUTE_REF.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), text)
    text = _UNKNOWN_LINK.sub(lambda m: m.group(1).rstrip("^"), text)
    text = _HARD_BREAK.sub("", text)
    text = _UI_MACRO.sub(lambda m: "" if m.group(0).startswith(_SILENT_MACROS) else m.group(1), text)
    text = _URL_MACRO.sub(_link_text, text)
    text = _XREF.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)
    text = _INDEX_TERM.sub(lambda m: m.group(1) or "", text)
    text = _ANCHOR.sub("", text)
    text = _ROLE.sub("", text)
    for _ in range(2):  # nested marks: *`code`*
        text = _CONSTRAINED.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(4), text)
    text = html.unescape(_ESCAPE.sub("", text).replace("`'", "'"))
    text = _DESCRIPTION_MARK.sub(r"\1:", text.strip())
    text = " ".join(text.split())
    return _SPACE_BEFORE_MARK.sub(r"\1", text)


def _link_text(match: re.Match[str]) -> str:
    """A link's text; without one, a URL as written and a cross reference's page name
    (``xref:cli:index.adoc[]`` → ``index``)."""
    text = match.group(1).rstrip("^").strip()
    if text:
        return text
    target = match.group(0).split("[", 1)[0]
    if target.startswith("xref:"):
        page = target[len("xref:") :].split("#", 1)[0].rsplit(":", 1)[-1]
        return page.rsplit(".", 1)[0] if page.endswith(".adoc") else page
    return target.removeprefix("link:").removeprefix("mailto:")


def _is_block_start(line: str) -> bool:
    """A line that ends a paragraph above it: a delimiter, a table, a list item, a section, a
    block attribute or title line, an attribute entry or a comment."""
    return bool(
        _DELIMITER.match(line)
        or _TABLE.match(line)
        or _LIST_ITEM.match(line)
        or _SECTION.match(line)
        or _BLOCK_ATTRIBUTES.match(line)
        or _COMMENT.match(line)
        or line.strip() == _CONTINUATION
    )


def _paragraph_end(reader: _Reader, i: int, hi: int) -> int:
    j = i + 1
    while j < hi and reader.lines[j].strip() and not _is_block_start(reader.lines[j]):
        j += 1
    return j


def _take_pending(reader: _Reader) -> tuple[str, str]:
    title, attributes = reader.pending_title, reader.pending_attributes
    reader.pending_title, reader.pending_attributes = "", ""
    return title, attributes


def _section(reader: _Reader, at: At) -> int | None:
    i, _, top = at
    found = _SECTION.match(reader.lines[i])
    if found is None or not top:
        return None
    level = len(found.group(1))
    label = reader.clean(found.group(2))
    title = level == 1 and not any(b.kind == "heading" for b in reader.blocks)
    reader.block(*reader.span(i, i + 1), "heading", level, label)
    _take_pending(reader)
    return _header(reader, i + 1, at.hi) if title else i + 1


def _header(reader: _Reader, i: int, hi: int) -> int:
    """The document header under its title, up to the first blank line: the author and revision
    lines ("Dan Allen; Sarah White", "v2.0, 2024-01-01") are metadata, not text, and attribute
    entries set values; none of it is a paragraph."""
    while i < hi and reader.lines[i].strip():
        if _attribute_entry(reader, At(i, hi, True)) is None:
            reader.block(*reader.span(i, i + 1), "boilerplate")
        i += 1
    return i


def _attribute_entry(reader: _Reader, at: At) -> int | None:
    i, _, _ = at
    found = _ATTRIBUTE_ENTRY.match(reader.lines[i])
    if found is None:
        return None
    # A value may name attributes set before it ("{url-org}/releases").
    value = _ATTRIBUTE_REF.sub(
        lambda m: reader.attributes.get(m.group(1).lower(), m.group(0)), found.group(2) or ""
    )
    reader.attributes[re.sub(r"[^\w-]", "", found.group(1)).lower()] = value.strip()
    reader.block(*reader.span(i, i + 1), "boilerplate")
    return i + 1


def _comment(reader: _Reader, at: At) -> int | None:
    i, _, _ = at
    line = reader.lines[i]
    if not (_COMMENT.match(line) or _MACRO_LINE.match(line) or line.strip() == _CONTINUATION):
        return None
    reader.block(*reader.span(i, i + 1), "boilerplate")
    return i + 1


def _block_line(reader: _Reader, at: At) -> int | None:
    """A block attribute line (``[source,ruby]``, ``[NOTE]``, ``[%header]``) or a block title
    (``.Defaults``): remembered for the block below."""
    i, _, _ = at
    line = reader.lines[i]
    if _BLOCK_ATTRIBUTES.match(line):
        reader.pending_attributes += line
        reader.block(*reader.span(i, i + 1), "boilerplate")
        return i + 1
    if _BLOCK_TITLE.match(line) and not _LIST_ITEM.match(line):
        reader.pending_title = reader.clean(line[1:])
        reader.block(*reader.span(i, i + 1), "heading", 7, reader.pending_title)
        return i + 1
    return None


def _delimited(reader: _Reader, at: At) -> int | None:
    """A delimited block: code (listing, literal, fence), left out (passthrough, comment) or read
    as prose (example, sidebar, quote, open block; an admonition block)."""
    i, hi, _ = at
    found = _DELIMITER.match(reader.lines[i])
    if found is None:
        return None
    fence = found.group(1)
    closing = "```" if fence.startswith("```") else fence
    end = i + 1
    while end < hi and reader.lines[end].rstrip() != closing:
        end += 1
    stop = min(end + 1, hi)
    _, attributes = _take_pending(reader)
    if fence[0] in _CODE_DELIMITERS or attributes.startswith(("[source", "[listing", "[literal")):
        reader.block(*reader.span(i, stop), "code")
        reader.code(i + 1, end)
    elif fence[0] in _SILENT_DELIMITERS or "pass" in attributes:
        reader.block(*reader.span(i, stop), "boilerplate")
    else:
        reader.block(*reader.span(i, i + 1), "boilerplate")
        _read(reader, i + 1, end, top=False)
        if end < hi:
            reader.block(*reader.span(end, end + 1), "boilerplate")
    return stop


def _table(reader: _Reader, at: At) -> int | None:
    """A table between ``|===`` lines: rows of cells, named by the header row."""
    i, hi, _ = at
    if not _TABLE.match(reader.lines[i]):
        return None
    end = i + 1
    while end < hi and not _TABLE.match(reader.lines[end]):
        end += 1
    stop = min(end + 1, hi)
    _, attributes = _take_pending(reader)
    reader.block(*reader.span(i, stop), "table")
    separator = reader.lines[i][0]
    cells = _cells(reader, i + 1, end, separator)
    if not cells:
        return stop
    columns = _column_count(attributes) or sum(1 for c in cells if c.line == cells[0].line)
    has_header = "noheader" not in attributes and (
        "header" in attributes or _implicit_header(reader, cells, columns)
    )
    header: list[str] = []
    for n in range(0, len(cells), columns):
        row = cells[n : n + columns]
        # "\|" in a cell is the separator character written as text, not a cell border.
        texts = [reader.clean(reader.text[c.start : c.end]).replace(f"\\{separator}", separator) for c in row]
        start, stop_at = reader.trim(row[0].marker, row[-1].end)
        if n == 0 and has_header:
            header = texts
            reader.header(start, stop_at, texts)
        else:
            reader.row(start, stop_at, header, texts)
    return stop


class _Cell(NamedTuple):
    marker: int  # where its separator (and cell spec) starts
    start: int  # where its text starts
    end: int  # where its text ends
    line: int


def _cells(reader: _Reader, first: int, last: int, separator: str) -> list[_Cell]:
    """The cells of a table's lines, in order; a cell's text goes on to the next separator."""
    marker = re.compile(rf"(?:^|(?<=[ \t]))[0-9.+*<^>]*[adehlmsv]?{re.escape(separator)}")
    starts: list[tuple[int, int, int]] = []
    for j in range(first, last):
        for found in marker.finditer(reader.lines[j]):
            base = reader.starts[j]
            starts.append((base + found.start(), base + found.end(), j))
    limit = reader.end_of(last)
    cells = []
    for n, (at, start, line) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else limit
        s, e = reader.trim(start, end)
        cells.append(_Cell(at, s, max(e, s), line))
    return cells


def _column_count(attributes: str) -> int:
    """Columns from a ``cols`` attribute: ``cols="1,2,3"`` → 3, ``cols="3*"`` → 3."""
    found = re.search(r"cols=\"?([^\"\]]*)", attributes)
    if found is None:
        return 0
    spec = found.group(1).strip()
    repeat = re.match(r"(\d+)\*", spec)
    if repeat:
        return int(repeat.group(1))
    return len([part for part in spec.split(",") if part.strip()])


def _implicit_header(reader: _Reader, cells: list[_Cell], columns: int) -> bool:
    """The first line is the header when it holds every column and a blank line follows it."""
    line = cells[0].line
    on_first = [c for c in cells if c.line == line]
    return len(on_first) == columns and line + 1 < len(reader.lines) and not reader.lines[line + 1].strip()


def _list(reader: _Reader, at: At) -> int | None:
    """A list: its items (with their wrapped lines and the blocks attached with "+"), one block."""
    i, hi, _ = at
    if not _starts_item(reader.lines[i]):
        return None
    first = i
    end = i
    while end < hi and _starts_item(reader.lines[end]):
        item = _LIST_ITEM.match(reader.lines[end])
        end = _item(reader, end, hi, item.end() if item else 0)
        after = end
        while after < hi and not reader.lines[after].strip():
            after += 1
        if after >= hi or not _starts_item(reader.lines[after]):
            break
        end = after
    reader.block(*reader.span(first, end), "list")
    return end


def _starts_item(line: str) -> bool:
    return bool(_LIST_ITEM.match(line) or _DESCRIPTION.match(line))


def _item(reader: _Reader, i: int, hi: int, column: int) -> int:
    """One item from its text's column: its lines, then the blocks attached with "+"."""
    end = i + 1
    while end < hi and reader.lines[end].strip() and not _is_block_start(reader.lines[end]):
        if _DESCRIPTION.match(reader.lines[end]):
            break
        end += 1
    s, e = reader.span(i, end, column)
    reader.prose(s, e, bullet=True)
    reader.in_item += 1
    while end < hi and reader.lines[end].strip() == _CONTINUATION:
        reader.block(*reader.span(end, end + 1), "boilerplate")
        nxt = _one_block(reader, end + 1, hi)
        end = nxt
    reader.in_item -= 1
    return end


def _one_block(reader: _Reader, i: int, hi: int) -> int:
    """Read the single block that starts at line i (an attached list block); the line after it."""
    while i < hi and (_BLOCK_ATTRIBUTES.match(reader.lines[i]) or _BLOCK_TITLE.match(reader.lines[i])):
        _block_line(reader, At(i, hi, False))
        i += 1
    if i >= hi:
        return i
    for step in (_delimited, _table):
        end = step(reader, At(i, hi, False))
        if end is not None:
            return end
    end = _paragraph_end(reader, i, hi)
    reader.prose(*reader.span(i, end))
    return end


def _literal(reader: _Reader, at: At) -> int | None:
    """An indented paragraph: a literal block (code)."""
    i, hi, _ = at
    if indent_of(reader.lines[i]) == 0:
        return None
    end = i + 1
    while end < hi and reader.lines[end].strip():
        end += 1
    reader.block(*reader.span(i, end), "code")
    reader.code(i, end)
    _take_pending(reader)
    return end


_STEPS = (_section, _attribute_entry, _comment, _block_line, _delimited, _table, _list, _literal)


def _read(reader: _Reader, lo: int, hi: int, top: bool) -> None:
    """Read lines ``[lo, hi)`` into blocks, units and views."""
    i = lo
    while i < hi:
        if not reader.lines[i].strip():
            i += 1
            continue
        end: int | None = None
        for step in _STEPS:
            end = step(reader, At(i, hi, top))
            if end is not None:
                break
        if end is None:
            end = _paragraph_end(reader, i, hi)
            s, e = reader.span(i, end)
            reader.block(s, e, "para")
            reader.prose(s, e)
            _take_pending(reader)
        i = end


def parse_asciidoc(text: str) -> Structure:
    """Read an AsciiDoc document (sections, paragraphs, lists, tables, delimited blocks, code).

    Args:
        text: The verbatim document text.

    Returns:
        Its `Structure`; every span is an offset range into `text`. Its title is the document
        title (``= Title``).
    """
    reader = _Reader.of(text, clean_adoc)
    reader.clean = lambda source: clean_adoc(source, reader.attributes)
    _read(reader, 0, len(reader.lines), top=True)
    title = next((b.label for b in reader.blocks if b.kind == "heading" and b.level == 1), None)
    return reader.structure(title)
