"""What the line-by-line readers of markup formats share (reStructuredText, AsciiDoc).

Those formats define their blocks by lines (indentation, blank lines, delimiter lines), so their
readers walk the lines and record, for every block, sentence, table row and code block, the exact
character span of the verbatim file. `LineReader` keeps the file, its line starts and what has
been read; the format's own module decides what each line starts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Self

from index.markup import row_display
from index.sentences import split_sentences, trim_span
from index.structure import Block, BlockKind, Structure, Unit, first_heading, merge_leadins


class At(NamedTuple):
    """Where a reading step starts: its line, the end of the region, whether it is the top level
    (where section titles may be)."""

    line: int
    hi: int
    top: bool


def indent_of(line: str) -> int:
    """The width of a line's leading spaces and tabs."""
    return len(line) - len(line.lstrip(" \t"))


@dataclass
class LineReader:
    """A document being read line by line.

    Attributes:
        text: The verbatim document text.
        lines: Its lines (without their line ends).
        starts: The offset where each line starts.
        clean: The format's cleaner of inline markup (span source → readable text).
        in_item: Above 0 inside a list item: what is read there belongs to the list's block.
    """

    text: str
    lines: list[str]
    starts: list[int]
    clean: Callable[[str], str]
    blocks: list[Block] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    views: list[Unit] = field(default_factory=list)
    in_item: int = 0

    @classmethod
    def of(cls, text: str, clean: Callable[[str], str]) -> Self:
        """A reader at the start of `text`."""
        lines = text.split("\n")
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        return cls(text, lines, starts, clean)

    def span(self, first: int, last: int, column: int = 0) -> tuple[int, int]:
        """Character span of lines ``[first, last)`` from `column` of the first, whitespace trimmed."""
        return self.trim(self.starts[first] + column, self.end_of(last))

    def end_of(self, last: int) -> int:
        """Where the lines before line `last` end (the text's end when `last` is past them)."""
        return self.starts[last] - 1 if last < len(self.starts) else len(self.text)

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """The span without its surrounding whitespace."""
        return trim_span(self.text, start, end)

    def block(self, start: int, end: int, kind: BlockKind, level: int = 0, label: str = "") -> None:
        if end > start and not self.in_item:
            self.blocks.append(Block(start, end, kind, level, label))

    def prose(self, start: int, end: int, bullet: bool = False) -> None:
        """A paragraph or item: its view and its sentences."""
        display = self.clean(self.text[start:end])
        if not any(ch.isalnum() for ch in display):
            return
        self.views.append(Unit(start, end, f"• {display}" if bullet else display))
        for s, e in split_sentences(self.text, start, end, wrapped=True):
            shown = self.clean(self.text[s:e])
            if any(ch.isalnum() for ch in shown):
                self.units.append(Unit(s, e, shown))

    def code(self, first: int, last: int) -> None:
        """Lines ``[first, last)`` as a code view (shown with the passage, never an answer)."""
        start, end = self.span(first, last)
        if end > start:
            body = textwrap.dedent("\n".join(self.lines[first:last])).strip("\n")
            self.views.append(Unit(start, end, body, code=True))

    def row(self, start: int, end: int, header: list[str], cells: list[str]) -> None:
        """A table row: an answer unit that names its columns (the header row: a view only)."""
        display = row_display(header, cells)
        if display:
            self.units.append(Unit(start, end, display))
            self.views.append(Unit(start, end, display))

    def header(self, start: int, end: int, cells: list[str]) -> None:
        self.views.append(Unit(start, end, " | ".join(c for c in cells if c)))

    def extent(self, first: int, hi: int, indent: int) -> int:
        """The line after the body that starts at `first`: the lines more indented than `indent`
        (or blank) that follow it."""
        j = first + 1
        while j < hi and (not self.lines[j].strip() or indent_of(self.lines[j]) > indent):
            j += 1
        while j > first + 1 and not self.lines[j - 1].strip():
            j -= 1
        return j

    def structure(self, title: str | None = None) -> Structure:
        """What was read, in document order; titled `title`, else by the first heading."""
        blocks = merge_leadins(self.text, sorted(self.blocks, key=lambda b: b.start))
        return Structure(
            blocks=tuple(blocks),
            units=tuple(sorted(self.units, key=lambda u: u.start)),
            views=tuple(sorted(self.views, key=lambda u: u.start)),
            title=title or first_heading(blocks),
        )
