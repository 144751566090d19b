"""A careful rule-based sentence splitter that returns exact character spans.

Why rule-based rather than pysbd or nltk punkt: citations need exact offsets into the verbatim
text, our documents are web articles whose line breaks already end most sentences (bullets, table
rows, headings), and a deterministic splitter with no data files cannot drift between the machine
that builds the index and the one that serves it. The rules: a line break always ends a sentence;
inside a line, ``.``, ``!`` or ``?`` (plus closing quotes/brackets) ends one when followed by space and
an upper-case letter, digit, quote or bullet, unless the word before is a known abbreviation or an
initial ("vs.", "e.g.", "Dr.", "J.").
"""

from __future__ import annotations

import re
import string
import unicodedata

_ABBREVIATIONS = frozenset(
    "vs v etc e.g i.e mr mrs ms dr prof inc ltd co corp st jr sr no fig approx dept est u.s a.m p.m cf al".split()  # noqa: E501
)
_END_RE = re.compile(r"[.!?]+[\"'”’)\]*_`]*(?=\s+(?:[\"“'‘(\[•\-–*_`{<]|\*\*)*[A-Z0-9$])")
# A Markdown hard line break: two trailing spaces or a backslash, or an HTML <br>.
_HARD_BREAK = re.compile(r"(?:  +|\\|<br\s*/?>)[ \t]*\n", re.I)
# A bullet or number, and the box of a task-list item ("- [ ] Rotate the token").
_BULLET_RE = re.compile(r"\s*(?:[•\-–*·▪◦]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
# An ordered-list number at the start of a line ("1. Install the agent."): a marker, not a sentence.
_LIST_NUMBER = re.compile(r"[\s>]*\d{1,3}[.)]")
# A number opening emphasis ("within the **03. Provide PO details** section", "from **2. Enable
# the server**"): a step's or form section's number, not a sentence's end.
_EMPHASIZED_NUMBER = re.compile(r"(?:(?<=\s)|^)(?:\*\*?|__?)\d{1,3}\.$")
# Markup a Markdown sentence never ends inside: comments, template tags, code spans, links (their
# text too: "[OMG! Prometheus](…)" is one title) and link targets.
_MARKUP_SPAN = re.compile(
    r"<!--.*?(?:-->|\Z)|\{\{.*?\}\}|\{%.*?%\}|\{\*.*?\*\}|<%.*?%>|(`+)[^`].*?\1"
    r"|\[[^\[\]]{1,300}\]\([^)\n]*\)|\]\([^)\n]*\)",
    re.S,
)
# Trailing characters that do not tell how a line ends: emoji, symbols, closing quotes and brackets.
_TRAILING_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf", "Pe", "Pf", "Zs"})


_WORD_CHARS = frozenset(string.ascii_letters + ".")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the "." at `dot` ends an abbreviation ("e.g.", "Dr.") or an initial ("J.").

    The word is the run of ASCII letters and dots right before it, found by walking back (a
    search from the paragraph's start made splitting a long paragraph quadratic)."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and text[start - 1] in _WORD_CHARS:
        start -= 1
    if start == dot:
        return False
    word = text[start:dot].lower().rstrip(".")
    return word in _ABBREVIATIONS or (len(word) == 1 and text[dot - 1].isupper())


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without the whitespace around ``text[start:end]``."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    start, end = trim_span(text, start, end)
    bullet = _BULLET_RE.match(text, start, end)
    if bullet:
        start = bullet.end()
    return start, end


def last_mark(text: str) -> str:
    """The last character that tells how `text` ends, skipping emoji, symbols and closing quotes.

    Example:
        >>> last_mark("Never deploy on a Friday! 🚀")
        '!'
    """
    for ch in reversed(text):
        if not (ch.isspace() or ch in "\"'*_`" or unicodedata.category(ch) in _TRAILING_CATEGORIES):
            return ch
    return ""


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < pos < e for s, e in spans)


def _lines(text: str, start: int, end: int, protected: list[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """``(content_end, next_start)`` of each "line": every line break, or (wrapped) hard breaks only.

    A hard break's marker (trailing spaces, backslash, ``<br>``) belongs to neither line.
    """
    if protected is None:
        breaks = [(i, i + 1) for i in range(start, end) if text[i] == "\n"]
    else:
        matches = _HARD_BREAK.finditer(text, start, end)
        breaks = [m.span() for m in matches if not _inside(m.start(), protected)]
    return [*breaks, (end, end)]


def split_sentences(
    text: str, start: int = 0, end: int | None = None, *, wrapped: bool = False
) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentences.

    Args:
        text: The whole document text (offsets are absolute into it).
        start: Where the region to split begins.
        end: Where it ends (default: the end of `text`).
        wrapped: The region is one hard-wrapped paragraph (Markdown): a line break is a space,
            only a Markdown hard break (two trailing spaces, a backslash, ``<br>``) ends a line,
            and no sentence ends inside a comment, template tag, code span or link target.

    Returns:
        ``(start, end)`` spans, whitespace and bullet markers trimmed, empty spans dropped, in order.
    """
    end = len(text) if end is None else end
    protected = [m.span() for m in _MARKUP_SPAN.finditer(text, start, end)] if wrapped else None
    spans: list[tuple[int, int]] = []
    line_start = start
    for line_end, next_start in _lines(text, start, end, protected):
        cursor = line_start
        for match in _END_RE.finditer(text, line_start, line_end):
            if (
                _is_abbreviation(text, match.start())
                or _inside(match.start(), protected or [])
                or _LIST_NUMBER.fullmatch(text, cursor, match.end())
                or _EMPHASIZED_NUMBER.search(text, max(line_start, match.start() - 8), match.start() + 1)
            ):
                continue
            spans.append(_trim(text, cursor, match.end()))
            cursor = match.end()
        rest = _trim(text, cursor, line_end)
        if spans and spans[-1][1] <= cursor and _LIST_NUMBER.fullmatch(text, *rest):
            # "The fee rose. 30." -- a number alone after a sentence's end is no sentence (nor a
            # list marker here): it stays with the sentence before it.
            spans[-1] = (spans[-1][0], rest[1])
        else:
            spans.append(rest)
        line_start = next_start
    return [(s, e) for s, e in spans if e > s and any(ch.isalnum() for ch in text[s:e])]
