"""Answer features on hand-made candidates: what each of the newer ones (lead, density, wh) says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.answer import (
    FEATURES,
    Candidate,
    QuestionInfo,
    UnitScore,
    asked_field,
    choose,
    comparison_agreement,
    counted_words,
    defined_term,
    defines,
    extend_anaphora,
    is_answerable_text,
    load_models,
    quantity_check,
    question_tokens,
    shaped_as_asked,
    states_count,
    unit_features,
)
from index.answerer import _introduces_code, _lead_in, _row_cells, one_line_code
from index.markdown import parse_markdown


def _features(
    question: str, texts: list[str], *, cells: list[str] | None = None, context: str = ""
) -> list[dict[str, float]]:
    """The features of `texts` as candidate units of one passage (embeddings all equal: only the
    text-shaped features differ); with `cells`, they are table rows with these cells."""
    vectors = np.ones((len(texts), 4), dtype=np.float32) / 2.0
    candidates = [
        Candidate(
            row=i,
            chunk_id=0,
            rank=1,
            gap=0.0,
            start=0,
            end=len(t),
            text=t,
            context=context,
            neighbours=(),
            cells=cells[i] if cells is not None else None,
        )
        for i, t in enumerate(texts)
    ]
    info = QuestionInfo(
        text=question,
        tokens=question_tokens(question),
        vector=np.ones(4, dtype=np.float32) / 2.0,
        wants_number=False,
        entities=frozenset(),
    )
    matrix = unit_features(info, candidates, vectors, {0: 0.5}, lambda row: texts[row], lambda _t: 1.0)
    return [dict(zip(FEATURES, row, strict=True)) for row in matrix]


def test_lead_is_what_the_sentence_opens_with() -> None:
    about, mentions = _features(
        "Which floor is the studio on?",
        ["The studio is on the sixth floor.", "Security sits on the ground floor, next to the studio."],
    )
    assert about["lead"] > mentions["lead"]
    assert about["lex"] == pytest.approx(mentions["lex"])  # the same words, said first or later


def test_density_prefers_the_short_sentence_that_says_as_much() -> None:
    short, long = _features(
        "How long is the grace period?",
        [
            "The grace period is thirty seconds.",
            "After the grace period, which many operators tune for their own workloads and "
            "clusters in several ways described elsewhere, the kubelet stops the containers.",
        ],
    )
    assert short["lex"] == pytest.approx(long["lex"])
    assert short["density"] > long["density"]


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("When did the office launch?", "The office launched on March 19, 2014.", 1.0),
        ("When did the office launch?", "The office launched with a small team.", 0.0),
        ("When are requests reviewed?", "Requests are reviewed within 5 days.", 1.0),
        ("Who approves the request?", "Requests are approved by Dana Reyes.", 1.0),
        ("Who approves the request?", "Requests are approved by your manager.", 0.0),
        ("How is the request approved?", "Requests are approved by Dana Reyes.", 0.0),
    ],
)
def test_wh_matches_the_kind_of_answer_asked_for(question: str, text: str, expected: float) -> None:
    (features,) = _features(question, [text])
    assert features["wh"] == expected


def test_weights_fitted_on_other_features_are_refused(tmp_path: Path) -> None:
    shipped = json.loads((Path(__file__).resolve().parents[2] / "index" / "answer_weights.json").read_text())
    assert shipped["answer"]["names"] == list(FEATURES)
    for key in ("names", "mean", "scale", "coef"):
        shipped["answer"][key] = shipped["answer"][key][:-1]  # as if fitted before the last feature
    stale = tmp_path / "answer_weights.json"
    stale.write_text(json.dumps(shipped), encoding="utf-8")
    with pytest.raises(ValueError, match="rerun bench/fit_answers.py"):
        load_models(stale)


def _unit(text: str, doc: str) -> UnitScore:
    start = doc.index(text)
    cand = Candidate(
        row=0,
        chunk_id=0,
        rank=1,
        gap=0.0,
        start=start,
        end=start + len(text),
        text=text,
        context="",
        neighbours=(),
    )
    return UnitScore(cand, 0.0, {})


def test_a_sentence_that_only_names_its_subject_is_shown_with_the_one_that_goes_on() -> None:
    doc = "Kinds of hooks: File hooks. These run when a matching file is installed. Timer hooks run hourly."
    units = [
        (doc.index(t), doc.index(t) + len(t))
        for t in (
            "Kinds of hooks:",
            "File hooks.",
            "These run when a matching file is installed.",
            "Timer hooks run hourly.",
        )
    ]
    start, end = extend_anaphora(_unit("File hooks.", doc), units, doc)
    assert doc[start:end] == "File hooks. These run when a matching file is installed."
    # "These ..." still takes its subject from before; a long sentence is not extended.
    start, end = extend_anaphora(_unit("These run when a matching file is installed.", doc), units, doc)
    assert doc[start:end] == "File hooks. These run when a matching file is installed."
    start, end = extend_anaphora(_unit("Timer hooks run hourly.", doc), units, doc)
    assert doc[start:end] == "Timer hooks run hourly."
    # Never across a paragraph break.
    split = doc.replace("File hooks. These", "File hooks.\n\nThese")
    units = [(split.index(t), split.index(t) + len(t)) for t in ("File hooks.", "These run")]
    start, end = extend_anaphora(_unit("File hooks.", split), units, split)
    assert split[start:end] == "File hooks."


def test_a_table_row_says_the_question_by_its_cells_not_by_the_column_names_it_repeats() -> None:
    # Both rows read "Mode: … · Pod: …": the column names are in every row's readable text. Only
    # the row whose cell says "Pod" covers the question's word; the names are context.
    header_only, in_cells = _features(
        "Which mode allows one Pod?",
        ["Mode: shared · Pod: no", "Mode: single · Pod: only one Pod"],
        cells=["| shared | no |", "| single | only one Pod |"],
        context="Access modes",
    )
    assert header_only["lex"] == 0.0  # "mode" and "pod" are only its column names
    assert in_cells["lex"] == pytest.approx(0.5)  # "one", "pod" (of: mode, allow, one, pod)
    assert header_only["lex_ctx"] == pytest.approx(0.5)  # the names count as context
    assert in_cells["lex_ctx"] == pytest.approx(0.75)


def test_word_order_weighs_the_pairs_the_question_says_together() -> None:
    # A trailing phrase ("in the cluster") that the answer puts first does not make it a reversal ...
    order = _features(
        "What does one storage unit correspond to in the cluster?",
        ["In the cluster, one storage unit equals one gigabyte.", "The cluster storage unit is a block."],
    )
    assert order[0]["order"] > 0
    # ... while a relation's two ends in the other order still are ("who reports to X").
    order = _features(
        "Who reports to the treasurer?",
        ["The treasurer reports to the board.", "Clerks report to the treasurer."],
    )
    assert order[0]["order"] < 0 < order[1]["order"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("To restart it, run this:\n\n```\nrestart web\n```\n", True),
        ("To restart it, run this:\n~~~sh\nrestart web\n~~~\n", True),
        ("Run:\n\n    make test\n", True),
        ("The steps:\n\n- stop it\n- start it\n", False),
        ("Note: this one ends the paragraph.\n\n```\ncode\n```\n", False),
        ("Here are the defaults:\n\nFilename: Cargo.toml\n\n```\n[profile.dev]\n```\n", True),
        ("The steps:\n\nFirst stop the server and wait for it.\n\n```\ncode\n```\n", False),
        ("Configure it:\n\n.. code-block:: console\n   :caption: shell\n\n   $ pager configure\n", True),
        ("Configure it::\n\n   $ pager configure\n", True),
        ("Configure it:\n\n.. note:: Back it up first.\n", False),
        ("Configure it:\n\n[source,toml]\n----\n[agent]\n----\n", True),
        ("Configure it:\n\n.Minimal file\n[source,toml]\n----\n[agent]\n----\n", True),
        ("Configure it:\n\n[NOTE]\n====\nBack it up first.\n====\n", False),
        ("We define the function with normal def:\n\n{* ../../docs_src/app_py310.py hl[6:9] *}\n", True),
        # MyST Markdown: a directive fence is code only when the directive is.
        ("Configure it:\n\n```{code-block} toml\n[agent]\n```\n", True),
        ("Configure it:\n\n```{note}\nBack it up first.\n```\n", False),
        ("Configure it:\n\n````{admonition} Careful\nBack it up first.\n````\n", False),
    ],
)
def test_a_lead_in_to_code_is_told_from_one_to_a_list(text: str, expected: bool) -> None:
    end = text.index("\n")
    assert _introduces_code(text, 0, end) is expected


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Then, reload it:\n\n\n```shell\n$ curl -X POST http://localhost:9090/-/reload\n```\n\nOr not.",
            "$ curl -X POST http://localhost:9090/-/reload",
        ),
        ("Install it with::\n\n    pip install pager\n\nThen run it.", "pip install pager"),
        (
            "Configure it:\n\n.. code-block:: console\n   :caption: shell\n\n   $ pager configure\n",
            "$ pager configure",
        ),
        ("Configure it:\n\n[source,toml]\n----\nlevel = 2\n----\n", "level = 2"),
        ("Configure it:\n\n```{code-block} toml\n[agent]\n```\n", "[agent]"),
        ("Run these:\n\n```sh\nnpm install\nnpm start\n```\n", None),  # two lines: left to the passage
        ("Run this:\n\n```sh\n" + "x" * 121 + "\n```\n", None),  # too long to read in an answer
        ("Use it:\n\n{* ../src/app.py hl[3] *}\n", None),  # an included file is not here
        ("Configure it:\n\n.. note:: Back it up first.\n", None),
        ("Configure it:\n\nNext, the pager.\n", None),
    ],
)
def test_a_lead_in_to_one_line_of_code_shows_that_line(text: str, shown: str | None) -> None:
    end = text.index("\n")
    found = one_line_code(text, end)
    assert (text[found[0] : found[1]] if found else None) == shown


@pytest.mark.parametrize(
    "text",
    [
        "- Three to five weeks in advance for:\n  - Conference events over $2,500\n",
        "* Three to five weeks in advance for:\n** Conference events over $2,500\n",  # AsciiDoc nesting
        ". Three to five weeks in advance for:\n.. Conference events over $2,500\n",
    ],
)
def test_a_nested_item_hangs_from_the_item_that_introduces_it(text: str) -> None:
    first, second = text.split("\n")[:2]
    lead_start = text.index("Three")
    item_start = text.index("Conference")
    rows = [(lead_start, len(first)), (item_start, len(first) + 1 + len(second))]
    assert _lead_in(text, rows, 1) == 0


@pytest.mark.parametrize(
    ("text", "answerable"),
    [
        ("Unused leave expires on March 31.", True),
        ("memory.available<100Mi (Linux nodes)", True),
        ("Default: 'session'", True),  # a field giving a value
        ("Type: str", True),
        ("Note:", False),  # a label
        ("Examples", False),
        ("Overview of the API", False),
        ("How long is it kept?", False),  # a question answers nothing
    ],
)
def test_which_units_can_be_an_answer(text: str, answerable: bool) -> None:
    assert is_answerable_text(text) is answerable


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What is a job?", ("job",)),
        ("What are Pods?", ("pod",)),
        ("what's a headless Service", ("headless", "service")),
        ("What is the plural of Prometheus?", None),  # asks about something of the term's
        ("What is the default integer type in Rust?", None),
        ("What is my salary?", None),
        ("How do I delete a Pod?", None),
    ],
)
def test_a_definition_question_names_its_term(question: str, term: tuple[str, ...] | None) -> None:
    assert defined_term(question) == term


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A collection of instances with the same purpose is called a _job_.", True),
        ("Jobs are collections of instances.", True),
        ("A job is a collection of instances.", True),
        ("We refer to this as a job.", True),
        ("job: api-server", False),
        ("For example, an API server job with four replicated instances:", False),
        ("Such jobs run every night.", False),
    ],
)
def test_a_sentence_that_says_what_a_term_is(text: str, expected: bool) -> None:
    assert defines(("job",), text) is expected


def test_a_definition_question_is_answered_by_a_defining_rival_of_the_best_unit() -> None:
    same = dict.fromkeys(FEATURES, 0.0) | {"lex": 1.0, "lex_ctx": 1.0}
    features = [same, same, same]
    # the example line scores best; the sentence that says what the term is comes third
    assert choose([3.0, 2.0, 1.0], features, [False, False, True])[0] == [2, 0, 1]
    assert choose([3.0, 2.0, 1.0], features)[0] == [0, 1, 2]  # any other question: by score
    weaker = [same, same, same | {"lex_ctx": 0.5}]  # a rival that says less of the question stays put
    assert choose([3.0, 2.0, 1.0], weaker, [False, False, True])[0] == [0, 1, 2]


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("What is the default port of the dev server?", "Default: 5173", True),
        ("Which type does server.open take?", "Type: boolean | string", True),
        ("What is the default port of the dev server?", "Type: number", False),  # another field
        ("What is the default port of the dev server?", "Specify server port.", False),
        ("What is a job?", "job: api-server", False),  # shows a job; says nothing of what one is
        ("What is a job?", "A collection of instances is called a job.", True),
        # a field in parentheses after a description; a "what is the default X?" question
        ("What is the default port of the dev server?", "Port to listen on (default: 5173) (number)", True),
        (
            "What is the default output directory?",
            "Options: --outDir · Output directory (default: dist)",
            True,
        ),
        ("What is the default output directory?", "Default: dist", True),
        ("What is the default output directory?", "Directory: the folder", False),  # names the term only
        ("What is a job?", "Jobs (default: none)", False),
    ],
)
def test_the_shape_a_question_asks_for(question: str, text: str, expected: bool) -> None:
    assert shaped_as_asked(question)(text) is expected


def test_a_field_of_the_best_units_own_passage_answers_a_question_about_that_field() -> None:
    best = dict.fromkeys(FEATURES, 0.0) | {"lex": 1.0, "lex_ctx": 0.6, "rank_inv": 1.0}
    other = best | {"rank_inv": 0.5}
    field = best | {"lex_ctx": 0.7}
    # the field comes fifth, below the description of the option it belongs to
    assert (
        choose([5.0, 4.0, 3.0, 2.0, 1.0], [best, other, other, other, field], [False] * 4 + [True])[0][0] == 4
    )
    # from another passage, or saying less of the question, it stays where the model put it
    elsewhere = field | {"rank_inv": 0.5}
    assert (
        choose([5.0, 4.0, 3.0, 2.0, 1.0], [best, other, other, other, elsewhere], [False] * 4 + [True])[0][0]
        == 0
    )
    weaker = field | {"lex_ctx": 0.5}
    assert (
        choose([5.0, 4.0, 3.0, 2.0, 1.0], [best, other, other, other, weaker], [False] * 4 + [True])[0][0]
        == 0
    )


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("How many weeks of paid leave do I get?", {"week"}),
        ("How many free build minutes do accounts get each month?", {"free", "build", "minut"}),
        ("What is the maximum number of owners a crate can have?", {"owner"}),
        ("What is the maximum number of names one certificate can hold?", {"name"}),
        ("How many times does the job retry?", set()),  # nothing a text would count
        ("How long is the grace period?", set()),
        ("What is a Pod?", set()),
    ],
)
def test_what_a_how_many_question_counts(question: str, counted: set[str]) -> None:
    assert counted_words(question) == counted


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("What is the maximum size of a file?", "Files are limited to 100 MB.", True),
        ("What's the minimum age?", "You must be at least thirteen.", True),
        ("What is the maximum size of a file?", "There is no limit on file size.", True),
        ("What is the maximum size of a file?", "Large files are stored in a separate bucket.", False),
        ("What is the maximum size of a file?", "Replace a worn bag with a new one.", False),
        ("What is the maximum size of a file?", "There are a few drawbacks.", False),
        ("How do I set the maximum size of a file?", "Set max_size in the config.", None),  # no limit asked
        ("What is a file?", "A file is a named sequence of bytes.", None),
        ("What minimum percentage of coverage must we reach?", "Aim for small pull requests.", False),
        ("What minimum percentage of coverage must we reach?", "Reach 80% before merging.", True),
        ("How much memory does it need at minimum?", "Builds are faster with a warm cache.", False),
        ("How much memory does it need at minimum?", "It needs at least 512 MB.", True),
        # an amount: how much something costs, pays, matches
        ("How much does the plan cost?", "The plan costs 20 USD a month.", True),
        ("How much does the plan cost?", "The plan is free for students.", True),
        ("How much does the plan cost?", "The plan covers dental care.", False),
        ("How much time off do I get?", "Your absence does not count against your leave.", None),
    ],
)
def test_a_question_about_a_limit_needs_a_number(question: str, text: str, expected: bool | None) -> None:
    check = quantity_check(question)
    assert (check(text, "") if check else None) is expected


@pytest.mark.parametrize(
    ("asked", "text", "context", "expected"),
    [
        ("How many weeks of leave?", "You can take up to 26 weeks of unpaid leave.", "", True),
        ("How many trustee positions?", "There are five trustee positions.", "", True),
        ("How many instances should I run?", "We recommend running a single instance per cluster.", "", True),
        ("How many weeks' notice?", "Give two weeks' notice.", "", True),
        ("How many weeks are paid?", "The first 4-weeks are paid.", "", True),
        ("How many weeks of leave?", "Leave is granted for study or caring duties.", "", False),
        ("How many weeks of leave?", "Leave is granted 3 times a year.", "", False),  # a number, not of weeks
        # under a heading that names what is counted, any number
        ("How many codegen units?", "The default is 16.", "Profiles › Settings › codegen-units", True),
        ("How many codegen units?", "The default is 16.", "Codegen units › Settings", False),
        ("How many codegen units?", "The default is set per profile.", "Settings › codegen-units", False),
    ],
)
def test_a_text_states_a_count_of_what_is_asked(asked: str, text: str, context: str, expected: bool) -> None:
    assert states_count(counted_words(asked), text, context) is expected


def test_a_field_is_named_by_its_label() -> None:
    tokens = question_tokens("What is the default value of build.sourcemap?")
    assert asked_field(tokens, "Default: false")
    assert not asked_field(tokens, "Note: the default may change.")  # the label is not asked


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("Who approves more than 80 hours of leave?", "Over 80 hours of leave need a director.", 1.0),
        ("Who approves more than 80 hours of leave?", "For 80 hours or less of leave, ask your lead.", -1.0),
        # Negated, a comparison turns round.
        ("Can a slice hold more than 100 endpoints?", "Each slice holds no more than 100 endpoints.", -1.0),
        ("How long can a name be at most?", "Names cannot exceed 63 characters.", 1.0),
        ("Is a request over 10 MB rejected?", "Requests exceeding 10 MB are rejected.", 1.0),
        ("Who approves more than 80 hours of leave?", "You must work not less than 80 hours.", 1.0),
        # "over" and "under" compare only before a number.
        ("Who approves more than 80 hours of leave?", "Hand the request over to your lead.", 0.0),
        ("What happens under 5 minutes?", "It runs under the service account.", 0.0),
    ],
)
def test_a_comparison_is_read_the_way_it_bounds(question: str, text: str, expected: float) -> None:
    assert comparison_agreement(question, text) == expected


def test_a_table_row_is_told_by_its_cells_with_or_without_the_outer_pipes() -> None:
    text = (
        "# Phases\n\n"
        "Value | Description\n"
        "------|------------\n"
        "`Pending` | Accepted, but not yet running.\n\n"
        "| Value | Description |\n"
        "|-------|-------------|\n"
        "| `Failed` | A container exited with an error. |\n\n"
        "Run `a | b` to pipe one into the other.\n"
    )
    units = parse_markdown(text).units
    cells = {u.display: _row_cells(text, u.start, u.end, u.display) for u in units}
    assert cells == {
        "Value: Pending · Description: Accepted, but not yet running.": (
            "`Pending` | Accepted, but not yet running."
        ),
        "Value: Failed · Description: A container exited with an error.": (
            "| `Failed` | A container exited with an error. |"
        ),
        "Run a | b to pipe one into the other.": None,
    }
