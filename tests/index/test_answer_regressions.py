"""Answer selection on documents like real ones: one test per failure seen on real documentation.

The corpus (tests/data/answer-regressions/) is made up for these tests: hard-wrapped Markdown with
front matter, a list of values after a lead-in, a nested list whose items hang from an item, a
table, a default stated under its heading, two sentences that differ only in the direction of a
comparison, and a page that counts some things and not others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "data" / "answer-regressions"

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def regressions_index(tmp_path_factory: pytest.TempPathFactory, model_path: str) -> Any:
    from index import build_index, load_index

    index_dir = tmp_path_factory.mktemp("answer-regressions") / "index"
    build_index(CORPUS, index_dir, model_path)
    return load_index(index_dir, model_path)


def _answer(index: Any, question: str) -> str:
    result = index.query(question)
    assert result.answer is not None, (question, result.confidence)
    return str(result.answer.display)


def test_titles_come_from_front_matter_not_the_fence(regressions_index: Any) -> None:
    titles = {doc.title for doc in regressions_index.documents.values()}
    assert titles == {"Leave without pay", "Rollout settings", "Equipment"}


def test_a_hard_wrapped_sentence_is_answered_whole(regressions_index: Any) -> None:
    answer = _answer(regressions_index, "When does unused leave expire?")
    assert answer == "Unused leave carries over to the next year and expires on March 31."


def test_the_comparison_asked_wins_over_its_contrasting_neighbour(regressions_index: Any) -> None:
    more = _answer(regressions_index, "Who must approve more than 40 hours of leave without pay?")
    assert "head of the department" in more
    less = _answer(regressions_index, "Who approves 40 hours or less of leave without pay?")
    assert "40 hours or less" in less


def test_a_value_in_a_list_item_comes_with_its_lead_in(regressions_index: Any) -> None:
    answer = _answer(regressions_index, "How much leave do I earn per pay period after 5 years?")
    assert "5 hours per pay period" in answer
    assert answer.startswith("Leave accrues based on how long")  # the lead-in says what the value is


def test_an_item_of_a_nested_list_comes_with_the_item_it_hangs_from(regressions_index: Any) -> None:
    # "- Three to four weeks in advance for:" is itself a list item; its sub-items need it.
    answer = _answer(regressions_index, "How far in advance do I ask for an absence longer than two weeks?")
    assert answer.startswith("Three to four weeks in advance for:")
    assert "An absence longer than two weeks" in answer


def test_a_table_row_answers_with_its_column_headers(regressions_index: Any) -> None:
    answer = _answer(regressions_index, "What is the default maxUnavailable during a rollout?")
    assert "maxUnavailable" in answer and "Default: 25%" in answer
    assert "|" not in answer


def test_a_sentence_answers_under_the_heading_that_names_the_subject(regressions_index: Any) -> None:
    answer = _answer(regressions_index, "What is the default progress deadline of a rollout?")
    assert "600" in answer


def test_a_question_with_typos_is_answered(regressions_index: Any) -> None:
    answer = _answer(regressions_index, "wen does unusd leave expier")
    assert "March 31" in answer


def test_a_short_word_typed_with_two_letters_swapped_is_corrected(regressions_index: Any) -> None:
    # Short unknown words are corrected only to question words, or (four letters) when two
    # adjacent letters were swapped ("tmie" -> "time"); "tme" stays (too many near misses).
    corrected = regressions_index._for_scoring(regressions_index._with_corrections("pause at any tmie"))
    assert corrected.split()[-1] == "time"
    assert regressions_index._with_corrections("pause at any tme").split()[-1] == "tme"


def test_off_topic_questions_abstain(regressions_index: Any) -> None:
    for question in ("What is the tallest mountain in Africa?", "How many strings does a violin have?"):
        result = regressions_index.query(question)
        assert result.abstained and result.answer is None, question


def test_a_how_many_question_is_answered_only_with_a_number_of_what_it_counts(regressions_index: Any) -> None:
    # The corpus talks about monitors, never says how many: the sentences that name them are no
    # answer, however many words they share with the question.
    for question in ("How many monitors can I ask for?", "How many monitors does each floor share?"):
        result = regressions_index.query(question)
        assert result.abstained and result.answer is None, (question, result.answer)
    assert "every 3 years" in _answer(regressions_index, "How many years until my laptop is replaced?")
    assert "5 hours per pay period" in _answer(
        regressions_index, "How many hours of leave do I earn per pay period?"
    )


def test_a_row_under_a_column_named_with_a_question_mark_can_answer(regressions_index: Any) -> None:
    # "Required?" names a column; it does not make every row of the table a question.
    answer = _answer(regressions_index, "Which setting allows extra instances above the desired count?")
    assert answer.startswith("Setting: maxSurge")


def test_a_sentence_that_introduces_code_is_known_as_such(regressions_index: Any) -> None:
    # "... run this:" says nothing until its code block, which is never an answer; the answer
    # model sees it as a lead-in to code (feature code_lead), not as a sentence like the others.
    _, answered = regressions_index.answer_evidence("How do I restart a rollout from the command line?")
    leads = {u.candidate.text: u.features["code_lead"] for u in answered.scored}
    assert leads["To restart a rollout from the command line, run this:"] == 1.0
    assert leads["Instances are replaced in the order they were created."] == 0.0


def test_an_answer_that_introduces_one_line_of_code_shows_it(regressions_index: Any) -> None:
    # Alone, "... run this:" says what to do but not how; the command is one line, so it is shown,
    # and the citation covers it: the span is still exactly the document's text.
    result = regressions_index.query("What command restarts a rollout from the command line?")
    answer = result.answer
    assert answer is not None
    assert answer.display == "To restart a rollout from the command line, run this: rollout restart web"
    doc = regressions_index.documents[answer.doc_id]
    assert doc.text[answer.start : answer.end] == answer.text
    assert answer.text.startswith("To restart") and answer.text.endswith("rollout restart web")


def test_a_list_item_answers_whole_when_it_names_its_subject_in_one_sentence_and_its_value_in_the_next(
    regressions_index: Any,
) -> None:
    answer = _answer(regressions_index, "How long may one health check run by default?")
    assert "healthTimeout" in answer and "Defaults to 5 seconds." in answer
    assert "healthInterval" not in answer  # the next item is another setting


def test_a_lead_in_answers_with_its_whole_list_when_its_items_are_phrases(regressions_index: Any) -> None:
    # Either item alone is half the answer; items that are sentences of their own are not joined
    # (test above: another setting's item stays out).
    answer = _answer(regressions_index, "What does each rollout event record?")
    assert answer == (
        "Each rollout event records: • the instance that was replaced • the time of the replacement"
    )


def test_a_question_asked_without_the_passages_that_answer_it(regressions_index: Any) -> None:
    # How the confidence model learns near-domain questions (bench/fit_answers.py): the same
    # question, its answering passages left out, the next ones ranked in their places.
    question = "When does unused leave expire?"
    passages, _ = regressions_index.answer_evidence(question)
    assert any("March 31" in p.text for p in passages)
    without, answered = regressions_index.answer_evidence(question, leave_out=lambda p: "March 31" in p.text)
    assert without and not any("March 31" in p.text for p in without)
    assert [p.rank for p in without] == list(range(1, len(without) + 1))
    assert all("March 31" not in u.candidate.text for u in answered.scored)
    assert answered.confidence < regressions_index.query(question).confidence


def test_an_answer_sentence_comes_with_the_sentence_beside_it_that_is_closer_to_the_question(
    regressions_index: Any,
) -> None:
    import dataclasses

    def shown(question: str, starts: str, sims: list[float], said: list[float] | None = None) -> str:
        """The answer `starts` gives with its neighbours this much closer in meaning to the question
        (`sims`) and saying this much more of its words (`said`, default: less than it)."""
        passages, answered = regressions_index.answer_evidence(question)
        unit = next(u for u in answered.scored if u.candidate.text.startswith(starts))
        assert (
            len(unit.neighbour_sims) == len(unit.neighbour_lex) == len(unit.candidate.neighbours) == len(sims)
        )
        lex = unit.features["lex"]
        raised = dataclasses.replace(
            unit,
            neighbour_sims=tuple(unit.sim + d for d in sims),
            neighbour_lex=tuple(lex + d for d in (said or [-0.1] * len(sims))),
        )
        return str(regressions_index.answer_span(raised, passages).display)

    lwop = "Leave without pay (LWOP) is unpaid time away from work that your manager approves in advance."
    question = "What is leave without pay granted for?"
    assert shown(question, "Leave without pay (LWOP)", [0.1]) == (
        lwop + " It is granted for personal reasons, for study or for caring duties."
    )
    assert shown(question, "Leave without pay (LWOP)", [-0.1]) == lwop  # no neighbour closer: alone
    # a neighbour further in meaning that says more of the question's words joins too
    assert shown(question, "Leave without pay (LWOP)", [-0.1], [0.2]).startswith(lwop + " It is granted")
    # ... and so does the next one when it says as many of them (the answer says some)
    assert shown(question, "Leave without pay (LWOP)", [-0.1], [0.0]).startswith(lwop + " It is granted")
    order = "Instances are replaced in the order they were created."
    question = "In what order are instances restarted?"
    assert shown(question, "Instances are", [0.1, -0.1]).endswith("without changing the template. " + order)
    # the sentence before, saying as many words but further in meaning, stays out
    assert shown(question, "Instances are", [-0.1, -0.1], [0.0, -0.1]) == order
    # the next sentence starts another paragraph: never joined, however close
    assert shown(question, "Instances are", [-0.1, 0.3], [-0.1, 0.3]) == order
    # a list item keeps its own shape (its lead-in), whatever its neighbours say
    question = "How much leave do I earn after 5 years?"
    item = shown(question, "Between 2 and 10 years", [0.2, 0.2])
    assert item == shown(question, "Between 2 and 10 years", [-0.2, -0.2])
    assert item.startswith("Leave accrues based on how long you have worked here:")
