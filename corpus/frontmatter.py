"""YAML front matter of Markdown files (``---`` … ``---`` at the very top): read, never indexed.

Static-site generators (Jekyll, Hugo, MkDocs, Docusaurus) keep a page's title and settings there.
The title names the document; the rest is configuration and stays out of chunks and answers.
"""

from __future__ import annotations

import re

import yaml

_OPEN = re.compile(r"\A(?:\ufeff)?(---|\+\+\+)[ \t]*\n")


def front_matter_end(text: str) -> int:
    """Offset just past the closing fence of the front matter, or 0 when the text has none."""
    opening = _OPEN.match(text)
    if not opening:
        return 0
    fence = opening.group(1)
    closing = re.compile(rf"^(?:{re.escape(fence)}|\.\.\.)[ \t]*$", re.M).search(text, opening.end())
    if closing is None:
        return 0
    return min(len(text), closing.end() + 1)


def front_matter(text: str) -> dict[str, object]:
    """The front matter as a mapping (empty when absent or not valid YAML/TOML-ish key = value)."""
    end = front_matter_end(text)
    if not end:
        return {}
    body = text[text.index("\n") + 1 : end]
    body = body[: body.rstrip().rfind("\n") + 1] if "\n" in body.rstrip() else ""
    if text.lstrip("\ufeff").startswith("+++"):
        pairs = (re.match(r"^\s*(\w+)\s*=\s*\"?(.*?)\"?\s*$", line) for line in body.splitlines())
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
