"""How `docqa eval` counts what it reports, on outcomes made by hand (no index needed)."""

from __future__ import annotations

from service.evaluation import QuestionOutcome, _aggregate


def _outcome(answer: str, display: str) -> QuestionOutcome:
    return QuestionOutcome(
        id="q",
        kind="fact",
        question="?",
        resolved_question=None,
        hit_rank=1,
        answer_correct=True,
        abstained=False,
        confidence=0.9,
        clarified=None,
        citations_ok=True,
        answer=answer,
        answer_display=display,
    )


def test_answer_words_are_the_words_a_reader_reads() -> None:
    # The cited source counts a template tag and a comment as words; the reader sees neither.
    source = "Restart the gateway {{< note >}} first <!-- check with the on-call lead -->."
    outcome = _outcome(source, "Restart the gateway first.")
    assert _aggregate([outcome], 5)["answer_words_p90"] == 4
