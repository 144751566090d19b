"""Pick the answering unit among the top passages, and say how sure we are.

Every answer unit (a sentence, a list item, a table row with its headers) of the top passages gets
a feature vector (`FEATURES`): its embedding similarity to the question, the similarity of its
context (the chunk with its title and heading path) and of its neighbouring sentences, idf-weighted
coverage of the question's words by the unit, by the unit with its headings and by the unit with its
neighbours, word order agreement (direction: "who reports to X" wants "... report to X"), the
passage's rank and fused score, whether a "how many/much/long" question meets a number, whether the
unit only introduces a list (ends with ":"), where it stands against the best candidate, how much
of the question its opening words say (``lead``: what the sentence is about), how densely it says
the question's words (``density``: coverage over the log of its length) and whether a "when"
question meets a date or duration, a "who" question a name (``wh``). Which of these last three earn
their place was chosen by leave-one-corpus-out (``bench/answer_features.py``). Last, whether the
unit introduces a code block ("... run this:", ``code_lead``: what it says is in the code, which is
never an answer); by leave-one-corpus-out it gained 18f one held-out answer and the Rust book check
set two answers and one false abstention fewer; on the GitHub fold the refit moved two confidences
across the threshold (one false abstention, one unanswerable question answered; 2026-11-30).
A logistic model (`AnswerModel`) turns the vector into a score;
the best unit is the answer.

Confidence is a second logistic model over question-level evidence (`CONFIDENCE_FEATURES`): the
answer model's probability for the best unit, its similarity and coverage, how much of the
question's rare vocabulary the top passages contain at all (a question whose key terms appear
nowhere is not answered by this corpus), and the best chunk's similarity. Each of its weights keeps
the side its evidence is on (`CONFIDENCE_SIGNS`), and it learns what an unanswered question looks
like also from every answerable training question asked again without the passages that answer it
(its subject is in the corpus, its answer is not: a near-domain question).

Both models are fitted by ``bench/fit_answers.py`` with leave-one-corpus-out folds over four
labelled sets (the demo corpus's dev set and three real documentation sets); the weights ship in
``index/answer_weights.json``, which records what each was fitted on. No feature names any corpus's
content: every input is a similarity, a coverage, a rank or the shape of the text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.chunking import SECTION_SEPARATOR
from index.tokenize import tokenize

FEATURES: tuple[str, ...] = (
    "sim",
    "ctx_sim",
    "nb_sim",
    "lex",
    "lex_ctx",
    "lex_nb",
    "order",
    "rank_inv",
    "gap",
    "number",
    "colon",
    "row",
    "short",
    "long",
    "rel_sim",
    "rel_lex",
    "off_topic",
    "comparison",
    "lead",
    "density",
    "wh",
    "code_lead",
)
CONFIDENCE_FEATURES: tuple[str, ...] = (
    "best_p",
    "best_sim",
    "best_lex_ctx",
    "top_cover",
    "found_share",
    "max_missing_idf",
    "answer_missing_idf",
    "ctx_sim_top",
    "off_topic",
)
# Which way each piece of evidence may move the confidence: up with how well the best unit and the
# top passages match the question, down with its key words missing and with an answer about
# something else. The fit keeps every weight on its side (0 at most); a free fit on 17 unanswerable
# questions gave several the other sign (a surer answer model lowered the confidence).
CONFIDENCE_SIGNS: dict[str, int] = {
    "best_p": 1,
    "best_sim": 1,
    "best_lex_ctx": 1,
    "top_cover": 1,
    "found_share": 1,
    "max_missing_idf": -1,
    "answer_missing_idf": -1,
    "ctx_sim_top": 1,
    "off_topic": -1,
}

_QUANTITY_Q = re.compile(
    r"\b(how (much|many|long|old|often|soon|far|big|large)|what (percentage|number))\b", re.I
)
_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|hundred)\b", re.I)
# Words about the asker, not the subject ("How do *you* ..."): they say nothing about which sentence answers.
_ASKER_WORDS = frozenset({"i", "me", "my", "we", "us", "our", "you", "your"})
_ASKS_WHO = re.compile(r"\b(who|whom|whose)\b", re.I)
# Comparisons in general English: "more than 80 hours" must not be answered by "80 hours or less".
# Negated, a comparison turns round: "no more than 100" and "cannot exceed 63" bound from above,
# "not less than 5" from below. "Over 80 hours" and "under 5 minutes" compare only before a number.
_UNNEGATED = r"(?<!\bno )(?<!\bnot )(?<!\bcannot )(?<!n't )(?<!\bnever )"
_NEGATED = r"(?:no|not|cannot|never|\w+n't) "
_MORE = re.compile(
    rf"\b(?:{_UNNEGATED}(?:(?:more|greater|longer) than|exceed(?:s|ing)?)|at least|or more|"
    rf"(?:over|above)(?= \d)|{_NEGATED}(?:less|fewer|shorter) than)\b",
    re.I,
)
_LESS = re.compile(
    rf"\b(?:{_UNNEGATED}(?:less|fewer|shorter) than|at most|or less|or fewer|(?:under|below)(?= \d)|"
    rf"{_NEGATED}(?:(?:more|greater|longer) than|exceed))\b",
    re.I,
)
_ANAPHOR = re.compile(r"^(they|these|this|it|he|she|their|its|such|both|that|those)\b", re.I)
_WEIGHTS_FILE = Path(__file__).with_name("answer_weights.json")
# A unit's opening content tokens: what it is about ("TTS is located on ..." for "Which floor is TTS
# on?"). 2 of {0 (no feature), 2, 3, 5}, chosen by nested leave-one-corpus-out over the demo set and
# the three pool corpora, with the other features as shipped: every fold chooses 2
# (bench/lead_tokens.py, bench/results/2026-11-30_lead_tokens.md).
LEAD_TOKENS = 2
# A unit this short (in words) is a heading-like sentence (the ``short`` feature): it names a
# subject, and the sentence after it often says what is asked about it.
SHORT_WORDS = 6


@dataclass(frozen=True)
class Candidate:
    """One answer unit of a top passage, with what its features need.

    Attributes:
        row: Its row in the index's unit arrays.
        chunk_id: The chunk (passage) it belongs to.
        rank: The passage's rank (1 = best).
        gap: How far the passage's fused score is below the best passage's.
        start: Start offset in the document.
        end: End offset in the document.
        text: Its readable text.
        context: Title and heading path of its chunk.
        neighbours: Rows of the units right before and after it in the same chunk.
        previous: Row of the unit right before it in the same chunk (what "They ..." refers to).
        cells: For a table row, its cells' own text (the row as written, without the column names
            its readable text repeats); the lexical features read it, the names count as context.
            None for any other unit.
    """

    row: int
    chunk_id: int
    rank: int
    gap: float
    start: int
    end: int
    text: str
    context: str
    neighbours: tuple[int, ...]
    previous: int | None = None
    cells: str | None = None
    before_code: bool = False

    @property
    def is_row(self) -> bool:
        """A table row (it has cells)."""
        return self.cells is not None


@dataclass(frozen=True)
class UnitScore:
    """A scored answer unit: its candidate, model score and the raw features."""

    candidate: Candidate
    score: float
    features: dict[str, float]
    # Similarity to the question of each of `candidate.neighbours`, in their order, and how much of
    # the question's words each says (its ``lex`` feature; 0 for a neighbour that is no candidate).
    neighbour_sims: tuple[float, ...] = ()
    neighbour_lex: tuple[float, ...] = ()

    @property
    def sim(self) -> float:
        """Embedding similarity to the question."""
        return self.features["sim"]


@dataclass(frozen=True)
class LogisticModel:
    """Standardised features, a weight each and a bias: ``p = sigmoid(w · (x - mean) / scale + b)``."""

    names: tuple[str, ...]
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    coef: npt.NDArray[np.float64]
    bias: float

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LogisticModel:
        """Read a model written by ``bench/fit_answers.py``."""
        names = tuple(str(n) for n in data["names"])  # type: ignore[attr-defined]
        arrays = [np.asarray(data[key], dtype=np.float64) for key in ("mean", "scale", "coef")]
        if any(a.shape != (len(names),) for a in arrays):
            raise ValueError("answer weights: mean, scale and coef must have one value per feature")
        return cls(names, arrays[0], arrays[1], arrays[2], float(data["bias"]))  # type: ignore[arg-type]

    def logits(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Linear scores of feature rows (columns in `names` order)."""
        return ((x - self.mean) / self.scale) @ self.coef + self.bias


@dataclass(frozen=True)
class AnswerModels:
    """The unit scorer, the confidence model and the abstention threshold."""

    answer: LogisticModel
    confidence: LogisticModel
    abstain_below: float


def load_models(path: Path = _WEIGHTS_FILE) -> AnswerModels:
    """Read the shipped weights.

    Raises:
        ValueError: The file is malformed or names other features than this code computes.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    answer = LogisticModel.from_dict(data["answer"])
    conf = LogisticModel.from_dict(data["confidence"])
    if answer.names != FEATURES or conf.names != CONFIDENCE_FEATURES:
        raise ValueError(f"{path} was fitted on other features; rerun bench/fit_answers.py")
    return AnswerModels(answer, conf, float(data["abstain_below"]))


def _ordered_agreement(q_tokens: list[str], u_tokens: list[str]) -> float:
    """In [-1, 1]: +1 when every shared pair of question words keeps its order in the unit.

    Pairs of words the question says close together (next to each other among the shared words)
    weigh most, 1/distance: a relation's two ends ("reports to the COO") decide the direction, while a
    far phrase such as a trailing "in Kubernetes" may stand anywhere in the answer ("In Kubernetes,
    1 CPU unit is ..."). Every pair weighing the same was 2 held-out answers worse over the
    leave-one-corpus-out folds (18f, Kubernetes +1 each, no fold worse; 2026-11-30).
    """
    first: dict[str, int] = {}
    for i, tok in enumerate(u_tokens):
        first.setdefault(tok, i)
    shared = [t for t in dict.fromkeys(q_tokens) if t in first]
    pairs = [(a, b, 1.0 / (j - i)) for i, a in enumerate(shared) for j, b in enumerate(shared) if j > i]
    if not pairs:
        return 0.0
    agree = sum(w if first[a] < first[b] else -w for a, b, w in pairs)
    return agree / sum(w for _, _, w in pairs)


def coverage(q_tokens: Sequence[str], text_tokens: Sequence[str], idf: Callable[[str], float]) -> float:
    """Share of the question's distinct content words found in the text, weighted by rarity (idf)."""
    distinct = set(q_tokens)
    total = sum(idf(t) for t in distinct)
    return sum(idf(t) for t in distinct & set(text_tokens)) / total if total > 0 else 0.0


def question_tokens(question: str) -> list[str]:
    """The question's content tokens, without words about the asker."""
    return [t for t in tokenize(question) if t not in _ASKER_WORDS]


def _direction(text: str) -> int:
    """+1 when the text compares upwards ("more than"), -1 downwards ("or less"), 0 for neither or both."""
    return int(bool(_MORE.search(text))) - int(bool(_LESS.search(text)))


def comparison_agreement(question: str, text: str) -> float:
    """+1 when a unit compares in the question's direction, -1 when in the other, else 0."""
    asked = _direction(question)
    return float(asked * _direction(text)) if asked else 0.0


_WHEN_Q = re.compile(r"^\s*when\b|\bwhat (date|day|time|year|month)\b", re.I)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"\d+\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?)|before|after|until|within|"
    r"daily|weekly|monthly|annually|yearly)\b",
    re.I,
)
_WHO_Q = re.compile(r"^\s*(who|whom|whose)\b", re.I)
_NAME_INSIDE = re.compile(r"(?<=\w[ ,;:(])[A-Z][\w-]+")


def _wh_match(question: str, text: str) -> float:
    """1 when a "when" question meets a date or duration, or a "who" question a capitalised name
    past the first word; 0 otherwise (general English only)."""
    if _WHEN_Q.search(question):
        return float(bool(_DATE.search(text)))
    if _WHO_Q.search(question):
        return float(bool(_NAME_INSIDE.search(text)))
    return 0.0


def wants_number(question: str) -> bool:
    """A question whose answer is a quantity, a duration or a frequency."""
    return bool(_QUANTITY_Q.search(question))


def asks_who(question: str) -> bool:
    """A question whose answer is a person or a role (then naming another role is not off-topic)."""
    return bool(_ASKS_WHO.search(question))


# "Label: value" (a field of a reference entry: "Default: None", "Required: yes").
_FIELD_VALUE = re.compile(r"^[^:\n]{1,30}:\s+\S")
_FIELD_LABEL = re.compile(r"^([A-Za-z][\w -]{0,29}):\s+\S")
# The same field in parentheses after a description ("Output directory (default: dist)").
_FIELD_IN_PARENS = re.compile(r"[(\[]\s*([A-Za-z][\w -]{0,29}):\s*[^\s)\]]")


def is_answerable_text(text: str) -> bool:
    """False for a question (or quiz with its options) and for bare labels: they answer nothing.

    A short list item holding a value ("memory.available<100Mi (Linux nodes)") is not a label, nor
    is a field that gives one ("Default: 'session'", "Type: str").
    """
    words = len(text.split())
    if "?" in text or words < 2:
        return False
    return (
        words >= 5
        or text.rstrip()[-1:] in ".!"
        or bool(re.search(r"\d", text))
        or bool(_FIELD_VALUE.match(text))
    )


@dataclass(frozen=True)
class QuestionInfo:
    """What unit features need to know about the question."""

    text: str
    tokens: list[str]
    vector: npt.NDArray[np.float32]
    wants_number: bool
    entities: frozenset[str]


def unit_sims(
    vector: npt.NDArray[np.float32], candidates: list[Candidate], unit_vectors: npt.NDArray[np.float32]
) -> dict[int, float]:
    """Similarity to the question (`vector`) of every candidate unit and of its neighbours, by
    unit row, in one product."""
    needed = list(
        dict.fromkeys([*(c.row for c in candidates), *(r for c in candidates for r in c.neighbours)])
    )
    all_sims = np.asarray(unit_vectors[needed], np.float32) @ vector if needed else np.zeros(0)
    return dict(zip(needed, all_sims.tolist(), strict=True))


def unit_features(
    question: QuestionInfo,
    candidates: list[Candidate],
    unit_vectors: npt.NDArray[np.float32],
    chunk_sims: dict[int, float],
    text_of: Callable[[int], str],
    idf: Callable[[str], float],
    entities: Callable[[list[str]], set[str]] | None = None,
    tokens_of: Callable[[str], list[str]] = tokenize,
    sims: Mapping[int, float] | None = None,
) -> npt.NDArray[np.float64]:
    """The `FEATURES` matrix of the candidates (one row each, in order).

    `tokens_of` tokenizes a unit or its context (the engine adds acronym equivalents there);
    `sims` are `unit_sims` when the caller has them already.
    """
    q = question.tokens
    rows: list[list[float]] = []
    sim_of = unit_sims(question.vector, candidates, unit_vectors) if sims is None else sims
    weight = {t: idf(t) for t in set(q)}
    total = sum(weight.values())

    def covered(tokens: Sequence[str]) -> float:
        """`coverage` of the question by `tokens`, with the question's weights computed once."""
        return sum(weight[t] for t in weight.keys() & set(tokens)) / total if total > 0 else 0.0

    for cand in candidates:
        sim = sim_of[cand.row]
        u_tokens = tokens_of(cand.text if cand.cells is None else cand.cells)
        ctx_tokens = tokens_of(cand.context if cand.cells is None else f"{cand.context} {cand.text}")
        nb_tokens = [t for r in cand.neighbours for t in tokens_of(text_of(r))]
        nb_sim = max((sim_of[r] for r in cand.neighbours), default=0.0)
        words = len(cand.text.split())
        referent = (
            tokens_of(text_of(cand.previous))
            if cand.previous is not None and _ANAPHOR.match(cand.text)
            else []
        )
        named = entities(u_tokens + referent) if entities and question.entities else set()
        rows.append(
            [
                float(sim),
                chunk_sims.get(cand.chunk_id, 0.0),
                nb_sim,
                covered(u_tokens),
                covered(u_tokens + ctx_tokens),
                covered(u_tokens + nb_tokens),
                _ordered_agreement(q, u_tokens),
                1.0 / cand.rank,
                cand.gap,
                float(question.wants_number and bool(_HAS_NUMBER.search(cand.text))),
                float(cand.text.rstrip().endswith(":")),
                float(cand.is_row),
                float(words < SHORT_WORDS),
                float(words > 40),
                0.0,
                0.0,
                float(bool(named) and not named & question.entities),
                comparison_agreement(question.text, cand.text),
                covered(u_tokens[:LEAD_TOKENS]),
                covered(u_tokens) / math.log2(2 + len(u_tokens)),
                _wh_match(question.text, cand.text),
                float(cand.before_code),
            ]
        )
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))
    if len(candidates):
        matrix[:, FEATURES.index("rel_sim")] = matrix[:, 0] - matrix[:, 0].max()
        lex = matrix[:, FEATURES.index("lex")]
        matrix[:, FEATURES.index("rel_lex")] = lex - lex.max()
    return matrix


def rank_units(
    candidates: list[Candidate], features: npt.NDArray[np.float64], model: LogisticModel
) -> list[UnitScore]:
    """Score candidates with the answer model, best first."""
    scores = model.logits(features) if len(candidates) else np.zeros(0)
    ranked = [
        UnitScore(c, float(s), dict(zip(FEATURES, map(float, f), strict=True)))
        for c, s, f in zip(candidates, scores, features, strict=True)
    ]
    ranked.sort(key=lambda u: -u.score)
    return ranked


# When the best unit reverses the question's word order, its two nearest rivals may take its place.
DIRECTION_RIVALS = 3


def _keep_direction(order: list[int], features: Sequence[Mapping[str, float]]) -> list[int]:
    """Never answer with a unit that reverses the question's word order ("the COO reports to the
    CEO" for "who reports to the COO?") when one of the model's next best units keeps it and says as
    much of the question. Direction is rare in the fitting data, so the model alone weighs it little.
    """
    if not order or features[order[0]]["order"] >= 0:
        return order
    best = features[order[0]]
    for i in order[1:DIRECTION_RIVALS]:
        if features[i]["order"] > 0 and features[i]["lex"] >= best["lex"]:
            return [i, *(j for j in order if j != i)]
    return order


# "What is a job?", "What are Pods?": a question that asks what a term is, and only that (a term of
# at most this many words, without the words that make it a question about something of the term's:
# "what is the plural of ...", "what is the limit for ...").
_DEFINITION_Q = re.compile(r"^\s*what(?:\s+is|\s+are|['’]s)\s+(?P<term>[^?]+?)\s*\??\s*$", re.I)
_TERM_WORDS = 4
_NOT_IN_TERM = frozenset(
    "of in for to on at by with from about into than between and or if when where how who which "
    "that this these those it its i me my we our you your do does can should must will".split()
)
_DETERMINERS = frozenset({"a", "an", "the"})
# "X is ...", "Xs are ...", "X refers to ...", "X means ...": the sentence says what X is.
_DEFINING_VERBS = frozenset({"is", "are", "refer", "mean", "represent", "denote"})
# "... is called X", "... named X", "known as X", "we refer to this as X".
_NAMING_WORDS = frozenset({"called", "named", "termed"})
_AS_NAMING = frozenset({"known", "refer", "referred"})


def _plain_words(text: str) -> list[str]:
    """Lowercase words without emphasis underscores, plural "s" folded ("Jobs" = "job")."""
    words = [w.strip("_'’.") for w in re.findall(r"[\w][\w'’+#.-]*", text.lower())]
    words = [w for w in words if w]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def defined_term(question: str) -> tuple[str, ...] | None:
    """The term a "what is X?" question asks about (its words as `_plain_words` gives them), or
    None for any other question."""
    found = _DEFINITION_Q.match(question)
    if not found:
        return None
    words = _plain_words(found.group("term"))
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    if not words or len(words) > _TERM_WORDS or any(w in _NOT_IN_TERM for w in words):
        return None
    return tuple(words)


def defines(term: tuple[str, ...], text: str) -> bool:
    """True when `text` says what `term` is: it opens with the term and a defining verb ("A job
    is ...", "Jobs are ..."), or it names the term ("... is called a job", "known as jobs").
    General English only."""
    words = _plain_words(text)
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    n = len(term)
    if tuple(words[:n]) == term and len(words) > n and words[n] in _DEFINING_VERBS:
        return True
    for i in range(1, len(words) - n + 1):
        if tuple(words[i : i + n]) != term:
            continue
        j = i - 1 if words[i - 1] not in _DETERMINERS or i < 2 else i - 2
        if words[j] in _NAMING_WORDS or (words[j] == "as" and _AS_NAMING & set(words[max(0, j - 4) : j])):
            return True
    return False


def asked_field(question_tokens: Sequence[str], text: str, not_naming: Sequence[str] = ()) -> bool:
    """True when `text` is a reference field ("Default: 5173", "Type: boolean") whose label the
    question names ("What is the default port …?"): under its subject's heading, that field is the
    value asked for, though alone it embeds far from the question."""
    asked = set(question_tokens)
    for found in (_FIELD_LABEL.match(text), *_FIELD_IN_PARENS.finditer(text)):
        label = set(tokenize(found.group(1))) if found else set()
        if label and label <= asked and not label & set(not_naming):
            return True
    return False


# "How many weeks of leave ...?", "What is the maximum number of owners ...?": a question that asks
# for a count of something, named by the words after "how many" / "number of" up to the first
# function word. General English only; "how many times" names no counted thing a text would repeat.
_COUNT_Q = re.compile(r"\bhow\s+many\s+(?P<many>[^?]*)|\bnumber\s+of\s+(?P<number>[^?]*)", re.I)
_NOT_COUNTED = frozenset({"times", "more", "less", "fewer", "of"})
_ENDS_COUNTED = _NOT_IN_TERM | frozenset(
    "a an the is are was were be been per each get have has may could would did there they their "
    "them than".split()
)
# Tokens (stemmed, as `tokenize` leaves them) that state a count without digits: number words
# become digits in `tokenize`; these are the rest ("a single instance", "a few entries").
_COUNT_WORDS = frozenset(
    t
    for w in ("single", "few", "several", "dozen", "hundred", "thousand", "million", "unlimited")
    for t in tokenize(w)
)
# A count stands at most this many tokens before the counted word ("up to 13 days", "5 trustee
# positions", "a maximum of 5 keywords"; stopwords are no tokens). Read off English, not fitted:
# 2 and 4 gave the same answers on the 22 question sets but one (2026-12-01: 4 also abstained on
# a Kubernetes unanswerable question whose answer says "one or more worker nodes").
COUNT_WINDOW = 3


def counted_words(question: str) -> frozenset[str]:
    """The tokens of what a "how many ...?" question counts (empty for any other question)."""
    found = _COUNT_Q.search(question)
    if not found:
        return frozenset()
    words = []
    for word in re.findall(r"[\w'’-]+", found.group("many") or found.group("number") or ""):
        if word.lower() in _ENDS_COUNTED or any(c.isdigit() for c in "".join(tokenize(word))):
            break  # "... names one certificate can hold": a number starts another phrase
        words.append(word)
    if not words or words[0].lower() in _NOT_COUNTED:
        return frozenset()
    return frozenset(tokenize(" ".join(words)))


def _is_count(token: str) -> bool:
    """A token that is a number: a figure, a number word (digits once tokenized) or `_COUNT_WORDS`."""
    return any(c.isdigit() for c in token) or token in _COUNT_WORDS


# A number anywhere in a text, in figures or words; "one" is left out: alone, it is as often a
# pronoun ("a new one", "no one") as a number (next to what it counts, `states_count` reads it).
_NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|"
    r"eigh|nine)teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million)\b",
    re.I,
)


def states_count(counted: frozenset[str], text: str, context: str = "") -> bool:
    """True when `text` gives a number of one of the `counted` things ("up to 4 weeks of leave",
    "a single instance") — what a "how many ...?" question asks for, whichever number it is — or,
    under a heading that names one of them (the last of the heading path `context`), any number
    ("The default is 16" under "codegen-units"; for a list item, what follows that heading in
    `context` is the list's lead-in, which counts as well)."""
    heading = context.rsplit(SECTION_SEPARATOR.strip(), 1)[-1]
    if counted & set(tokenize(heading)) and _NUMBER.search(text):
        return True
    tokens = tokenize(text)
    return any(
        token in counted and any(map(_is_count, tokens[max(0, i - COUNT_WINDOW) : i]))
        for i, token in enumerate(tokens)
    )


# "What is the maximum size of ...?": a question about a limit, answered by a number (or by there
# being none). Asked as "what is the ...", not "how do I set the maximum ...".
# "How much does/is/will ...?" (not "how much time ..."): a question about an amount, answered
# the same way (or by it costing nothing).
# Also "What minimum percentage ...?" and "How much RAM ... at minimum?": a question word that
# asks for a value with the limit right after it, or a "how much/many/long" question that asks for
# the limit later on.
_LIMIT_Q = re.compile(
    r"\b(?:what|which)(?:['’]?s|\s+is|\s+are)?(?:\s+the)?\s+(?:maximum|minimum|max|min)\b"
    r"|\bhow\s+(?:much|many|long|big|large)\b[^?]*\b(?:maximum|minimum)\b"
    r"|\bhow\s+much\s+(?:do|does|did|is|are|was|will|would|can|could|should)\b",
    re.I,
)
_NO_LIMIT = re.compile(
    r"\b(?:unlimited|no\s+(?:limit|maximum|minimum|cost|charge)|not\s+limited|free\s+of\s+charge)\b"
    r"|\b(?:is|are)\s+free\b",
    re.I,
)


def quantity_check(question: str) -> Callable[[str, str], bool] | None:
    """For a question that asks how many of something there are or what a limit is, whether an
    answer (its readable text, and its chunk's heading path) gives one: a number of what is
    counted (`states_count`) or any number for a limit (`_NUMBER`; "a few" is none), or that
    there is no limit. None for any other question.

    A "how many"/"maximum" question answered without one is a question the corpus does not
    answer, however many of its words the answer shares: the service abstains on it
    (`index.answerer.Answerer.answer`, and so does the fit, ``bench/fit_answers.py``)."""
    counted = counted_words(question)
    if counted:
        return lambda text, context: states_count(counted, text, context) or bool(_NO_LIMIT.search(text))
    if _LIMIT_Q.search(question):
        return lambda text, _context: bool(_NUMBER.search(text) or _NO_LIMIT.search(text))
    return None


def shaped_as_asked(question: str) -> Callable[[str], bool]:
    """Which units have the shape the question asks for: for a "how many"/"maximum" question, one
    that gives such a number (`quantity_check`); for a "what is X?" question, a sentence that says
    what X is (`defines`; a field labelled X, "job: api-server", only shows one); for any, a field
    the question names (`asked_field`)."""
    term = defined_term(question)
    tokens = tokenize(question)
    quantity = quantity_check(question)
    if quantity:
        return lambda text: quantity(text, "") or asked_field(tokens, text)
    if term:
        # "What is the default output directory?": a field labelled "Default" shows the value asked
        # for; one labelled with the term's head word ("Directory: ...") only names it.
        head = tokenize(term[-1])
        return lambda text: defines(term, text) or asked_field(tokens, text, head)
    return lambda text: asked_field(tokens, text)


def _keep_shape(
    order: list[int], features: Sequence[Mapping[str, float]], shaped: Sequence[bool]
) -> list[int]:
    """Answer with a unit of the shape the question asks for (`shaped_as_asked`) rather than one
    that only names its subject ("job: api-server" for "what is a job?", "Specify server port."
    for "what is the default port?") when one of the model's two next best units, or a unit of the
    best one's own passage, has it and says as much of the question with its headings. Such
    questions are rare in the fitting data, so the model alone cannot learn what shape answers them."""
    if not order or not shaped or shaped[order[0]]:
        return order
    best = features[order[0]]
    for place, i in enumerate(order[1:], 1):
        # Further down than the two rivals, only a unit of the best one's own passage (the same
        # rank): the field under the same heading ("Default: false" below "Generate production
        # source maps." for "default value of build.sourcemap").
        near = place < DIRECTION_RIVALS or features[i]["rank_inv"] == best["rank_inv"]
        if near and shaped[i] and features[i]["lex_ctx"] >= best["lex_ctx"]:
            return [i, *(j for j in order if j != i)]
    return order


def choose(
    scores: Sequence[float], features: Sequence[Mapping[str, float]], shaped: Sequence[bool] = ()
) -> tuple[list[int], bool]:
    """The answer stage's choice among scored units: their order, best first, and whether the corpus
    answers the question only about something else.

    The order is by score, with `_keep_direction` and `_keep_shape` applied (`shaped` says which
    units have the shape the question asks for, `shaped_as_asked`), without units about something
    else: a
    unit that names other things of the corpus (acronyms, defined terms) and not the one the question
    names ("the COO earns ..." for "what does a CCO earn") is never the answer. When such a unit is
    the best of all and says more of what is asked than any unit about the right thing, the corpus
    answers the question about that other thing only ("what does the COO do in healthcare" when only
    the CCO's healthcare work is described): the second value is then True.

    The service (`index.answerer.Answerer`) and the leave-one-corpus-out fit
    (``bench/fit_answers.py``) both choose with this function, so the fit measures what is served.
    """
    order = _keep_direction(sorted(range(len(scores)), key=lambda i: -scores[i]), features)
    order = _keep_shape(order, features, shaped)
    kept = [i for i in order if not features[i]["off_topic"]]
    first = features[order[0]] if order else None
    about_other = (
        first is not None
        and bool(first["off_topic"])
        and (not kept or features[kept[0]]["lex"] < first["lex"])
    )
    return kept, about_other


def extend_anaphora(best: UnitScore, units_in_chunk: list[tuple[int, int]], doc_text: str) -> tuple[int, int]:
    """Join the preceding sentence when the answer starts with "They/This/It ..." (it needs its
    subject), and the following one when the answer only names its subject ("File hooks." or
    "Change the passcode.", fewer than `SHORT_WORDS` words) and that sentence goes on about it
    ("These run when ...", "It must be ..."). Never across a paragraph break."""
    cand = best.candidate
    start, end = cand.start, cand.end
    if _ANAPHOR.match(cand.text):
        previous = [(s, e) for s, e in units_in_chunk if e <= cand.start]
        if previous and "\n\n" not in doc_text[previous[-1][1] : cand.start]:
            start = previous[-1][0]
    elif len(cand.text.split()) < SHORT_WORDS:
        following = [(s, e) for s, e in units_in_chunk if s >= cand.end]
        if (
            following
            and _ANAPHOR.match(doc_text[following[0][0] : following[0][1]])
            and "\n\n" not in doc_text[cand.end : following[0][0]]
        ):
            end = following[0][1]
    return start, end


def sigmoid(z: float) -> float:
    """The logistic function, safe for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
