"""YAML front matter of Markdown files (``---`` … ``---`` at the very top): read, never indexed.

Static-site generators (Jekyll, Hugo, MkDocs, Docusaurus) keep a page's title and settings there.
The title names the document; the rest is configuration and stays out of chunks and answers.
A page that merely opens with a thematic break (``---``, a blank line, prose) has no front matter:
the block between the fences must start with a ``key:`` / ``key =`` line (or a comment), or be empty.
"""

from __future__ import annotations

import re

import yaml

_OPEN = re.compile(r"\A(?:\ufeff)?(---|\+\+\+)[ \t]*\n")
_FIRST_LINE = re.compile(r"\A[ \t]*(?:#|[\w\"'.-][^:=\n]*?[ \t]*(?::(?=\s)|=))")
_TOML_PAIR = re.compile(r"^\s*(\w+)\s*=\s*\"?(.*?)\"?\s*$")


def _body(text: str) -> tuple[str, int] | None:
    """The front matter's body and the offset just past its closing fence, when there is one."""
    opening = _OPEN.match(text)
    if not opening:
        return None
    fence = opening.group(1)
    closing = re.compile(rf"^(?:{re.escape(fence)}|\.\.\.)[ \t]*$", re.M).search(text, opening.end())
    if closing is None:
        return None
    body = text[opening.end() : closing.start()]
    if body.strip() and not _FIRST_LINE.match(body.lstrip("\n")):
        return None
    return body, min(len(text), closing.end() + 1)


def front_matter_end(text: str) -> int:
    """Offset just past the closing fence (and its newline) of the front matter; 0 when there is none."""
    found = _body(text)
    return found[1] if found else 0


def front_matter(text: str) -> dict[str, object]:
    """The front matter as a mapping (empty when absent or not valid YAML/TOML-ish key = value)."""
    found = _body(text)
    if found is None:
        return {}
    body = found[0]
    if text.lstrip("\ufeff").startswith("+++"):
        pairs = (_TOML_PAIR.match(line) for line in body.splitlines())
        return {m.group(1): m.group(2) for m in pairs if m}
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError:
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def front_matter_title(text: str) -> str | None:
    """The ``title`` of the front matter, when it is a non-empty string."""
    title = front_matter(text).get("title")
    if isinstance(title, str | int | float) and str(title).strip():
        return " ".join(str(title).split())
    return None
