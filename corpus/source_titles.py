"""The titles of markup sources: a reStructuredText document's first section title, an AsciiDoc
document's ``= Title``.

The adornment rule is shared with the index's reStructuredText reader (`index.rst`), which reads
every section; the loader needs only the first, to name the document.
"""

from __future__ import annotations

import re

# A line of one punctuation character repeated (at least three times): a section title's over- or
# underline, or alone a transition. The characters are the specification's list.
ADORNMENT = re.compile(r"^([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])\1{2,}[ \t]*$")


def is_underline(title: str, line: str) -> bool:
    """`line` adorns `title` (a line of text, not indented and not itself an adornment)."""
    return (
        bool(ADORNMENT.match(line))
        and bool(title.strip())
        and not title[:1].isspace()
        and not ADORNMENT.match(title)
        and len(line.rstrip()) >= min(len(title.rstrip()), 4)
    )


def rst_title(text: str) -> str | None:
    """The first section title, over- and underlined or underlined only; None without one.

    >>> rst_title(":orphan:\\n\\n.. _top:\\n\\n=====\\nGuide\\n=====\\n\\nIntro\\n-----\\n")
    'Guide'
    """
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        if i and lines[i - 1].strip() and not ADORNMENT.match(lines[i - 1]):
            continue  # a title starts after a blank line (or an overline)
        if ADORNMENT.match(lines[i]) and i + 2 < len(lines) and lines[i + 2].strip() == lines[i].strip():
            if lines[i + 1].strip():
                return lines[i + 1].strip()
        if is_underline(lines[i], lines[i + 1]) and not lines[i].startswith(("..", ":")):
            return lines[i].strip()
    return None


_ASCIIDOC_TITLE = re.compile(r"^=[ \t]+(\S.*?)[ \t]*$")


def asciidoc_title(text: str) -> str | None:
    """The document title of an AsciiDoc header (``= Title``, after comments and blank lines).

    >>> asciidoc_title("// draft\n= Pager Guide\n:toc:\n")
    'Pager Guide'
    """
    for line in text.split("\n"):
        if not line.strip() or line.startswith("//"):
            continue
        found = _ASCIIDOC_TITLE.match(line)
        return found.group(1) if found else None
    return None
