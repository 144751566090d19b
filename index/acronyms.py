"""Find acronym definitions per document ("Chief Customer Officer (CCO)", "CCO stands for ...").

When one acronym is defined differently in different documents, a question using it is ambiguous:
the index reports every meaning with the documents that use it, instead of mixing them up.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from corpus.models import Document
from index.types import Meaning

_MINOR = frozenset({"of", "and", "the", "for", "&", "in", "on", "to", "a", "an"})
_PAREN_RE = re.compile(r"\(([A-Z][A-Za-z]{1,9}?)(s?)\)")
_STANDS_RE = re.compile(
    r"\b([A-Z]{2,10})s?\s+(?:stands for|means|is short for)\s+(?:the\s+)?((?:[A-Za-z&-]+\s*){1,8})"
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z-]*|&")


def _initials_match(acronym: str, words: list[str]) -> bool:
    """True when `words` spell `acronym`: each significant word gives its initial and maybe more letters.

    "Chief Customer Officer" spells CCO; "Customer SATisfaction" spells CSAT (letters from inside
    a word are used only when word initials alone cannot spell the acronym).
    """
    significant = [w.upper() for w in words if w.lower() not in _MINOR]

    def spell(letters: str, rest: list[str]) -> bool:
        if not rest:
            return not letters
        word = rest[0]
        if not letters or word[0] != letters[0]:
            return False
        # Take the initial, then 0..n further letters found in order inside the word.
        taken, inner = 1, word[1:]
        options = [1]
        for letter in letters[1:]:
            if letter not in inner:
                break
            inner = inner[inner.index(letter) + 1 :]
            taken += 1
            options.append(taken)
        return any(spell(letters[n:], rest[1:]) for n in options)

    return bool(significant) and spell(acronym.upper(), significant)


def _normalise(words: list[str], plural: bool) -> str:
    if plural and words and words[-1].lower().endswith("s"):
        words = [*words[:-1], words[-1][:-1]]
    return " ".join(w if w.lower() in _MINOR else w[:1].upper() + w[1:] for w in words)


def _expansion_before(text: str, end: int, acronym: str, plural: bool) -> str | None:
    words = _WORD_RE.findall(text[max(0, end - 120) : end])
    matches = [
        words[-size:]
        for size in range(1, min(len(words), 8) + 1)
        if words[-size].lower() not in _MINOR and _initials_match(acronym, words[-size:])
    ]
    # Prefer one word per letter ("Chief Commercial Officer", not "Commercial Officer").
    exact = [m for m in matches if sum(w.lower() not in _MINOR for w in m) == len(acronym)]
    best = exact[0] if exact else (matches[0] if matches else None)
    return _normalise(best, plural) if best else None


def _expansion_after(phrase: str, acronym: str) -> str | None:
    words = _WORD_RE.findall(phrase)
    matches = [
        words[:size] for size in range(1, min(len(words), 8) + 1) if _initials_match(acronym, words[:size])
    ]
    exact = [m for m in matches if sum(w.lower() not in _MINOR for w in m) == len(acronym)]
    best = exact[0] if exact else (matches[0] if matches else None)
    return _normalise(best, False) if best else None


def find_definitions(text: str) -> list[tuple[str, str]]:
    """All ``(ACRONYM, Expansion)`` definitions in a text, in order of appearance."""
    found: list[tuple[str, str]] = []
    for match in _PAREN_RE.finditer(text):
        acronym, plural = match.group(1), bool(match.group(2))
        if sum(ch.isupper() for ch in acronym) < 2:
            continue
        expansion = _expansion_before(text, match.start(), acronym, plural)
        if expansion:
            found.append((acronym.upper(), expansion))
    for match in _STANDS_RE.finditer(text):
        expansion = _expansion_after(match.group(2), match.group(1))
        if expansion:
            found.append((match.group(1), expansion))
    return found


def build_acronym_table(documents: Iterable[Document]) -> dict[str, tuple[Meaning, ...]]:
    """Map each acronym to its meanings across the corpus.

    A document's meaning of an acronym is the expansion it uses most often.

    Returns:
        ``{"CCO": (Meaning("Chief Commercial Officer", (...)), Meaning("Chief Customer Officer", (...)))}``,
        meanings ordered by how many documents use them.
    """
    per_term: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    spelling: dict[str, str] = {}
    for doc in documents:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for acronym, expansion in find_definitions(doc.text):
            counts[acronym][expansion.lower()] += 1
            spelling.setdefault(expansion.lower(), expansion)
        for acronym, counter in counts.items():
            per_term[acronym][counter.most_common(1)[0][0]].append(doc.doc_id)
    table: dict[str, tuple[Meaning, ...]] = {}
    for acronym, meanings in sorted(per_term.items()):
        ordered = sorted(meanings.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        table[acronym] = tuple(Meaning(spelling[exp], tuple(docs)) for exp, docs in ordered)
    return table


def acronyms_in(question: str, table: dict[str, tuple[Meaning, ...]]) -> list[str]:
    """Acronyms of `table` used in the question ("CCO", "CCOs", and "cco" for 3+ letters)."""
    found: list[str] = []
    for token in re.findall(r"[A-Za-z]{2,12}", question):
        base = token[:-1] if token.endswith("s") and token[:-1].upper() in table else token
        if base.upper() in table and (base.isupper() or len(base) >= 3) and base.upper() not in found:
            found.append(base.upper())
    return found


def _phrases(meaning: Meaning, meanings: tuple[Meaning, ...]) -> list[str]:
    """The expansion, and its distinctive tail ("customer officer") when others share its head ("chief")."""
    words = meaning.expansion.lower().split()
    others = [m.expansion.lower().split() for m in meanings if m is not meaning]
    shared = 0
    while (
        others
        and shared < len(words) - 1
        and all(len(o) > shared and o[shared] == words[shared] for o in others)
    ):
        shared += 1
    phrases = [" ".join(words)]
    if shared and len(words) - shared >= 2:
        phrases.append(" ".join(words[shared:]))
    return phrases


def meaning_named_in(question: str, meanings: tuple[Meaning, ...]) -> Meaning | None:
    """The meaning the question spells out ("chief customer officer(s)", "customer officer"), if any."""
    low = " ".join(re.findall(r"[a-z0-9&]+", question.lower()))
    for meaning in meanings:
        for phrase in _phrases(meaning, meanings):
            if re.search(r"\b" + re.escape(phrase) + r"s?\b", low):
                return meaning
    return None
