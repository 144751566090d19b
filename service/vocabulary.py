"""The entities a conversation can be about: the index's acronyms and the corpus's own definitions.

`Vocabulary.build` collects every acronym the index knows (``index.acronyms``) and every
"Expansion (ACR)" definition found in the documents; `Vocabulary.mentions` finds them in a message.
Follow-up resolution (`service.followup`) carries them from turn to turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from index.types import Meaning

_DEFINITION = re.compile(r"((?:[A-Za-z][\w’'-]*\s+(?:(?:of|and|for|the|&)\s+)?){1,6})\(([A-Z]{2,6})s?\)")
_SMALL_WORDS = {"of", "and", "for", "the", "&"}
# Acronyms that are also ordinary words only match when written in capitals.
_WORDLIKE = {
    "it",
    "us",
    "an",
    "as",
    "at",
    "be",
    "by",
    "do",
    "go",
    "he",
    "if",
    "in",
    "is",
    "me",
    "my",
    "no",
    "of",
    "on",
    "or",
    "so",
    "to",
    "up",
    "we",
    "can",
    "hr",
    "pr",
    "am",
    "pm",
}


@dataclass(frozen=True)
class Mention:
    """One occurrence of a vocabulary entity in a text."""

    surface: str
    key: str
    start: int
    end: int


@dataclass(frozen=True)
class Vocabulary:
    """The entities a conversation can be about: acronyms and their expansions."""

    pattern: re.Pattern[str] | None
    keys: Mapping[str, str]

    @classmethod
    def build(cls, acronyms: Mapping[str, Sequence[Meaning]], texts: Iterable[str]) -> Vocabulary:
        """Collect acronyms and expansions from the index and from definitions in `texts`."""
        phrases: dict[str, str] = {}
        for acronym, meanings in acronyms.items():
            phrases.setdefault(acronym.lower(), acronym.upper())
            for meaning in meanings:
                phrases.setdefault(norm(meaning.expansion), norm(meaning.expansion))
        for text in texts:
            for match in _DEFINITION.finditer(text):
                words = match.group(1).split()
                if match.group(0).endswith("s)") and words[-1].endswith("s"):
                    words[-1] = words[-1][:-1]
                expansion = _trim_to_initials(words, match.group(2))
                if expansion:
                    phrases.setdefault(match.group(2).lower(), match.group(2))
                    phrases.setdefault(norm(expansion), norm(expansion))
        if not phrases:
            return cls(pattern=None, keys={})
        alternatives = []
        for phrase in sorted(phrases, key=len, reverse=True):
            body = r"\s+".join(re.escape(w) for w in phrase.split())
            if " " not in phrase and phrase in _WORDLIKE:
                alternatives.append(f"(?-i:{re.escape(phrase.upper())})")
            else:
                alternatives.append(body)
        pattern = re.compile(r"(?<![\w-])(" + "|".join(alternatives) + r")(?:['’]s|s)?(?![\w-])", re.I)
        return cls(pattern=pattern, keys=phrases)

    def mentions(self, text: str) -> list[Mention]:
        """Every entity mention of `text`, in order."""
        if self.pattern is None:
            return []
        found = []
        for m in self.pattern.finditer(text):
            key = self.keys.get(norm(m.group(1)), norm(m.group(1)))
            found.append(Mention(surface=m.group(1), key=key, start=m.start(1), end=m.end(1)))
        return found


def norm(text: str) -> str:
    """Lower-cased, apostrophes unified, whitespace collapsed (how entity names are compared)."""
    return " ".join(text.lower().replace("’", "'").split())


def _trim_to_initials(words: list[str], acronym: str) -> str | None:
    """The trailing words of `words` whose initials spell `acronym` (small words skipped)."""
    letters = acronym.upper()
    picked: list[str] = []
    significant = 0
    for word in reversed(words):
        picked.insert(0, word)
        if word.lower() in _SMALL_WORDS:
            continue
        significant += 1
        if significant == len(letters):
            break
    initials = "".join(w[0].upper() for w in picked if w.lower() not in _SMALL_WORDS)
    return " ".join(picked) if initials == letters else None
