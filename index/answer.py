"""Pick the answering sentence among the top passages, and score how sure we are.

Each answer unit (a sentence, or a table row) of the top passages is scored by:

- ``sim``: cosine of the question's and the unit's embeddings (precomputed at build time);
- ``lex``: the share of the question's content words (stemmed) the unit contains;
- ``order``: whether the question's words appear in the unit in the same order. This is what makes
  direction count: "who reports to the COO" wants "X report to the COO", while "who does the COO
  report to" wants "the COO reports to X";
- a small bonus for numbers when the question asks "how much/many", and a prior from the
  passage's retrieval score.

Confidence is a logistic function of the best unit's similarity and the question's word coverage
by the best passage; `ABSTAIN_BELOW` is the threshold (see `bench/calibrate_abstention.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from index.tokenize import tokenize

_QUANTITY_Q = re.compile(
    r"\b(how (much|many|long|old)|salary|salaries|earn|paid|pay|cost|percent|number of)\b", re.I
)
_HAS_NUMBER = re.compile(r"\d")
# Words about the asker, not the subject ("How do *you* become a COO?"): they must not make a
# sentence that happens to address the reader ("Learn everything you need…") look relevant.
_ASKER_WORDS = frozenset({"i", "me", "my", "we", "us", "our", "you", "your"})
_ASKS_FOR_A_ROLE = re.compile(r"\b(who|whom|whose|which (executive|role|officer|person))\b", re.I)
_ANAPHOR = re.compile(r"^(they|these|this|it|he|she|their|its|such|both)\b", re.I)

# Logistic calibration of confidence: fitted on a labelled set of answerable and off-topic
# questions (bench/calibrate_abstention.py, L2-regularised logistic regression), not on the dev set.
CONF_BIAS = -5.33
CONF_SIM = 7.88
CONF_LEX = 4.63
ABSTAIN_BELOW = 0.5
OFF_TOPIC_FACTOR = 0.4


@dataclass(frozen=True)
class UnitScore:
    """A scored answer unit."""

    chunk_id: int
    start: int
    end: int
    score: float
    sim: float
    lex: float
    off_topic: bool = False  # names roles, none of them the question's


def _ordered_agreement(q_tokens: list[str], u_tokens: list[str]) -> float:
    """In [-1, 1]: +1 when every shared pair of question words keeps its order in the unit."""
    first: dict[str, int] = {}
    for i, tok in enumerate(u_tokens):
        first.setdefault(tok, i)
    shared = [t for t in dict.fromkeys(q_tokens) if t in first]
    pairs = [(a, b) for i, a in enumerate(shared) for b in shared[i + 1 :]]
    if not pairs:
        return 0.0
    agree = sum((1 if first[a] < first[b] else -1) for a, b in pairs)
    return agree / len(pairs)


def coverage(q_tokens: list[str], text_tokens: list[str], idf: Callable[[str], float]) -> float:
    """Share of the question's distinct content words found in the text, weighted by rarity (idf)."""
    distinct = set(q_tokens)
    total = sum(idf(t) for t in distinct)
    return sum(idf(t) for t in distinct & set(text_tokens)) / total if total > 0 else 0.0


def score_units(
    question: str,
    q_vector: npt.NDArray[np.float32],
    candidates: list[tuple[int, int, float, int, int]],
    unit_vectors: npt.NDArray[np.float32],
    text_of: dict[int, str],
    idf: Callable[[str], float],
    topic: frozenset[str] = frozenset(),
    entities: Callable[[list[str]], set[str]] | None = None,
) -> list[UnitScore]:
    """Score answer units.

    Args:
        question: The (resolved) question.
        q_vector: Its normalised embedding.
        candidates: ``(unit_row, chunk_id, score_gap, start, end)`` for each unit of the top
            passages (score_gap: how far its passage scores below the best passage), with
            ``text_of[unit_row]`` its text.
        unit_vectors: All units' embeddings (rows indexed by unit_row).
        text_of: Unit texts by unit_row.
        idf: Rarity of a token in the corpus (rarer question words count more).
        topic: Tokens naming what the question is about (an acronym and its expansion). Retrieval
            already used them to find the passages; in the answer sentence they count half, so the
            sentence that matches what is *asked* ("report") wins over one that only names the topic.
        entities: The acronyms (roles) a token list talks about. A unit that names roles, none of
            them the question's, is about something else ("COO salary" for "CCO salary") and loses
            0.3 (not for "who" questions, whose answer is a role).

    Returns:
        The units best first; questions and bare labels (under five words, no final stop) are skipped.
    """
    q_tokens = [t for t in tokenize(question) if t not in _ASKER_WORDS]
    # A "who" question's answer is another role ("... reports to the CEO"), so only other questions
    # treat a sentence about a different role as off-topic.
    q_entities = entities(q_tokens) if entities and not _ASKS_FOR_A_ROLE.search(question) else set()
    wants_number = bool(_QUANTITY_Q.search(question))
    scored: list[UnitScore] = []
    for order, (row, chunk_id, gap, start, end) in enumerate(candidates):
        text = text_of[row]
        words = len(text.split())
        if "?" in text or words < 3 or (words < 5 and text.rstrip()[-1] not in ".!"):
            continue  # a question (even one run on with its quiz options), or a bare label, answers nothing
        u_tokens = tokenize(text)
        sim = float(unit_vectors[row] @ q_vector)
        lex = coverage(q_tokens, u_tokens, lambda t: idf(t) * (0.5 if t in topic else 1.0))
        score = sim + 0.5 * lex + 0.1 * _ordered_agreement(q_tokens, u_tokens) - 0.5 * gap - 0.0005 * order
        if wants_number and _HAS_NUMBER.search(text):
            score += 0.15
        off_topic = False
        if q_entities and entities is not None:
            named = entities(u_tokens)
            off_topic = bool(named) and not named & q_entities
            score -= 0.3 if off_topic else 0.0
        scored.append(UnitScore(chunk_id, start, end, score, sim, lex, off_topic))
    scored.sort(key=lambda u: -u.score)
    return scored


def extend_anaphora(best: UnitScore, units_in_chunk: list[tuple[int, int]], doc_text: str) -> tuple[int, int]:
    """Join the preceding sentence when the answer starts with "They/This/It ..." (it needs its subject)."""
    text = doc_text[best.start : best.end]
    if not _ANAPHOR.match(text):
        return best.start, best.end
    previous = [(s, e) for s, e in units_in_chunk if e <= best.start]
    if previous and "\n\n" not in doc_text[previous[-1][1] : best.start]:
        return previous[-1][0], best.end
    return best.start, best.end


def confidence(best_sim: float, lex_coverage: float, off_topic: bool = False) -> float:
    """Calibrated probability that the corpus answers the question, in [0, 1].

    When even the best sentence is about another role than the one asked about ("What does the COO
    do in healthcare?" finds only the *CCO* in healthcare), the corpus does not answer: the
    probability is scaled by `OFF_TOPIC_FACTOR`.
    """
    z = CONF_BIAS + CONF_SIM * best_sim + CONF_LEX * lex_coverage
    p = 1.0 / (1.0 + math.exp(-z))
    return p * OFF_TOPIC_FACTOR if off_topic else p
