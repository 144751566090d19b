"""A question's topic: its rarest phrase of content words ("How do I get a PIV card?" -> "PIV card").

Follow-ups with a pronoun or ellipsis carry the previous question's topic (`service.followup`).
A phrase is found with general English grammar only: function words and light verbs never make
one, question words, auxiliaries and pronouns break one. Nothing here names a corpus's content.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from index.tokenize import tokenize

# General English function words and light verbs: what a question's topic phrase is *not* made of.
# (Grammar, not content: the same list serves any corpus.)
_FUNCTION_WORDS = frozenset(
    """a an the this that these those it its they them their there here i me my we us our you your he him his
    she her what who whom whose which when where why how is are was were be been being am do does did done
    doing have has had having can could should would will shall may might must not no yes and or but if then
    so than too very just also only about above after again against all any at before below between both by
    down during each few for from further in into more most of on once other out over own same some such
    to under until up with within without via per as get gets got getting make makes made use uses used using
    work works happen happens happened mean means meant need needs count counts handle handles take takes
    give gives go goes know see find keep let put set want say tell ask do does i'm i've i'd it's what's
    there's end ends one ones else something anything everything someone anyone way ways kind kinds type
    types thing things lot long many much often soon""".split()
)
# Words a topic phrase never spans: question words, auxiliaries, pronouns.
_BREAKERS = frozenset(
    """what who whom whose which when where why how is are was were be been am do does did have has had can
    could should would will shall may might must i me my we us our you your he him his she her it its they
    them their this that these those i'm i've it's what's""".split()
)
_MAX_TOPIC_WORDS = 5
# English auxiliaries, by kind; follow-up resolution (`service.followup`) builds its patterns from them.
DO_FORMS = frozenset("do does did".split())
BE_FORMS = frozenset("is are was were".split())
HAVE_FORMS = frozenset("has have had".split())
MODALS = frozenset("can could should would will shall may might must".split())
AUXILIARIES = DO_FORMS | BE_FORMS | HAVE_FORMS | MODALS
# The auxiliaries a main verb follows bare ("does the scheduler *pick*", "can the pod *use*").
_AUXILIARIES = DO_FORMS | MODALS
_SUBJECTS = frozenset("i you we they".split())
_QUESTION_WORDS = frozenset("how what where when why which who".split())
# Prepositions and particles that end a question after its verb ("… listen on?", "… log in to?").
_PARTICLES = frozenset("on in at for to from with about into onto up out of by over off".split())
_DETERMINERS = frozenset("the a an this that these those my your our their its every each".split())
# Light verbs in their bare form (of `_FUNCTION_WORDS`): after "do"/"can"/"will" and a noun subject,
# the first of them not after "to" is the question's verb ("When do impact reviews *take* place?";
# "How does the cycle to work scheme *work*?").
_BARE_VERBS = frozenset(
    """get make use work happen mean need count handle take give go know see find keep let put set want
    say tell ask""".split()
)


def alternation(words: frozenset[str]) -> str:
    """`words` as a regex alternation (longest first, so none stops short at a shorter one)."""
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


# A word of a topic: letters joined by ' . / + - or :: ("std::fs", "e-mail"), with a type's parameters
# ("Rc<T>", "Vec<String>") and a trailing "++" or "#" ("C++") kept, so a follow-up names it as asked.
_WORD = re.compile(r"\w(?:[\w’'./+:-]*\w)?(?:<[^<>\s]{1,40}>)?(?:\+\+|#)?")


def topic_phrase(
    question: str,
    idf: Callable[[str], float] | None = None,
    occurs: Callable[[str], bool] | None = None,
) -> str:
    """What a question is about: its rarest phrase of content words (at most five words).

    "How do I get a PIV card?" -> "PIV card"; "What is a static Pod?" -> "static Pod". A phrase
    starts and ends with a content word and holds no auxiliary or question word; when `occurs` is
    given, phrases found verbatim in the documents are preferred, so "What is the cycle to work
    scheme?" keeps "cycle to work scheme" whole. Among those, the rarest (idf mass) wins.
    """
    words = _WORD.findall(question)
    verbs = _verb_positions(words)
    names = _names(words)

    def is_function(k: int) -> bool:
        return k not in names and _is_function(words[k])

    weight = idf or (lambda _t: 1.0)
    # Each lookup scans the corpus's text; a word pair is asked again for every phrase holding it.
    looked_up: dict[str, bool] = {}

    def said(phrase: str) -> bool:
        if phrase not in looked_up and occurs is not None:
            looked_up[phrase] = occurs(phrase)
        return looked_up.get(phrase, False)

    best: tuple[bool, float, int, str] = (False, 0.0, 0, "")
    for i in range(len(words)):
        if is_function(i) or i in verbs:
            continue
        for j in range(i, min(i + _MAX_TOPIC_WORDS, len(words))):
            if _is_breaker(words[j]) or j in verbs:
                break
            if is_function(j):
                continue
            phrase = " ".join(words[i : j + 1])
            mass = sum(weight(t) for t in tokenize(phrase))
            spans_function = any(is_function(k) for k in range(i, j + 1))
            found = bool(occurs and j > i and _said(words[i : j + 1], spans_function, said))
            if not found and spans_function:
                continue  # "Job in Kubernetes" is one phrase only if the documents say so
            key = (found, mass, j - i, phrase)
            if key[:3] > best[:3]:
                best = key
    return best[3]


def _said(words: list[str], spans_function: bool, occurs: Callable[[str], bool]) -> bool:
    """Whether the documents say a phrase: verbatim, or for a phrase of content words only, each
    two words of it that stand together ("specific log entries" where the documents say "specific
    log" and "log entries"), so that a phrase the documents say is not preferred to the longer
    one that continues it."""
    if occurs(" ".join(words)):
        return True
    return not spans_function and all(occurs(f"{a} {b}") for a, b in zip(words, words[1:], strict=False))


def _names(words: list[str]) -> set[int]:
    """Where a function word is a name: capitalised inside a question written in sentence case
    ("Which formatter must all *Go* code use?"). In a question in title case ("How Do I Get A
    Badge?") a capital says nothing; "I" and the other breakers stay what they are."""
    capitalised = [k for k in range(1, len(words)) if words[k][:1].isupper()]
    if 2 * len(capitalised) >= len(words) - 1:
        return set()
    return {k for k in capitalised if _is_function(words[k]) and not _is_breaker(words[k])}


def _verb_positions(words: list[str]) -> set[int]:
    """Where a question's verb is, by its grammar: the word after an auxiliary and its subject
    pronoun ("How do I *enable* debug mode?", "Can we *rotate* the keys?") or after a question
    word and "to" ("How to *configure* the secret key?"). The verb is what is done to the topic,
    not part of it: a follow-up about "it" means the debug mode, not "enable debug mode"."""
    positions: set[int] = set()
    for k in range(2, len(words)):
        before, subject = words[k - 2].lower(), words[k - 1].lower()
        after_subject = before in _AUXILIARIES and subject in _SUBJECTS
        if after_subject or (before in _QUESTION_WORDS and subject == "to"):
            positions.add(k)
    lower = [w.lower() for w in words]
    opens = len(lower) > 5 and lower[0] in _QUESTION_WORDS and lower[1] in _AUXILIARIES
    if opens and lower[2] in _DETERMINERS:
        # "How does the scheduler *pick* a node?": after a noun subject, the word that a determiner
        # follows is the verb (a noun phrase does not run on into "a node").
        verb = next((k for k in range(4, len(lower) - 1) if lower[k + 1] in _DETERMINERS), None)
        if verb is not None:
            positions.add(verb)
    asks_for_noun = len(lower) > 4 and lower[0] in ("which", "what") and lower[2] in _AUXILIARIES
    if asks_for_noun and not _is_function(words[1]):
        # "Which port do the web servers *listen* on?", "What format does the exporter *write*?":
        # the asked noun is the object, so the clause ends with its verb (and maybe a particle).
        positions |= _ending_verb(words, 3)
    aux = next((a for a in range(min(3, len(lower))) if lower[a] in _AUXILIARIES), None)
    if aux is not None and all(w in _QUESTION_WORDS or w in _FUNCTION_WORDS for w in lower[:aux]):
        bare = (k for k in range(aux + 2, len(lower)) if lower[k] in _BARE_VERBS and lower[k - 1] != "to")
        verb = next(bare, None)
        if verb is not None:
            positions.add(verb)
        elif aux + 1 < len(lower) and lower[aux + 1] not in _SUBJECTS:
            # "When does the office *open*?", "How often do the runners *restart*?": after a noun
            # subject, the question's last word.
            positions |= _ending_verb(words, aux + 2)
    return positions


def _ending_verb(words: list[str], first: int) -> set[int]:
    """The position of the verb that ends a question (before a particle: "… listen on?"), when the
    clause has no object: its last word, at `first` or later, unless that looks like a noun of its
    own (plural, a name, after a determiner or a light verb: "… write logs?", "… return JSON?")."""
    last = len(words) - 1 - int(words[-1].lower() in _PARTICLES)
    if last <= first:
        return set()
    word, before = words[last], words[last - 1]
    if (
        word.islower()
        and not _is_function(word)
        and not is_plural(word)
        and not _is_function(before)
        and before.lower() not in _DETERMINERS
    ):
        return {last}
    return set()


def _is_function(word: str) -> bool:
    return word.lower().replace("’", "'") in _FUNCTION_WORDS


def _is_breaker(word: str) -> bool:
    return word.lower().replace("’", "'") in _BREAKERS


def is_plural(phrase: str) -> bool:
    """Whether a noun phrase is plural by its head, the last word before any function word: a
    lower-case word ending in -s (not -ss, -us, -is). Capitalised words are names, taken as singular.
    """
    head = ""
    for word in re.findall(r"[\w’'-]+", phrase):
        if _is_function(word):
            break
        head = word
    low = head.lower()
    return (
        bool(head)
        and not head[:1].isupper()
        and len(low) > 3
        and low.endswith("s")
        and not low.endswith(("ss", "us", "is"))
    )
