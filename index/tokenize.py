"""The one tokenizer behind BM25: documents and questions go through exactly the same steps.

Steps, in order (each exists because a real query failed without it):

1. Unicode NFKC, then accents folded (``naïve`` -> ``naive``) and curly apostrophes
   (``’ ‘ ʼ ′``) mapped to ``'``, so text pasted from a word processor matches typed text.
2. Words are runs of letters/digits joined by apostrophes or hyphens (``company's``,
   ``day-to-day``, ``e-mail``).
3. All-caps acronym plurals lose their ``s`` before case folding (``CCOs`` -> ``CCO``): the Snowball
   stemmer keeps the ``s`` of ``ccos`` (its only vowel sits right before it), so without this rule
   "CCOs" would never match "CCO".
4. Possessives go (``company's``, ``company’s`` -> ``company``); other inner apostrophes are dropped
   (``o'neill`` -> ``oneill``).
5. Hyphenated words are split into their parts (``day-to-day`` -> ``day``, ``to``, ``day``). When a
   part is a single character (``e-mail``, ``x-ray``, ``T-cell``) or the word has two parts
   (``back-off``, ``sign-in``, ``co-worker``), the joined form (``email``, ``backoff``) is emitted as
   well, so the spelling with and without the hyphen both match ("back-off delay" in a question,
   "backoff delay" in the docs).
6. Case folding, a small stopword list, then the Snowball English stemmer (PyStemmer), so plurals and
   inflections meet (``reports``/``reporting`` -> ``report``). A stem that is itself a stopword goes
   too: "whats", "thats", "theres" are "what's", "that's", "there's" typed without the apostrophe
   (the possessive rule makes those "what", "that", "there"), and as words of their own they made
   a question look as if it asked about a rare term the corpus never uses.
7. Number words up to twelve become digits ("one CPU unit" -> ``1``, ``cpu``, ``unit``), so a question
   and a page that spell a number differently meet. On the Kubernetes concepts set (held out,
   leave-one-corpus-out) one more question was answered right, no other fold changed (2026-12-01).

The stopword list is deliberately small: Lucene's classic English list (33 function words) plus the
question words (who, what, when, ...) and a few auxiliaries that every question carries
("does", "do", "did", "can"). Questions are the queries here, and their interrogative scaffolding
would otherwise score documents that merely contain "what" or "who". Negations ("no", "not") are
kept: they carry meaning in claims ("X does not cause Y") and cost nothing at query time. A large
list (e.g. NLTK's 179 words) removes words such as "before", "after", "against" or "above" that
decide what a question asks.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer

__all__ = ["STOPWORDS", "tokenize"]

STOPWORDS: frozenset[str] = frozenset(
    # Lucene's classic English stopwords, minus the negations "no" and "not".
    "a an and are as at be but by for if in into is it of on or such that the their then there these"
    " they this to was will with"
    # Question words and question auxiliaries.
    " who whom whose what which when where why how do does did can".split()
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
_HYPHENS = "\\-\u2010\u2011"  # escaped "-", so it is literal inside [...]
# A word: letter/digit runs joined by single apostrophes or hyphens. `[^\W_]` is a letter or digit.
_WORD = re.compile(rf"[^\W_]+(?:[{_HYPHENS}'][^\W_]+)*")
_SPLIT_HYPHENS = re.compile(rf"[{_HYPHENS}]")
_ACRONYM_PLURAL = re.compile(r"^([A-Z]{2,})s$")

# Number words up to twelve, which style guides spell out ("seven calendar days", "one CPU unit")
# while other pages and most questions use digits ("7 days", "1 CPU unit").
_NUMBERS = {
    w: str(i)
    for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One stemmer per thread: PyStemmer objects are not thread-safe."""
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer("english")
        _local.stemmer = stemmer
    return stemmer


def _fold(text: str) -> str:
    """NFKC, accents removed, curly apostrophes made straight."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _clean_part(part: str) -> str:
    """Acronym plural, possessive and inner apostrophes handled; then case-folded."""
    acronym = _ACRONYM_PLURAL.match(part)
    if acronym:
        part = acronym.group(1)
    if part.endswith(("'s", "'S")):
        part = part[:-2]
    return part.replace("'", "").casefold()


def _words(text: str) -> list[str]:
    """Case-folded words before stopwords and stemming (hyphen parts, maybe a joined form)."""
    words: list[str] = []
    for match in _WORD.finditer(_fold(text)):
        parts = [_clean_part(p) for p in _SPLIT_HYPHENS.split(match.group())]
        parts = [p for p in parts if p]
        words.extend(parts)
        if len(parts) == 2 or (len(parts) > 2 and any(len(p) == 1 for p in parts)):
            words.append("".join(parts))
    return words


def tokenize(text: str) -> list[str]:
    """Split text into BM25 terms: folded, stopwords removed, Snowball-stemmed.

    Args:
        text: Any text: a document chunk or a question.

    Returns:
        The terms in text order (duplicates kept, since BM25 counts them).

    Example:
        >>> tokenize("Who reports to the company’s COOs?")
        ['report', 'compani', 'coo']
    """
    words = [_NUMBERS.get(w, w) for w in _words(text) if w not in STOPWORDS]
    return [t for t in _stemmer().stemWords(words) if t not in STOPWORDS]
