"""Rule-based follow-up resolution: turn a chat message into a standalone question.

What a conversation can be *about* comes from the corpus itself: its acronyms and definitions
(`service.vocabulary`) and, for anything else, the earlier question's topic phrase
(`service.topics`). Nothing here is specific to one corpus or to the dev questions.

Three kinds of follow-up are resolved against the session's earlier turns:

* pronouns -- "Who do they report to?" -> "Who does the chief revenue officer report to?";
* ellipsis -- "and the salary?" keeps the subject and changes the aspect, "what about the CFO?"
  keeps the aspect and changes the subject, "and in healthcare?" extends the last question;
* clarification replies -- after "CCO" was reported ambiguous, "Chief Customer Officer" (or just
  "customer") re-asks the previous question with that meaning, and later mentions of "CCO" in
  the session keep that meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from index.tokenize import tokenize
from index.types import Clarification
from service.topics import AUXILIARIES, alternation, is_plural, topic_phrase
from service.vocabulary import Vocabulary, norm

_WH_OR_AUX = re.compile(
    rf"^(what|who|whom|whose|which|when|where|why|how|{alternation(AUXILIARIES)}|"
    r"tell|explain|describe|list|give|show|compare)\b",
    re.IGNORECASE,
)
_LEADING_CONJ = re.compile(r"^(?:and|but|also|so|ok(?:ay)?|then|now)\b[\s,]*", re.IGNORECASE)
_ABOUT = re.compile(r"^(?:what|how)\s+about\s+|^what\s+of\s+", re.IGNORECASE)
_PREPOSITION = re.compile(
    r"^(in|for|at|on|of|within|during|among|without|with|inside|outside|across|under|compared)\b",
    re.IGNORECASE,
)
# A possessive ("the router's", "Express’s") and how many words back its noun phrase may open.
_POSSESSIVE_END = re.compile(r"\w['’]s$")
_POSSESSOR = re.compile(r"[\w.-]+['’]s\b")
_OWNER_WORDS = 4
# A preposition inside a topic phrase ("default value *for* spec.duration").
_TOPIC_PREPOSITION = re.compile(r"(?:of|for|in|on|at|to|with|from|by|per)", re.IGNORECASE)
# A follow-up that only adds a condition or a circumstance continues the previous question.
_SUBORDINATE = re.compile(r"^(if|unless|when|whenever|while|once|in case)\b", re.IGNORECASE)
_ASKS_WHEN = re.compile(rf"^when\s+({alternation(AUXILIARIES)})\b", re.IGNORECASE)
_QUESTION_WORD = re.compile(r"\b(what|who|whom|whose|which|where|why|how)\b", re.IGNORECASE)
_DETERMINER = re.compile(r"^(the|a|an|its|their|his|her|this|that|these|those)\b", re.IGNORECASE)
_PRONOUN = re.compile(
    r"\b(they|them|their|theirs|they're|it|its|it's|he|him|his|she|her|hers|"
    r"(?:this|that)\s+(?:role|position|job|title|person))\b",
    re.IGNORECASE,
)
_FILLER = {"the", "a", "an", "s", "for", "of", "about", "then", "one"}
_PERSONAL = re.compile(
    r"\b(they|them|their|theirs|they're|he|him|his|she|her|hers|"
    r"(?:this|that)\s+(?:role|position|job|title|person))\b",
    re.IGNORECASE,
)
_CHOICE_STOPWORDS = {"the", "a", "an", "one", "i", "mean", "meant", "please", "yes", "that", "this"}
_TOPIC_PRONOUN = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this one|that one)\b|\bone(?=\s*[?.!,]*$)", re.I
)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a session, as follow-up resolution needs it."""

    message: str
    resolved: str
    subjects: tuple[str, ...]
    clarifications: tuple[Clarification, ...] = ()
    topic: str = ""


@dataclass
class Resolution:
    """A standalone question plus what it changes in the session."""

    question: str
    subjects: tuple[str, ...]
    chosen: dict[str, str] = field(default_factory=dict)
    topic: str = ""
    alternative: str | None = None  # the message alone, when it may not be a follow-up at all
    # True: `alternative` is another reading of the follow-up, searched only when the documents do
    # not answer `question` (the service then keeps whichever is answered more surely).
    fallback: bool = False


def _is_question(text: str) -> bool:
    rest = _LEADING_CONJ.sub("", text, count=1).strip()
    return text.rstrip().endswith("?") or bool(_WH_OR_AUX.match(rest)) or bool(_ABOUT.match(rest))


def _with_topic(text: str, topic: str, explicit: bool) -> tuple[str, bool]:
    """The follow-up with its pronoun spelled out as the topic, or the topic added in parentheses.

    Returns the question and whether the message itself showed it was a follow-up (a pronoun or a
    leading conjunction); when it did not, the caller may compare it with the message alone.
    """
    stripped = _strip_conjunction(text)
    explicit = explicit or stripped != text
    if _TOPIC_PRONOUN.search(stripped):
        replaced = substitute_pronouns(stripped, [topic])
        replaced = re.sub(
            r"\b(this|that)\s+one\b|\bone(?=\s*[?.!,]*$)", _with_article(topic), replaced, flags=re.I
        )
        return _capitalise(replaced), True
    topic_tokens = set(tokenize(topic))
    if topic_tokens and topic_tokens <= set(tokenize(stripped)):
        return stripped, explicit
    return f"{stripped.rstrip('?.! ')} ({topic})?", explicit


def _new_subject(text: str, previous: str, topic: str) -> str | None:
    """The previous question asked about the noun phrase of an elliptical follow-up instead of its
    topic: "What about a StatefulSet?" after "What is a Deployment?" -> "What is a StatefulSet?";
    "And a headless one?" after "What is a Service?" -> "What is a headless Service?". None when the
    follow-up is not a bare noun phrase (a condition, a pronoun, a question of its own) or the topic
    is not in the previous question as written."""
    fragment = _fragment(text)
    if fragment is None:
        return None
    phrase = fragment.rstrip("?.! ").strip()
    if (
        not phrase
        or _PREPOSITION.match(phrase)
        or _SUBORDINATE.match(phrase)
        or _QUESTION_WORD.search(phrase)
    ):
        return None
    if _DETERMINER.match(phrase):
        phrase = phrase[:1].lower() + phrase[1:]  # "And a headless one?" was capitalised when stripped
    bare_topic = _DETERMINER.sub("", topic).strip()
    phrase = re.sub(r"(?<=\w\s)one$", bare_topic, phrase)  # "a headless one": a kind of the topic
    if _TOPIC_PRONOUN.search(phrase) or _PRONOUN.search(phrase):
        return None
    found = _topic_in(previous, topic)
    if found is None:
        return None
    before, _, after = found  # the follow-up's own article (or none) stands for the topic's
    return _capitalise(before + _in_place_of(topic, phrase) + after)


def _in_place_of(topic: str, phrase: str) -> str:
    """What a follow-up's noun phrase stands for in place of the topic. It replaces the topic's
    words up to the noun they share ("the maximum value" for "default value for spec.duration":
    "the maximum value for spec.duration"), else the part of the topic before its own preposition
    (a topic "default value for spec.duration" asked about "the minimum" keeps "for
    spec.duration"), else the whole topic."""
    words = topic.split()
    head = tokenize(phrase.split()[-1])
    shared = [i for i, word in enumerate(words) if head and tokenize(word) == head]
    if shared:
        return " ".join([phrase, *words[shared[-1] + 1 :]])
    inner = next((i for i, word in enumerate(words) if i > 0 and _TOPIC_PREPOSITION.fullmatch(word)), None)
    if inner is not None:
        return " ".join([phrase, *words[inner:]])
    return phrase


def _new_owner(text: str, previous: str) -> str | None:
    """The previous question with its last possessor replaced by the one an elliptical follow-up
    names: "And the CFO's?" after "What is the CEO's salary?" asks "What is the CFO's salary?".
    The possessor is the word with "'s" and the determiner opening its noun phrase, if any ("the
    chief executive officer's"). None when the follow-up is not a bare possessive or the previous
    question has none."""
    fragment = _fragment(text)
    return None if fragment is None else _owner_swapped(fragment.rstrip("?.! ").strip(), previous)


def _owner_swapped(phrase: str, previous: str) -> str | None:
    """`_new_owner` for the follow-up's bare phrase ("the CFO's")."""
    if not _POSSESSIVE_END.search(phrase) or _QUESTION_WORD.search(phrase) or _PRONOUN.search(phrase):
        return None
    owners = list(_POSSESSOR.finditer(previous))
    if not owners:
        return None
    last = owners[-1]
    words = previous[: last.start()].split(" ")
    start = last.start()
    for back in range(1, min(_OWNER_WORDS, len(words)) + 1):
        if _DETERMINER.fullmatch(words[-back]):
            start = len(" ".join(words[:-back])) + (1 if len(words) > back else 0)
            break
    return _capitalise(previous[:start] + phrase + previous[last.end() :])


def _topic_in(previous: str, topic: str) -> tuple[str, str, str] | None:
    """The previous question around its topic: the text before it (its article left out), that
    article ("the", "a", "an" or ""), and the text after it; None when the topic is not in it as
    written."""
    at = previous.lower().find(topic.lower())
    if at < 0:
        return None
    before, after = previous[:at], previous[at + len(topic) :]
    article = re.search(r"\b(the|a|an)\s+$", before, re.IGNORECASE)
    if article is None:
        return before, "", after
    return before[: article.start()], article.group(1).lower(), after


def _names_a_new_subject(text: str, previous: str, topic: str) -> bool:
    """Whether an elliptical noun phrase more likely names another subject than an aspect of the topic.

    "And the deadline?" after "How do I request time off?" asks about the deadline *of* time off:
    a definite noun phrase where the topic had none. "And a CronJob?" after "How do I create a Job?",
    "And sick leave?" or "And the Service?" after "How do I delete the Pod?" name another subject.
    """
    phrase = _strip_conjunction(_ABOUT.sub("", _strip_conjunction(text)))
    definite = re.match(r"the\b", phrase, re.IGNORECASE) is not None
    found = _topic_in(previous, topic)
    return not definite or (found is not None and found[1] == "the")


def _continuation(text: str, previous: str) -> str | None:
    """The previous question extended by a follow-up that only adds a condition or a circumstance:
    "And if I'm paid by wire transfer?" after "How do Sponsors payouts work?" asks "How do Sponsors
    payouts work if I'm paid by wire transfer?"; "And for contractors?" likewise. None when the
    follow-up asks something of its own ("And for how long?")."""
    clause = _strip_conjunction(text).rstrip("?.! ")
    if not (_SUBORDINATE.match(clause) or _PREPOSITION.match(clause)) or _QUESTION_WORD.search(clause):
        return None
    if _ASKS_WHEN.match(clause):
        return None  # "When should I use it?" asks its own question; "When I travel?" adds a condition
    return _extended(previous, clause)


def _extended(previous: str, clause: str) -> str:
    """The previous question with a phrase or condition added, or put in place of the parallel one
    it ends with (`_parallel_phrase`): "And for a cargo bike?" after "What is the limit for a road
    bike?" asks "What is the limit for a cargo bike?". "ones" there is the replaced phrase's noun
    ("For domestic ones?" after "... for international transfers?" -> "for domestic transfers")."""
    clause = clause[:1].lower() + clause[1:]
    asked = previous.rstrip("?.! ")
    parallel = _parallel_phrase(asked, clause)
    if parallel is None:
        return f"{asked} {clause}?"
    replaced = asked[parallel[0] : parallel[1]].split()
    clause = re.sub(r"(?<=\w\s)ones?$", replaced[-1], clause) if len(replaced) > 1 else clause
    return f"{asked[: parallel[0]]}{clause}?"


def _parallel_phrase(question: str, clause: str) -> tuple[int, int] | None:
    """Where `question` ends with a phrase of the same kind as `clause` ("for a road bike" for "for
    a cargo bike", "if I'm a contractor" for "if I'm an intern"), which the clause then replaces:
    the last phrase opening with the clause's preposition or conjunction, when no other
    preposition follows it ("reimburse for a phone plan in on-call roles": the "for" phrase is
    what is reimbursed, not a circumstance to swap). None when there is none."""
    opener = clause.split(maxsplit=1)[0].lower()
    found = list(re.finditer(rf"\b{re.escape(opener)}\b", question, re.IGNORECASE))
    if not found or len(clause.split()) < 2 or found[-1].start() == 0:
        return None
    rest = question[found[-1].end() :]
    if _PREPOSITION.match(opener) and re.search(rf"\s{_PREPOSITION.pattern[1:]}", rest, re.IGNORECASE):
        return None
    return found[-1].start(), len(question)


def resolve(
    message: str,
    history: Sequence[Turn],
    vocab: Vocabulary,
    chosen: Mapping[str, str],
    idf: Callable[[str], float] | None = None,
    occurs: Callable[[str], bool] | None = None,
) -> Resolution:
    """Resolve `message` against the earlier turns of its session.

    Acronym subjects (and their chosen meanings) are resolved by the rules below; any other
    subject is the earlier question's topic phrase (`topic_phrase`): a pronoun becomes the topic
    ("What is a Pod?" -> "How do I delete one?" -> "How do I delete a Pod?"), a follow-up that
    only adds a condition or a circumstance extends the previous question ("And if I'm a
    contractor?"), and a follow-up that names no subject gets the topic added ("And how many days
    do I get (time off)?").

    Args:
        message: What the user sent.
        history: Earlier turns, oldest first.
        vocab: The corpus's entities.
        chosen: Meanings the user already picked for ambiguous acronyms (term -> expansion).
        idf: Rarity of a token in the corpus (picks the topic phrase).
        occurs: Whether a phrase occurs verbatim in the corpus (keeps multi-word topics whole).

    Returns:
        The question to search, its subjects and topic, any newly chosen meaning, and the message
        alone as an alternative when it may not be a follow-up.
    """
    previous = history[-1] if history else None
    topic = "" if previous is None else previous.topic or topic_phrase(previous.resolved, idf, occurs)
    text = " ".join(message.split())
    asked = None
    if previous is not None and not previous.clarifications:
        asked = _asked_for(text, previous.resolved, topic)
    if asked is not None:
        # "Which licence do GDS code repositories use?" -> "What should the file holding it be
        # called?": "it" is singular, so it is not the repositories (nor their acronym).
        question = _capitalise(substitute_pronouns(_strip_conjunction(text), [asked]))
        return Resolution(question, _subjects(question, vocab), topic=asked)
    resolution = _resolve_entities(message, history, vocab, chosen)
    if previous is None or resolution.chosen:
        resolution.topic = topic_phrase(resolution.question, idf, occurs)
        return resolution
    if not _is_question(text):
        resolution.topic = topic  # "Thanks, that helps." asks nothing: nothing to resolve
        return resolution
    changed = resolution.question != _apply_chosen(
        text, chosen
    ) and resolution.question != _strip_conjunction(text)
    if changed or not topic or vocab.mentions(text):
        resolution.topic = topic_phrase(resolution.question, idf, occurs) if vocab.mentions(text) else topic
        return resolution
    owner = _new_owner(text, previous.resolved)
    if owner is not None:
        # "And the router's?" after "How do I see Express's internal logs?": the same thing, owned
        # by another ("How do I see the router's internal logs?").
        resolution.question, resolution.topic = owner, topic_phrase(owner, idf, occurs)
        return resolution
    swapped = _new_subject(resolution.question, previous.resolved, topic)
    if swapped is not None:
        # "What about a StatefulSet?" after "What is a Deployment?": the same question about another
        # subject, or (the alternative, kept when the documents answer it more surely) an aspect of
        # the earlier topic ("What about the deadline?" after "How do I request time off?").
        aspect, _ = _with_topic(resolution.question, topic, True)
        swap_first = _names_a_new_subject(text, previous.resolved, topic)
        first, other = (swapped, aspect) if swap_first else (aspect, swapped)
        resolution.question, resolution.alternative, resolution.fallback = first, other, True
        resolution.topic = topic_phrase(first, idf, occurs)
        return resolution
    continued = _continuation(resolution.question, previous.resolved)
    if continued is not None:
        resolution.question, resolution.topic = continued, topic
        return resolution
    question, explicit = _with_topic(resolution.question, topic, _strip_conjunction(text) != text)
    alternative = None if explicit or question == resolution.question else resolution.question
    resolution.question, resolution.topic, resolution.alternative = question, topic, alternative
    return resolution


# "Which licence do …?", "What port does …?": the noun a question asks for, before its auxiliary.
_ASKED_NOUN = re.compile(rf"^\s*(?:which|what)\s+([a-z][\w-]*)\s+(?:{alternation(AUXILIARIES)})\b", re.I)
_IT = re.compile(r"\b(?:it|its)\b", re.IGNORECASE)
_NOT_IT = re.compile(r"\b(?:they|them|their|theirs|he|him|his|she|her|hers|this one|that one)\b", re.I)


def _asked_for(message: str, previous: str, topic: str) -> str | None:
    """The noun the previous question asked for, when the follow-up's "it" can only mean that: the
    previous topic is plural ("Which licence do GDS code repositories use?"), "it" is singular,
    and the follow-up has no other pronoun. None otherwise."""
    if not _IT.search(message) or _NOT_IT.search(message) or not topic or not is_plural(topic):
        return None
    found = _ASKED_NOUN.match(previous)
    if found is None:
        return None
    noun = found.group(1)
    if noun.lower() in _FUNCTION_NOUNS or is_plural(noun) or noun.casefold() in topic.casefold():
        return None
    return noun


# "What kind does …?", "Which one is …?": words in a question's slot that name no thing.
_FUNCTION_NOUNS = frozenset("kind kinds type types sort sorts one ones way ways thing things".split())


def _resolve_entities(
    message: str, history: Sequence[Turn], vocab: Vocabulary, chosen: Mapping[str, str]
) -> Resolution:
    """The acronym rules: clarification replies, chosen meanings, pronouns and ellipsis about entities."""
    text = " ".join(message.split())
    previous = history[-1] if history else None
    if previous is not None and previous.clarifications:
        picked = _clarification_choice(text, previous.clarifications)
        if picked is not None:
            term, expansion = picked
            question = _replace_term(previous.resolved, term, expansion)
            return Resolution(question, _subjects(question, vocab), {term: expansion})
    text = _apply_chosen(text, chosen)
    subjects = _last_subjects(history)
    if previous is None or not subjects:
        stripped = _strip_conjunction(text) if previous is not None else text
        return Resolution(stripped, _subjects(stripped, vocab))
    fragment = _fragment(text)
    if fragment is not None:
        question = _resolve_fragment(fragment, previous, subjects, vocab)
    else:
        question = _resolve_pronouns(_strip_conjunction(text), subjects, vocab)
    return Resolution(question, _subjects(question, vocab) or subjects)


def _resolve_pronouns(text: str, subjects: Sequence[str], vocab: Vocabulary) -> str:
    """Spell out pronouns that point back to earlier turns.

    When the message names an entity of its own, only pronouns *before* that mention can point
    back ("How do they compare to the COO?"); later ones refer to it ("Does the CRO say what
    they earn?"). A dummy "it" ("Is it true that the COO…") is left alone in that case.
    """
    own = vocab.mentions(text)
    if not own:
        return _capitalise(substitute_pronouns(text, subjects)) if _PRONOUN.search(text) else text
    head, tail = text[: own[0].start], text[own[0].start :]
    if not _PERSONAL.search(head):
        return text
    return _capitalise(substitute_pronouns(head, subjects, include_it=False) + tail)


def substitute_pronouns(text: str, subjects: Sequence[str], *, include_it: bool = True) -> str:
    """Replace pronouns referring to an earlier subject by that subject.

    Args:
        text: The follow-up question.
        subjects: Entity phrases of the earlier turn, main subject first.
        include_it: Also replace "it/its/it's" (not when "it" may be a dummy subject).

    Returns:
        The text with "they/their/it/this role…" spelled out, verbs agreeing in number.
    """
    plural = len(subjects) > 1 or is_plural(subjects[0])
    group = " and ".join(_with_article(s) for s in subjects)
    single = _with_article(subjects[0])
    rules: list[tuple[str, str]] = [
        (r"\b(this|that)\s+(role|position|job|title)\b", f"{single} \\2"),
        (r"\b(this|that)\s+person\b", single),
        (r"\bthey['’]re\b", f"{group} are" if plural else f"{single} is"),
    ]
    if include_it:
        rules.append((r"\bit['’]s\b", f"{single} is"))
    if not plural:
        rules += [
            (r"\bdo\s+they\b", f"does {single}"),
            (r"\bare\s+they\b", f"is {single}"),
            (r"\bwere\s+they\b", f"was {single}"),
            (r"\bhave\s+they\b", f"has {single}"),
            (r"\bthey\s+are\b", f"{single} is"),
            (r"\bthey\s+were\b", f"{single} was"),
            (r"\bthey\s+have\b", f"{single} has"),
            (r"\bthey\s+do\b", f"{single} does"),
        ]
    rules += [
        (r"\b(they|them)\b", group),
        (_owning("theirs?"), _possessive(group)),
        (r"\b(his|hers)\b", _possessive(single)),
        (r"\bher(?=\s+[a-z])", _possessive(single)),
        (r"\b(he|she|him|her)\b", single),
    ]
    if include_it:
        rules += [(_owning("its"), _possessive(single)), (r"\bit\b", single)]
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def _owning(word: str) -> str:
    """A possessive pronoun that names an owner: not in "on its own" / "on their own" ("alone")."""
    return rf"(?<!\bon )\b{word}\b|\b{word}\b(?! own\b)"


def _resolve_fragment(fragment: str, previous: Turn, subjects: Sequence[str], vocab: Vocabulary) -> str:
    frag = fragment.rstrip("?.! ")
    owned = _owner_swapped(frag.strip(), previous.resolved)
    if owned is not None:
        return owned
    frag_mentions = vocab.mentions(frag)
    if frag_mentions:
        leftover = frag
        for mention in reversed(frag_mentions):
            leftover = leftover[: mention.start] + leftover[mention.end :]
        leftover_words = [w for w in re.findall(r"[\w’']+", leftover.lower()) if w not in _FILLER]
        earlier = vocab.mentions(previous.resolved)
        if leftover_words or not earlier:
            return f"What about {frag}?"
        # Same aspect, new subject: "what about the CFO?" after "Who does the CRO report to?"
        last = earlier[-1]
        return previous.resolved[: last.start] + frag_mentions[0].surface + previous.resolved[last.end :]
    if _PREPOSITION.match(frag):
        return _extended(previous.resolved, frag)
    if _PRONOUN.search(frag):
        return f"What about {substitute_pronouns(frag, subjects)}?"
    noun = frag if _DETERMINER.match(frag) else f"the {frag}"
    return f"What is {noun} of {_with_article(subjects[0])}?"


def _fragment(text: str) -> str | None:
    """The elliptical part of a follow-up ("and the salary?"), or None for a full question."""
    rest = _LEADING_CONJ.sub("", text, count=1).strip()
    about = _ABOUT.match(rest)
    if about:
        return rest[about.end() :] or None
    if _WH_OR_AUX.match(rest):
        return None
    had_conjunction = rest != text
    if had_conjunction or (len(rest.split()) <= 4 and rest.endswith("?")):
        return rest or None
    return None


def _clarification_choice(text: str, clarifications: Sequence[Clarification]) -> tuple[str, str] | None:
    """The (term, expansion) the user picked, if `text` names exactly one offered meaning."""
    said = norm(re.sub(r"[^\w\s’'-]", " ", text))
    words = [w for w in said.split() if w not in _CHOICE_STOPWORDS]
    if not said or len(said.split()) > 8:
        return None
    candidates: list[tuple[str, str]] = []
    for clar in clarifications:
        for number, meaning in enumerate(clar.meanings, start=1):
            expansion = norm(meaning.expansion)
            if expansion in said or said == str(number):
                return clar.term, meaning.expansion
            if words and all(w in expansion.split() for w in words):
                candidates.append((clar.term, meaning.expansion))
    return candidates[0] if len(candidates) == 1 else None


def _apply_chosen(text: str, chosen: Mapping[str, str]) -> str:
    for term, expansion in chosen.items():
        if _term_pattern(term).search(text):
            text = _replace_term(text, term, expansion)
    return text


def _term_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(term)}(s?)(?![\w-])", re.IGNORECASE)


def _replace_term(text: str, term: str, expansion: str) -> str:
    replaced = _term_pattern(term).sub(lambda m: expansion + m.group(1), text)
    return replaced if replaced != text else f"{text.rstrip('?.! ')} ({expansion})?"


def _subjects(text: str, vocab: Vocabulary) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for mention in vocab.mentions(text):
        seen.setdefault(mention.key, mention.surface)
    return tuple(seen.values())


def _last_subjects(history: Sequence[Turn]) -> tuple[str, ...]:
    """The entities of the latest turn that had any; one that turn's topic phrase names with words
    before it ("What is a fractional COO?": "fractional COO") is that phrase, so that "they" is
    the fractional COO, not any COO."""
    for turn in reversed(history):
        if turn.subjects:
            return tuple(_as_in_topic(subject, turn.topic) for subject in turn.subjects)
    return ()


def _as_in_topic(subject: str, topic: str) -> str:
    words = topic.split()
    return topic if len(words) > 1 and words[-1].casefold() == subject.casefold() else subject


def _strip_conjunction(text: str) -> str:
    rest = _LEADING_CONJ.sub("", text, count=1).strip()
    return _capitalise(rest) if rest else text


def _with_article(phrase: str) -> str:
    return phrase if _DETERMINER.match(phrase) else f"the {phrase}"


def _possessive(phrase: str) -> str:
    return f"{phrase}'" if phrase.endswith("s") and not phrase.isupper() else f"{phrase}'s"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
