"""Passages re-ordered by what the answer stage found in them (`index.answerer.order_by_evidence`)."""

from __future__ import annotations

from index.answer import Candidate, UnitScore
from index.answerer import Answered, order_by_evidence
from index.types import AnswerSpan, Passage


def _passage(rank: int, chunk_id: int, score: float) -> Passage:
    return Passage(
        rank=rank,
        score=score,
        doc_id=f"doc{chunk_id}",
        title="t",
        source="s",
        section="",
        start=0,
        end=10,
        text="0123456789",
        chunk_id=chunk_id,
    )


def _unit(chunk_id: int, rank: int, score: float) -> UnitScore:
    cand = Candidate(
        row=chunk_id,
        chunk_id=chunk_id,
        rank=rank,
        gap=0.0,
        start=0,
        end=5,
        text="01234",
        context="",
        neighbours=(),
    )
    return UnitScore(cand, score, {})


def test_the_answers_passage_comes_first_then_the_others_by_their_best_sentence() -> None:
    # Retrieval order: chunk 10, 11 (no answer units: code), 12, 13. The answer is in chunk 13.
    passages = [_passage(1, 10, 0.9), _passage(2, 11, 0.8), _passage(3, 12, 0.7), _passage(4, 13, 0.6)]
    answer_unit = _unit(13, 4, 5.0)
    scored = (answer_unit, _unit(12, 3, 2.0), _unit(10, 1, 1.0), _unit(10, 1, -3.0))
    span = AnswerSpan(text="01234", doc_id="doc13", start=0, end=5, passage_rank=4, display="01234")
    answered = Answered(span, 0.9, ranked=scored, scored=scored)

    reordered, moved = order_by_evidence(passages, answered)

    # The passage without units keeps its place; the scored ones are ordered answer first.
    assert [p.chunk_id for p in reordered] == [13, 11, 12, 10]
    assert [p.rank for p in reordered] == [1, 2, 3, 4]
    assert [p.score for p in reordered] == [0.9, 0.8, 0.7, 0.6]  # each place keeps its score
    assert moved is not None and moved.passage_rank == 1
    assert reordered[moved.passage_rank - 1].doc_id == moved.doc_id


def test_without_an_answer_the_passages_go_by_their_best_sentence() -> None:
    passages = [_passage(1, 10, 0.9), _passage(2, 12, 0.7)]
    scored = (_unit(12, 2, 2.0), _unit(10, 1, 1.0))
    reordered, span = order_by_evidence(passages, Answered(None, 0.0, ranked=scored, scored=scored))
    assert [p.chunk_id for p in reordered] == [12, 10]
    assert span is None
