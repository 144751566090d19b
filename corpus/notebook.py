"""Jupyter notebooks (``.ipynb``) as Markdown: their Markdown cells as written, code cells fenced.

A notebook is JSON; what a reader of the rendered notebook sees is its Markdown cells and its
code. The text citations point into is the cells joined in order, a blank line apart, each code
cell written as a fenced block in the notebook's language, so the Markdown reader reads headings,
lists, tables and code as it does for any ``.md`` file (a code cell is never an answer to a prose
question). Outputs (printed values, images, HTML tables rendered by a kernel) are left out: they
are what a run produced, not what the author wrote. Raw cells are left out too.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["NotANotebook", "notebook_to_markdown"]


class NotANotebook(ValueError):
    """The file is not a Jupyter notebook (not JSON, or no cells)."""


def _source(cell: dict[str, Any], key: str = "source") -> str:
    value = cell.get(key, "")
    if isinstance(value, list):
        text = "".join(part for part in value if isinstance(part, str))
    else:
        text = value if isinstance(value, str) else ""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _fenced(code: str, language: str) -> str:
    """A code cell as a fenced block, its fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells of an nbformat 4 notebook, or of the worksheets of an nbformat 3 one."""
    if isinstance(notebook.get("cells"), list):
        return [c for c in notebook["cells"] if isinstance(c, dict)]
    sheets = notebook.get("worksheets")
    if isinstance(sheets, list):
        return [c for s in sheets if isinstance(s, dict) for c in s.get("cells", []) if isinstance(c, dict)]
    raise NotANotebook("no cells (not a Jupyter notebook)")


def _language(metadata: dict[str, Any]) -> str:
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        value = section.get(field) if isinstance(section, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip().split()[0].lower()
    return "python"


def notebook_to_markdown(raw: str) -> tuple[str, str | None]:
    """The notebook's Markdown-like text and its title (the ``title`` in its metadata, if any).

    Raises:
        NotANotebook: `raw` is not JSON, or holds no cells.

    Example:
        >>> nb = '{"cells": [{"cell_type": "markdown", "source": ["# Setup"]},'
        >>> nb += ' {"cell_type": "code", "source": "pip install x", "outputs": []}], "metadata": {}}'
        >>> notebook_to_markdown(nb)[0]
        '# Setup\\n\\n```python\\npip install x\\n```\\n'
    """
    try:
        notebook = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotANotebook(f"not valid JSON (line {exc.lineno}): not a Jupyter notebook") from exc
    except RecursionError as exc:
        raise NotANotebook("JSON nested too deeply: not a Jupyter notebook") from exc
    if not isinstance(notebook, dict):
        raise NotANotebook("not a JSON object (not a Jupyter notebook)")
    found = notebook.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    language = _language(metadata)
    parts: list[str] = []
    for cell in _cells(notebook):
        kind = cell.get("cell_type")
        if kind in ("markdown", "heading"):  # nbformat 3 kept headings in cells of their own
            text = _source(cell)
            level = cell.get("level")
            if kind == "heading" and isinstance(level, int) and 1 <= level <= 6 and text:
                text = f"{'#' * level} {text}"
            if text.strip():
                parts.append(text)
        elif kind == "code":
            code = _source(cell) or _source(cell, "input")
            if code.strip():
                parts.append(_fenced(code, language))
    title = metadata.get("title")
    return "\n\n".join(parts) + "\n", title.strip() if isinstance(title, str) and title.strip() else None
