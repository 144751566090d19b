"""Readable text from a span of Markdown/HTML source: what people see and what the model embeds.

Citations point into the verbatim file, so markup stays in the document text; this module turns any
span of it into clean words for display (`display` in the JSON), embedding and BM25. Template tags
of the common static-site generators (Hugo ``{{< … >}}``, Liquid/Jinja ``{% … %}`` and ``{{ … }}``,
ERB ``<% … %>``,
MkDocs ``{* … *}`` includes and ``///``/``!!!`` admonition lines), HTML comments and tags, link
targets, footnote markers (``[^1]``), heading attributes (``{ #anchor }``) and emphasis markers are
removed; link and image text, inline code and a shortcode's ``text="…"`` parameter (a tooltip's
visible word) are kept. Code spans and backslash escapes are read as CommonMark reads them (left
to right; nothing inside a code span is markup) and shown as typed.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

# Directives whose content is code: shown with the passage, never an answer or embedded.
CODE_DIRECTIVES = frozenset(
    "code code-block code-cell sourcecode literalinclude math doctest testcode testoutput testsetup "
    "testcleanup ipython jupyter-execute prompt productionlist graphviz mermaid uml parsed-literal".split()
)
# Directives with no words for readers (navigation, images, includes, raw output markup, generated
# API pages).
SILENT_DIRECTIVES = frozenset(
    "toctree image include raw eval-rst contents index meta highlight sectnum default-role role "
    "currentmodule module automodule autoclass autofunction automethod autoattribute autodata autoexception "
    "autosummary tabularcolumns target-notes bibliography footbibliography only-html "
    "title".split()
)
# HTML comments, and MDX's JSX comments (``{/* draft */}``).
_COMMENT = re.compile(r"<!--.*?(?:-->|$)|\{/\*.*?(?:\*/\}|$)", re.S)
# An unclosed tag runs to the end of the span (a span may end inside one).
_SHORTCODE = re.compile(r"\{\{[<%]\s*/?\s*[\w./-]*(?P<params>.*?)(?:[%>]\}\}|\Z)", re.S)
_SHORTCODE_TEXT = re.compile(r"\btext=\"([^\"]*)\"")
# Liquid/Jinja tags and Hugo shortcodes are run by the site generator before Markdown is read,
# inside code spans too; ``{{ … }}`` and MkDocs ``{* … *}`` are left as typed inside code.
# ERB/EJS tags (``<%= partial 'banner' %>``, ``# <%= current_page.data.title %>`` in a Middleman
# ``.html.md.erb`` page) likewise, outside code (Markdown about templates quotes them in code).
_TAG_TEMPLATE = re.compile(r"\{%.*?(?:%\}|\Z)", re.S)
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{\*.*?\*\}|<%.*?%>", re.S)
# Emphasis around nothing left (``**{% slack_channel "x" %}**`` once its tag is gone).
_EMPTY_EMPHASIS = re.compile(r"(\*\*|__)\s*\1")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]:?")
_IMAGE = re.compile(r"!\[([^\]]{0,1000})\]\([^)]{0,1000}\)")
# Link text may hold brackets of its own ("[[Draft] Customer list](…)").
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]{0,1000}\]){1,1000})\]\((?:[^()]|\([^)]{0,1000}\)){0,1000}\)")
_REF_LINK = re.compile(r"\[([^\]]{1,1000})\]\[[^\]]{0,1000}\]")
# A shortcut reference link (``[GitHub Pages]`` with ``[GitHub Pages]: https://…`` elsewhere in the
# document): its text, when the document defines the label (else the brackets are the text's own).
_SHORTCUT_LINK = re.compile(r"(?<![\]\\!\w])\[([^\[\]\n]+)\](?![(\[\w])(?!:[ \t]*\S)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_BREAK_TAG = re.compile(r"</?br\s*/?>|</?(?:p|div|li|tr|td|th)\b[^>]*>", re.I)
_TAG = re.compile(r"</?[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?>")
# Attribute lists (``{ #anchor }``, ``{ .md-button }``, ``{ target=_blank }``): markup, not words.
_ATTRS = re.compile(r"\{\s*(?:[#.:]|[\w-]+=)[^{}\n]*\}")
# Emphasis may run over the line breaks of a hard-wrapped paragraph.
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.{1,1000}?)(?<=\S)\1", re.S)
_EMPH_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*]{1,1000}?)(?<=\S)\*(?![\w*])")
_EMPH_UNDER = re.compile(r"(?<![\w_])_(?=\S)([^_]{1,1000}?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.{1,1000}?)(?<=\S)~~", re.S)
# Strong emphasis whose closing marks the author typed after a space ("**All teammates: **Please
# ...", "**<span>Month 1: </span>**"): CommonMark leaves both marks as text, the author meant bold.
# On one line, around no other mark, never inside a word ("2**8", "__init__").
_STRONG_LOOSE = re.compile(r"(?<![\w*_\\])(\*\*|__)(?=[^\s*_])([^*_\n]{1,300}?)\s+\1(?![*_])")
# Marked and inserted text (``==text==``, ``^^text^^``) and keys (``++ctrl+alt+del++``) of
# PyMdown Extensions (MkDocs Material) and other Markdown flavours: their words.
_MARK = re.compile(r"(==|\^\^)(?=\S)(.{1,1000}?)(?<=\S)\1", re.S)
# The half of a strong emphasis that a sentence boundary cut off ("**Submissions are closed." …
# "Submissions reopen later.**"): the marks at the start or end of a span without their pair (a
# space between them and the words is the author's: "seriously. **").
_HALF_EMPHASIS = re.compile(r"^(?:\*\*\*?|___?|~~)(?:(?=\S)|\s+)|(?:(?<=\S)|\s+)(?:\*\*\*?|___?|~~)$")
# The same for emphasis by one mark ("_Note, the docs come from Sprig." … "Sprig is a library._"):
# at the start before a plain word ("_helpers.tpl" is a file's name), at the end after a sentence's
# last punctuation.
_HALF_SINGLE = re.compile(r"^(?:\*_|_\*|[*_])(?=[A-Za-z][A-Za-z'’-]*(?![\w.]))|(?<=[.!?)])(?:\*_|_\*|[*_])$")
_KEYS = re.compile(r"\+\+([A-Za-z0-9][\w-]*(?:\+[\w-]+)*)\+\+")
# A role of MyST Markdown (``{ref}`Install <install-guide>` ``, ``{py:func}`~app.send` ``): its words.
# Never right after a letter, digit, slash or brace: ``CSIMigration{provider}`` and
# ``/users/{user_id}`` are names, in code spans or not.
_MYST_ROLE = re.compile(r"(?<![\w`/{}$\\])\{[A-Za-z][\w:.+-]*\}(`+)(.{1,1000}?)\1", re.S)
# A MyST target line (``(install-guide)=``): a label for cross references, not words.
MYST_TARGET = re.compile(r"^[ \t]*\([^()\s]+\)=[ \t]*$", re.M)
_TARGET_IN_TEXT = re.compile(r"^(.*?)\s*<[^<>]+>$", re.S)
_LINE_MARKERS = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:#{1,6}[ \t]+|[-*+][ \t]+(?:\[[ xX]\][ \t]+)?|\d{1,3}[.)][ \t]+)?", re.M
)
# Admonition and container lines: MkDocs ``///`` blocks and ``!!!``/``???`` admonitions, and the
# ``:::note`` … ``:::`` containers of Docusaurus, VitePress and Pandoc. Their body is the text.
_ADMONITION = re.compile(r"^[ \t]*(?:/{3,}|!{3}|\?{3}\+?|:{3,})[^\n]*$", re.M)
# GitHub's alert marker, the first line of a quote (``> [!WARNING]``): a box's kind, not words.
_ALERT = re.compile(r"^[ \t]*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*", re.M | re.I)
# A content tab's label line (MkDocs ``=== "Python 3.10+"``): the label is shown, not the marker.
# An icon shortcode (``:material-apple:``, ``:octicons-file-code-16:``; MkDocs Material and other
# sites): a picture, not a word. Hyphenated only, so that "ratio 1:2:3" or ":smile:" stay as typed.
_ICON = re.compile(r"(?<![\w:]):[a-z0-9]+(?:-[a-z0-9]+)+:(?![\w:])")
TAB_LABEL = re.compile(r"^[ \t]*={3}[+!]?[ \t]+\"([^\"\n]*)\"[ \t]*$", re.M)
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$", re.M)
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$", re.M)


# A backslash escape (``\(``, ``\*``, ``\_``): the punctuation mark itself, never markup. Held as a
# private-use character while the markup is removed (`_hold_literals`).
_HELD = 0xE000
_HELD_MARK = re.compile("[\ue021-\ue07e]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _release(text: str) -> str:
    return _HELD_MARK.sub(lambda m: chr(ord(m.group(0)) - _HELD), text)


class HeldAside:
    """Pieces of text set aside while the markup around them is removed (code spans, literals,
    escaped characters), each replaced by a marker of private-use characters, put back by
    `release`."""

    _MARKER = re.compile("\ue200(\\d+)\ue201")

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def hold(self, piece: str) -> str:
        """The marker that stands for `piece` until `release`."""
        self._pieces.append(piece)
        return f"\ue200{len(self._pieces) - 1}\ue201"

    def release(self, text: str) -> str:
        """`text` with every marker replaced by the piece it stands for."""
        return self._MARKER.sub(lambda m: self._pieces[int(m.group(1))], text)


_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_LITERAL_START = re.compile(r"[\\`]")
_CODE_CHARS = 1000  # a code span is at most this long (bounds the search for its closing backticks)


@functools.lru_cache(maxsize=16)
def _closing(run: int) -> re.Pattern[str]:
    return re.compile(rf"(?<!`)`{{{run}}}(?!`)")


def _hold_literals(text: str, codes: HeldAside) -> str:
    """Hold backslash escapes and code spans aside, read left to right as CommonMark does: an
    escaped backtick opens no code span, and inside a code span a backslash is just a backslash
    (``\\`` in `` `\\` `` is the span's whole text). Each code span is held in `codes`."""
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        found = _LITERAL_START.search(text, i)
        if found is None:
            out.append(text[i:])
            return "".join(out)
        j = found.start()
        out.append(text[i:j])
        if text[j] == "\\":
            if j + 1 < n and text[j + 1] in _ASCII_PUNCTUATION:
                out.append(chr(_HELD + ord(text[j + 1])))
                i = j + 2
            else:
                out.append("\\")
                i = j + 1
            continue
        k = j
        while k < n and text[k] == "`":
            k += 1
        close = _closing(k - j).search(text, k, min(n, k + _CODE_CHARS + k - j))
        if close is None:
            out.append(text[j:k])  # backticks with no closing run are text
            i = k
            continue
        code = text[k : close.start()].replace("\n", " ")
        if len(code) > 2 and code[0] == code[-1] == " " and code.strip():
            code = code[1:-1]
        out.append(codes.hold(code))
        i = close.end()


def _shortcode(match: re.Match[str]) -> str:
    text = _SHORTCODE_TEXT.search(match.group("params"))
    return text.group(1) if text else " "


def role_text(inner: str) -> str:
    """What a role or hyperlink shows: ``title <target>`` → title, ``~a.b.c`` → c, ``!x`` → x,
    ``.g`` (a target looked up from the current module) → g."""
    titled = _TARGET_IN_TEXT.match(inner)
    if titled and titled.group(1):
        return titled.group(1)
    inner = inner.lstrip("!")
    if inner.startswith("~"):
        return inner[1:].rsplit(".", 1)[-1]
    return inner[1:] if inner.startswith(".") and inner[1:2].isalpha() else inner


def _label(text: str) -> str:
    """A link label as CommonMark matches it: case and runs of whitespace folded."""
    return " ".join(text.split()).casefold()


def _strip_inline(text: str, references: frozenset[str] = frozenset(), *, pipes: bool = True) -> str:
    """Remove inline markup, keeping the words a reader sees. Line structure is kept.

    `references` are the document's link labels (`_label`), for shortcut reference links. Without
    `pipes`, a pipe outside code is a stray cell border and becomes a space; inside code it is
    what the code says (``Page Title | Site Title``, ``cat log | grep error``)."""
    text = _PRIVATE_USE.sub("", text)  # icon-font glyphs: no words, and the markers used below
    text = _MYST_ROLE.sub(lambda m: role_text(m.group(2).strip()), text)
    text = _SHORTCODE.sub(_shortcode, text)
    text = _TAG_TEMPLATE.sub(" ", text)
    # Code spans are literal: no tag, link, emphasis or attribute list inside them is markup
    # ("`up{job="<job-name>"}`", "`a **b**`"). Held aside, with escapes, while the rest is cleaned.
    codes = HeldAside()
    text = _hold_literals(text, codes)
    text = _COMMENT.sub(" ", text)
    text = _TEMPLATE.sub(" ", text)
    text = _EMPTY_EMPHASIS.sub(" ", text)
    text = _ADMONITION.sub(" ", text)
    text = _ALERT.sub("", text)
    text = TAB_LABEL.sub(r"\1", text)
    text = _ICON.sub("", text)
    text = _FOOTNOTE.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    if references:
        text = _SHORTCUT_LINK.sub(
            lambda m: m.group(1) if _label(m.group(1)) in references else m.group(0), text
        )
    text = _AUTOLINK.sub(r"\1", text)
    text = _BREAK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    text = _ATTRS.sub("", text)
    text = MYST_TARGET.sub(" ", text)
    text = _KEYS.sub(r"\1", text)
    for pattern in (_STRONG, _STRIKE, _MARK):
        text = pattern.sub(lambda m: m.group(m.lastindex or 0), text)
    text = _STRONG_LOOSE.sub(r"\2 ", text)
    text = _EMPH_STAR.sub(r"\1", text)
    text = _EMPH_UNDER.sub(r"\1", text)
    if not pipes:
        text = text.replace("|", " ")
    return codes.release(_release(html.unescape(text)))


def clean_markdown(text: str, references: frozenset[str] = frozenset()) -> str:
    """One line of readable text from a span of Markdown (wrapped lines joined, markers removed).

    `references` are the link labels the document defines (`link_labels`): ``[GitHub Pages]`` is
    a link when the document says where it goes.

    Example:
        >>> clean_markdown("See the **[Pod](/docs/pods/)** page {#pods}\\nfor `kubectl` usage.")
        'See the Pod page for kubectl usage.'
    """
    text = _TABLE_RULE.sub(" ", text)
    text = _CLOSING_HASHES.sub("", text)
    text = _LINE_MARKERS.sub("", text)
    text = _strip_inline(text, references, pipes=False)
    text = text.replace("\\\n", " ")
    return _HALF_SINGLE.sub("", _HALF_EMPHASIS.sub("", " ".join(text.split())))


def clean_cell(text: str, references: frozenset[str] = frozenset()) -> str:
    """A table cell's readable text (pipes inside cells are real characters, so they are kept)."""
    return " ".join(_strip_inline(text.replace("\\|", "|"), references).split())


def link_labels(labels: Iterable[str]) -> frozenset[str]:
    """The folded form of a document's link reference labels, for `clean_markdown`."""
    return frozenset(_label(label) for label in labels)


def clean_plain(text: str) -> str:
    """Readable text of a plain-text span: whitespace collapsed, nothing else touched."""
    return " ".join(text.split())


def row_display(header: list[str], cells: list[str]) -> str:
    """A table row as a reader would say it: ``Severity: SEV2 · Response: 1 hour``."""
    parts = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}: {cell}" if name and name != cell else cell)
    return " · ".join(parts)
