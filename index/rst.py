"""Read a reStructuredText document's structure (Sphinx and docutils sources), offsets verbatim.

Why a reader of our own and not docutils: docutils builds a document tree whose nodes know their
source line at best, not their character span, and it resolves roles and directives that only a
Sphinx project's configuration defines (it reports errors for every ``:ref:`` and
``.. automodule::``). Citations need the verbatim span of every block, sentence and table row, so
the blocks of reStructuredText are found line by line, the way its specification defines them:
indentation, blank lines, section adornments, ``..`` explicit markup and ``::`` literal blocks.

What comes out (`Structure`), as for Markdown:
- blocks: section titles (levels by the order their adornment styles first appear), paragraphs,
  lists (with the paragraph that introduces them), tables (grid, simple and ``list-table``),
  code (literal blocks, ``code-block`` and other code directives, doctest blocks) and boilerplate
  (comments, link targets, substitution definitions, ``toctree``/``image``/``include`` and other
  directives without words for readers, a document's leading field list);
- answer units: sentences of paragraphs and list items (wrapped lines joined), table rows that name
  their columns; the text of admonitions (``note``, ``warning`` ...) and of other directives is
  read as prose, and an object's signature (``.. py:function:: send(message)``) heads its text;
- views: the readable text of each paragraph, item, row and code block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.source_titles import ADORNMENT as _ADORNMENT
from corpus.source_titles import is_underline
from index.line_reader import At, LineReader, indent_of
from index.markup import CODE_DIRECTIVES, SILENT_DIRECTIVES, HeldAside, role_text
from index.structure import Structure, Unit

_BULLET = re.compile(r"^([ \t]*)([-*+•‣⁃])([ \t]+)\S")
_ENUMERATED = re.compile(r"^([ \t]*)(\d{1,3}[.)]|#[.)]|\(\d{1,3}\)|[a-z][.)]|[A-Z]\))([ \t]+)\S")
_FIELD = re.compile(r"^([ \t]*):([^:\s][^:]*):(?:[ \t]+|$)")
_EXPLICIT = re.compile(r"^([ \t]*)\.\.(?:[ \t]+|$)")
_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+([\w:.+-]+)[ \t]*::(?:[ \t]+(.*))?$")
_TARGET = re.compile(r"^[ \t]*\.\.[ \t]+(?:_|__:|\|[^|]+\|)")
_GRID_BORDER = re.compile(r"^[ \t]*\+(?:[-=]+\+)+[ \t]*$")
_SIMPLE_RULE = re.compile(r"^[ \t]*=+(?:[ \t]+=+)+[ \t]*$")
# Admonitions: their first line may already be their text (``.. note:: Back up first.``).
_ADMONITIONS = frozenset(
    "attention caution danger error hint important note tip warning seealso todo admonition".split()
)
# Directives whose argument names what their content is about: a minor heading over it.
_TITLED = frozenset("rubric topic sidebar admonition tab tab-item card dropdown grid-item-card".split())

# Inline markup, removed for display (the words a reader sees are kept).
_ROLE = re.compile(r":[\w:.+-]+:`((?:[^`\\]|\\.){1,1000})`")
_INTERPRETED = re.compile(r"`((?:[^`\\]|\\.){1,1000})`(?::[\w:.+-]+:)?(?:__?)?")
_LITERAL = re.compile(r"``(.{1,1000}?)``", re.S)
_STRONG = re.compile(r"\*\*(?=\S)(.{1,1000}?)(?<=\S)\*\*", re.S)
_EMPH = re.compile(r"(?<![\w*])\*(?=\S)([^*]{1,1000}?)(?<=\S)\*(?![\w*])")
_SUBSTITUTION = re.compile(r"\|(?=\S)([^|\n]{1,1000}?)(?<=\S)\|(?:__?)?")
_FOOTNOTE_REF = re.compile(r"[ \t]?\[(?:#[\w-]*|\*|\d+|[\w.-]+)\]_")
_REFERENCE = re.compile(r"(?<=\w)__?(?=[\s.,;:!?)]|$)")
_ESCAPE = re.compile(r"\\(.)", re.S)


def clean_rst(text: str) -> str:
    """The readable text of a reStructuredText span: roles, literals, emphasis, references and
    footnote marks removed, the words kept, lines joined.

    >>> clean_rst("Call :func:`~app.send` with ``--force``, see `the guide <https://x.y>`_ [#]_.")
    'Call send with --force, see the guide.'
    """
    # Literals and escaped characters are text as typed ("``a *b*``", "\\*"): held aside while
    # the markup around them is removed.
    held = HeldAside()
    text = _LITERAL.sub(lambda m: held.hold(m.group(1)), text)
    text = _ESCAPE.sub(lambda m: held.hold("" if m.group(1).isspace() else m.group(1)), text)
    text = _ROLE.sub(lambda m: role_text(m.group(1)), text)
    text = _INTERPRETED.sub(lambda m: role_text(m.group(1)), text)
    text = _STRONG.sub(r"\1", text)
    text = _EMPH.sub(r"\1", text)
    text = _SUBSTITUTION.sub(r"\1", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _REFERENCE.sub("", text)
    text = held.release(text)
    text = " ".join(text.split())
    if text.endswith(" ::"):
        text = text[:-3]
    elif text.endswith("::"):
        text = text[:-1]
    return text


@dataclass
class _Reader(LineReader):
    """A reStructuredText document being read: also the section adornment styles seen so far."""

    styles: list[tuple[str, bool]] = field(default_factory=list)

    def level(self, char: str, overline: bool) -> int:
        style = (char, overline)
        if style not in self.styles:
            self.styles.append(style)
        return min(self.styles.index(style) + 1, 6)


def _paragraph_end(reader: _Reader, i: int, hi: int, indent: int) -> int:
    """The line after a paragraph that starts at line i and goes on in lines indented `indent`."""
    j = i + 1
    while j < hi and reader.lines[j].strip() and indent_of(reader.lines[j]) == indent:
        if _GRID_BORDER.match(reader.lines[j]) or _SIMPLE_RULE.match(reader.lines[j]):
            break
        j += 1
    return j


def _title(reader: _Reader, i: int, hi: int, top: bool) -> int | None:
    """A section title at line i (underlined, or over- and underlined); the next line, or None."""
    lines = reader.lines
    if not top:
        return None
    over = _ADORNMENT.match(lines[i])
    if over and i + 2 < hi and lines[i + 1].strip() and lines[i + 2].strip() == lines[i].strip():
        label = clean_rst(lines[i + 1])
        reader.block(*reader.span(i, i + 3), "heading", reader.level(over.group(1), True), label)
        return i + 3
    under = _ADORNMENT.match(lines[i + 1]) if i + 1 < hi else None
    if under and is_underline(lines[i], lines[i + 1]):
        label = clean_rst(lines[i])
        reader.block(*reader.span(i, i + 2), "heading", reader.level(under.group(1), False), label)
        return i + 2
    return None


def _explicit(reader: _Reader, i: int, hi: int) -> int:
    """A ``..`` construct at line i: directive, comment, target, footnote; the line after it."""
    line = reader.lines[i]
    indent = indent_of(line)
    end = reader.extent(i, hi, indent)
    directive = _DIRECTIVE.match(line)
    if directive is None or _TARGET.match(line):
        footnote = re.match(r"^[ \t]*\.\.[ \t]+\[[^\]]+\][ \t]+", line)
        if footnote and not _TARGET.match(line):
            reader.block(*reader.span(i, end), "para")
            reader.prose(*reader.span(i, end, footnote.end()))
        else:
            reader.block(*reader.span(i, end), "boilerplate")
        return end
    name = directive.group(1).lower()
    short = name.rsplit(":", 1)[-1]
    argument = (directive.group(2) or "").strip()
    body = i + 1
    while body < end and _FIELD.match(reader.lines[body]) and indent_of(reader.lines[body]) > indent:
        body += 1  # the directive's options
    if short in CODE_DIRECTIVES:
        reader.block(*reader.span(i, end), "code")
        reader.code(body, end)
        return end
    if short in SILENT_DIRECTIVES:
        reader.block(*reader.span(i, end), "boilerplate")
        return end
    if short == "list-table":
        _list_table(reader, i, body, end)
        return end
    if short in _ADMONITIONS and short != "admonition":
        if argument:
            column = indent + line.lstrip().index("::") + 2
            follow = indent_of(reader.lines[i + 1]) if i + 1 < end and reader.lines[i + 1].strip() else -1
            body = _paragraph_end(reader, i, end, follow)
            s, e = reader.span(i, body, column)
            reader.block(s, e, "para")
            reader.prose(s, e)
    elif argument:
        s, e = reader.span(i, body)
        if short in _TITLED or short in _OBJECTS or ":" in name:
            reader.block(s, e, "heading", 7, clean_rst(argument))
        else:
            reader.block(s, e, "boilerplate")
    else:
        reader.block(*reader.span(i, body), "boilerplate")
    _read(reader, body, end, top=False)
    return end


# Sphinx object directives without a domain prefix (``.. function:: send(message)``).
_OBJECTS = frozenset("function class method attribute data exception option envvar describe object".split())


def _list_table(reader: _Reader, i: int, body: int, end: int) -> None:
    """A ``list-table``: each top-level bullet a row, its nested bullets the cells."""
    reader.block(*reader.span(i, end), "table")
    header_rows = 0
    for j in range(i + 1, body):
        option = re.match(r"^[ \t]*:header-rows:[ \t]*(\d+)", reader.lines[j])
        if option:
            header_rows = int(option.group(1))
    rows: list[tuple[int, int, list[str]]] = []
    row_indent: int | None = None
    for j in range(body, end):
        bullet = _BULLET.match(reader.lines[j])
        if not bullet:
            continue
        indent = len(bullet.group(1))
        if row_indent is None:
            row_indent = indent
        if indent == row_indent:
            rows.append((j, reader.extent(j, end, indent), []))
    header: list[str] = []
    for n, (first, last, cells) in enumerate(rows):
        j = first
        while j < last:
            cell = re.match(r"^[ \t]*(?:[-*+][ \t]+)?[-*+][ \t]+", reader.lines[j])
            if cell and (j == first or _BULLET.match(reader.lines[j])):
                cell_end = reader.extent(j, last, indent_of(reader.lines[j]) if j > first else cell.end() - 2)
                s, e = reader.span(j, cell_end, cell.end())
                cells.append(clean_rst(reader.text[s:e]))
                j = cell_end
            else:
                j += 1
        start, stop = reader.span(first, last)
        if n < header_rows:
            header = cells
            reader.header(start, stop, cells)
            continue
        reader.row(start, stop, header, cells)


def _grid_table(reader: _Reader, i: int, hi: int) -> int:
    """A grid table (``+---+---+`` borders); the line after it."""
    lines = reader.lines
    end = i
    while end < hi and lines[end].strip().startswith(("+", "|")):
        end += 1
    reader.block(*reader.span(i, end), "table")
    border = lines[i]
    cuts = [k for k, ch in enumerate(border) if ch == "+"]
    header: list[str] = []
    row_first = i + 1
    for j in range(i + 1, end):
        if not _GRID_BORDER.match(lines[j]) and not lines[j].strip().startswith("+"):
            continue
        parts: list[list[str]] = [[] for _ in cuts[:-1]]
        for line in lines[row_first:j]:
            for k in range(len(cuts) - 1):
                parts[k].append(line[cuts[k] + 1 : cuts[k + 1]].strip(" |"))
        cells = [clean_rst(" ".join(p)) for p in parts]
        start, stop = reader.span(row_first, j)
        if "=" in lines[j] and not header:
            header = cells
            reader.header(start, stop, cells)
        elif any(cells):
            reader.row(start, stop, header, cells)
        row_first = j + 1
    return end


def _simple_table(reader: _Reader, i: int, hi: int) -> int:
    """A simple table (columns under ``=====  =====`` rules); the line after it."""
    lines = reader.lines
    rules = [i]
    j = i + 1
    while j < hi:
        if _SIMPLE_RULE.match(lines[j]):
            rules.append(j)
            if j + 1 >= hi or not lines[j + 1].strip():
                break
        j += 1
    end = rules[-1] + 1
    reader.block(*reader.span(i, end), "table")
    columns = [m.span() for m in re.finditer(r"=+", lines[i])]
    header: list[str] = []
    has_header = len(rules) >= 3
    for j in range(i + 1, rules[-1]):
        line = lines[j]
        if j in rules or not line.strip() or re.fullmatch(r"[ \t=-]+", line):
            continue
        cells = []
        for k, (lo, _) in enumerate(columns):
            stop = columns[k + 1][0] if k + 1 < len(columns) else len(line)
            cells.append(clean_rst(line[lo:stop]))
        start, stop = reader.span(j, j + 1)
        if has_header and j < rules[1]:
            header = cells
            reader.header(start, stop, cells)
            continue
        reader.row(start, stop, header, cells)
    return end


def _item(reader: _Reader, i: int, hi: int, marker_end: int) -> int:
    """A list item at line i whose text starts at column `marker_end`; the line after it."""
    indent = indent_of(reader.lines[i])
    end = reader.extent(i, hi, indent)
    first_end = _paragraph_end(reader, i, end, marker_end)
    s, e = reader.span(i, first_end, marker_end)
    reader.prose(s, e, bullet=True)
    reader.in_item += 1
    _read(reader, first_end, end, top=False)
    reader.in_item -= 1
    return end


def _transition(reader: _Reader, at: At) -> int | None:
    """A line of four or more adornment characters alone: a transition, nothing to read."""
    i, _, _ = at
    line = reader.lines[i]
    if not (_ADORNMENT.match(line) and len(line.strip()) >= 4):
        return None
    reader.block(*reader.span(i, i + 1), "boilerplate")
    return i + 1


def _field(reader: _Reader, at: At) -> int | None:
    """A field (``:Version: 2.1``): the document's metadata before its first content, else an item."""
    i, hi, top = at
    found = _FIELD.match(reader.lines[i])
    if found is None:
        return None
    end = reader.extent(i, hi, indent_of(reader.lines[i]))
    if top and not any(b.kind != "boilerplate" for b in reader.blocks):
        reader.block(*reader.span(i, end), "boilerplate")
        return end
    reader.block(*reader.span(i, end), "list")
    name = clean_rst(found.group(2))
    s, e = reader.span(i, end, found.end())
    value = clean_rst(reader.text[s:e])
    if value:
        reader.views.append(Unit(s, e, f"• {name}: {value}"))
        reader.units.append(Unit(s, e, f"{name}: {value}"))
    return end


def _doctest(reader: _Reader, at: At) -> int | None:
    """A doctest block (``>>> ...`` up to a blank line): code."""
    i, hi, _ = at
    if not reader.lines[i].lstrip().startswith(">>>"):
        return None
    end = i + 1
    while end < hi and reader.lines[end].strip():
        end += 1
    reader.block(*reader.span(i, end), "code")
    reader.code(i, end)
    return end


def _quote(reader: _Reader, at: At) -> int | None:
    """An indented block at the top level (a block quote): read as prose."""
    i, hi, top = at
    indent = indent_of(reader.lines[i])
    if not (top and indent > 0):
        return None
    end = i + 1
    while end < hi and (not reader.lines[end].strip() or indent_of(reader.lines[end]) >= indent):
        end += 1
    _read(reader, i, end, top=False)
    return end


def _definition(reader: _Reader, at: At) -> int | None:
    """A definition list item: a one-line term, then its indented definition (the term heads it)."""
    i, hi, _ = at
    lines = reader.lines
    indent = indent_of(lines[i])
    if not (i + 1 < hi and lines[i + 1].strip() and indent_of(lines[i + 1]) > indent):
        return None
    end = reader.extent(i, hi, indent)
    reader.block(*reader.span(i, i + 1), "heading", 7, clean_rst(lines[i]))
    _read(reader, i + 1, end, top=False)
    return end


def _literal(reader: _Reader, i: int, hi: int) -> int | None:
    """The literal block after a paragraph that ends with "::" (more indented than it), or None."""
    end = reader.extent(i - 1, hi, indent_of(reader.lines[_previous(reader.lines, i)]))
    if end <= i:
        return None
    reader.block(*reader.span(i, end), "code")
    reader.code(i, end)
    return end


def _paragraph(reader: _Reader, i: int, hi: int) -> tuple[int, bool]:
    """A paragraph; the line after it, and whether a literal block follows ("... as follows::")."""
    end = _paragraph_end(reader, i, hi, indent_of(reader.lines[i]))
    s, e = reader.span(i, end)
    source = reader.text[s:e].rstrip()
    if source == "::":
        reader.block(s, e, "boilerplate")
    else:
        reader.block(s, e, "para")
        reader.prose(s, e)
    return end, source.endswith("::")


def _title_step(reader: _Reader, at: At) -> int | None:
    i, hi, top = at
    return _title(reader, i, hi, top)


def _explicit_step(reader: _Reader, at: At) -> int | None:
    i, hi, _ = at
    return _explicit(reader, i, hi) if _EXPLICIT.match(reader.lines[i]) else None


def _table_step(reader: _Reader, at: At) -> int | None:
    i, hi, _ = at
    if _GRID_BORDER.match(reader.lines[i]):
        return _grid_table(reader, i, hi)
    if _SIMPLE_RULE.match(reader.lines[i]):
        return _simple_table(reader, i, hi)
    return None


# What a non-blank line that is not a list item may start, tried in this order; a paragraph if none.
_STEPS = (_explicit_step, _table_step, _transition, _field, _doctest, _quote, _definition)


def _read(reader: _Reader, lo: int, hi: int, top: bool) -> None:
    """Read lines ``[lo, hi)`` into blocks, units and views."""
    i = lo
    literal = False
    list_start: int | None = None
    while i < hi:
        line = reader.lines[i]
        if not line.strip():
            i += 1
            continue
        end = _literal(reader, i, hi) if literal else None
        literal = False
        if end is None:
            end = _title_step(reader, At(i, hi, top))
        item = _BULLET.match(line) or _ENUMERATED.match(line) if end is None else None
        if list_start is not None and item is None:
            reader.block(*reader.span(list_start, i), "list")
            list_start = None
        if item is not None:
            list_start = i if list_start is None else list_start
            end = _item(reader, i, hi, len(item.group(1)) + len(item.group(2)) + len(item.group(3)))
        for step in _STEPS:
            if end is not None:
                break
            end = step(reader, At(i, hi, top))
        if end is None:
            end, literal = _paragraph(reader, i, hi)
        i = end
    if list_start is not None:
        reader.block(*reader.span(list_start, hi), "list")


def _previous(lines: list[str], i: int) -> int:
    j = i - 1
    while j > 0 and not lines[j].strip():
        j -= 1
    return j


def parse_rst(text: str) -> Structure:
    """Read a reStructuredText document (sections, paragraphs, lists, tables, directives, code).

    Args:
        text: The verbatim document text.

    Returns:
        Its `Structure`; every span is an offset range into `text`.
    """
    reader = _Reader.of(text, clean_rst)
    _read(reader, 0, len(reader.lines), top=True)
    return reader.structure()
