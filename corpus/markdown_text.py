"""Markdown-like text that readers of structured formats write, so the index's Markdown parser reads
their headings, lists and tables (``meta["format"] = "markdown"``).

Used by the Word/PowerPoint reader (`corpus.office`) and the HTML reader (`corpus.html`).
"""

from __future__ import annotations

from collections.abc import Sequence


def one_line(text: str) -> str:
    """The text with every run of whitespace (line breaks included) made one space."""
    return " ".join(text.split())


def _cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def gfm_table(rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table: the first row is the header, short rows are padded.

    Returns:
        The table's lines (no trailing newline), or ``""`` when every cell is empty.
    """
    if not any(cell.strip() for row in rows for cell in row):
        return ""
    width = max(len(row) for row in rows)
    cells = [[_cell(cell) for cell in row] + [""] * (width - len(row)) for row in rows]
    lines = [cells[0], ["---"] * width, *cells[1:]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
