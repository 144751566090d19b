"""Slack pieces that need no server: Block Kit rendering, escaping, text cleanup, retry memory, feedback log.

The end-to-end behaviour (signed requests to the real service) is in ``test_slack_live.py``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest

from service.config import Settings
from service.slack import install_slack
from service.slack.events import question_text, session_for
from service.slack.feedback import FeedbackRecorder, SlackMetrics
from service.slack.http import payload_problem
from service.slack.render import (
    NO_ANSWER,
    escape_mrkdwn,
    feedback_value,
    render_answer,
    rewrite_with_meaning,
    viewer_url,
)
from service.state import DataDirUnwritable, FeedbackNotSaved, Vote
from service.state.feedback_sqlite import SqliteFeedback
from service.state.memory import MemorySeenEvents

PUBLIC = "https://docqa.example.com/"
DOC_TEXT = "Escalations: notify <!channel> & <@U123> when the desk opens. The desk reports to the COO."
MARKUP = ("**", "](", "{{<", "| --- |")
# In the source this sentence is hard-wrapped after "optional"; `display` joins it.
WRAPPED_SENTENCE = "Every lease runs for twelve months and ends with an optional purchase at a small fee."


def _passage(rank: int, doc_id: str, start: int, end: int, title: str = "Desk <guide>") -> dict[str, Any]:
    return {
        "rank": rank,
        "score": 0.5 / rank,
        "doc_id": doc_id,
        "title": title,
        "source": f"corpus/{doc_id}.txt",
        "section": "Escalations",
        "start": start,
        "end": end,
        "text": DOC_TEXT[start:end],
        "url": f"/documents/{doc_id}?start={start}&end={end}",
    }


def _result(**overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "question": "Who do I notify?",
        "resolved_question": "Who do I notify?",
        "session_id": "s1",
        "answer": {"text": DOC_TEXT[:61], "doc_id": "desk", "start": 0, "end": 61, "passage_rank": 2},
        "abstained": False,
        "confidence": 0.8312,
        "passages": [
            _passage(1, "other", 62, 89, "Other"),
            _passage(2, "desk", 0, 89),
            _passage(3, "third", 0, 10, "Third"),
            _passage(4, "fourth", 0, 10, "Fourth"),
        ],
        "clarifications": [],
    }
    result.update(overrides)
    return result


def _displayed_text(message: dict[str, Any]) -> str:
    """Everything Slack renders: the fallback and every text object (button values are not shown)."""
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for key, child in node.items():
                if key != "value":
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(message["blocks"])
    return "\n".join(found)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("plain", "plain"),
    ],
)
def test_escape_mrkdwn_neutralises_slack_control_characters(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


def test_answer_has_sentence_three_numbered_absolute_citations_and_confidence() -> None:
    message = render_answer(_result(), PUBLIC, session_id="s1")
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts[0].startswith("Escalations: notify &lt;!channel&gt; &amp; &lt;@U123&gt;")
    links = re.findall(r"<(https://[^|>]+)\|([^>]+)>", texts[1])
    assert [u.replace("&amp;", "&") for u, _ in links] == [
        "https://docqa.example.com/documents/desk?start=0&end=61",  # the answer span first
        "https://docqa.example.com/documents/other?start=62&end=89",
        "https://docqa.example.com/documents/third?start=0&end=10",
    ]
    assert links[0][1] == "Desk &lt;guide&gt;"
    assert re.search(r"^1\. .*\n2\. .*\n3\. ", texts[1], re.MULTILINE)
    context = next(b for b in message["blocks"] if b["type"] == "context")
    assert "0.83" in context["elements"][0]["text"]
    shown = _displayed_text(message)
    assert "<!channel>" not in shown and "<@U123>" not in shown and "&lt;!channel&gt;" in shown
    assert message["text"].startswith("Escalations: notify &lt;!channel&gt;")


def test_answer_and_snippets_show_display_escaped_not_the_raw_span() -> None:
    raw = "Ping **<!channel>** per the\n[desk guide](https://x.example) & go."
    shown = "Ping <!channel> per the desk guide & go."
    answer = {"text": raw, "display": shown, "doc_id": "desk", "start": 0, "end": 61, "passage_rank": 1}
    passage = {**_passage(1, "desk", 0, 61), "text": raw, "display": shown + "\n• Second line"}
    message = render_answer(_result(answer=answer, passages=[passage]), PUBLIC)
    first = message["blocks"][0]["text"]["text"]
    assert first == "Ping &lt;!channel&gt; per the desk guide &amp; go. [1]"
    assert message["text"].startswith("Ping &lt;!channel&gt; per the desk guide &amp; go.")
    # The feedback record keeps the verbatim span, which its offsets point at.
    assert json.loads(message["blocks"][-1]["elements"][0]["value"])["a"] == raw

    abstained = render_answer(_result(answer=None, abstained=True, passages=[passage]), PUBLIC)
    snippets = abstained["blocks"][1]["text"]["text"]
    assert "> Ping &lt;!channel&gt; per the desk guide &amp; go. • Second line" in snippets
    for message_shown in (_displayed_text(message), _displayed_text(abstained)):
        assert "**" not in message_shown and "](" not in message_shown and "<!channel>" not in message_shown


@pytest.fixture(scope="module")
def markdown_index(markdown_index_dir: Path, model_path: str) -> Any:
    """The small Markdown corpus (bold, links, a shortcode, a wrapped line, a table), loaded."""
    from index import load_index

    return load_index(markdown_index_dir, model_path)


@pytest.mark.model
def test_markdown_corpus_answers_render_without_markup(markdown_index: Any) -> None:
    result = markdown_index.query("How long does a bicycle lease run?", 5).to_dict()
    raw = "\n".join(p["text"] for p in result["passages"])
    assert all(mark in raw for mark in MARKUP)  # every kind of markup is in the cited spans
    answered = render_answer(result, PUBLIC)
    assert answered["blocks"][0]["text"]["text"] == WRAPPED_SENTENCE + " [1]"
    # The same passages as "closest passages" show their snippets.
    closest = render_answer({**result, "answer": None, "abstained": True}, PUBLIC)
    assert closest["blocks"][1]["text"]["text"].count("\n> ") == 3
    for message in (answered, closest):
        shown = _displayed_text(message)
        for mark in MARKUP:
            assert mark not in shown, (mark, shown)
    assert WRAPPED_SENTENCE in closest["blocks"][1]["text"]["text"]  # joined, not hard-wrapped


def test_every_answer_has_feedback_buttons_carrying_question_answer_and_citations() -> None:
    message = render_answer(_result(), PUBLIC)
    actions = message["blocks"][-1]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["docqa_feedback_up", "docqa_feedback_down"]
    value = json.loads(actions["elements"][0]["value"])
    assert value == {
        "q": "Who do I notify?",
        "a": DOC_TEXT[:61],
        "c": [["desk", 0, 61], ["other", 62, 89], ["third", 0, 10]],
    }


def test_share_button_only_when_asked_for() -> None:
    ids = [e["action_id"] for e in render_answer(_result(), PUBLIC, share=True)["blocks"][-1]["elements"]]
    assert ids[-1] == "docqa_share"


def test_abstention_says_so_and_lists_closest_passages_with_snippets() -> None:
    message = render_answer(_result(answer=None, abstained=True, confidence=0.1), PUBLIC)
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts[0].startswith(NO_ANSWER)
    assert "&lt;!channel&gt;" in texts[1] and "> " in texts[1]
    assert message["text"].startswith(NO_ANSWER + " Closest passages: [1] Other (https://")
    assert [e["action_id"] for e in message["blocks"][-1]["elements"]] == [
        "docqa_feedback_up",
        "docqa_feedback_down",
    ]


def test_clarification_offers_one_button_per_meaning_that_re_asks_with_it() -> None:
    clarifications = [
        {
            "term": "CCO",
            "meanings": [
                {"expansion": "Chief Commercial Officer", "doc_ids": ["a"]},
                {"expansion": "Chief Customer Officer", "doc_ids": ["b"]},
            ],
        }
    ]
    result = _result(resolved_question="What does a CCO do?", clarifications=clarifications)
    message = render_answer(result, PUBLIC, session_id="slack:T:C:1.0")
    buttons = [
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("docqa_clarify_")
    ]
    assert [b["text"]["text"] for b in buttons] == ["Chief Commercial Officer", "Chief Customer Officer"]
    assert len({b["action_id"] for b in buttons}) == 2  # action ids must be unique within a message
    assert json.loads(buttons[1]["value"]) == {
        "q": "What does a Chief Customer Officer do?",
        "s": "slack:T:C:1.0",
    }


def test_block_and_value_limits_hold_for_huge_inputs() -> None:
    long = "word " * 2000
    message = render_answer(
        _result(
            question=long,
            resolved_question=long,
            answer={"text": long, "doc_id": "d", "start": 0, "end": 5, "passage_rank": 1},
        ),
        PUBLIC,
        share=True,
    )
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            assert len(element.get("value", "")) <= 2000
            if element["type"] == "button":
                assert len(element["text"]["text"]) <= 75
    assert len(feedback_value(long, long, [{"doc_id": "d", "start": 0, "end": 1}])) <= 2000


def test_viewer_url_is_absolute_and_quotes_the_doc_id() -> None:
    assert viewer_url("http://h:8000/", "a b", 1, 2) == "http://h:8000/documents/a%20b?start=1&end=2"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does a CCO do?", "What does a Chief Customer Officer do?"),
        ("who reports to the cco", "who reports to the Chief Customer Officer"),
        ("What do they do?", "What do they do? (Chief Customer Officer)"),
    ],
)
def test_rewrite_with_meaning(question: str, expected: str) -> None:
    assert rewrite_with_meaning(question, "CCO", "Chief Customer Officer") == expected


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("<@UBOT> What does a CCO do?", "What does a CCO do?"),
        ("<@UBOT>   ", ""),
        ("is <https://x.io/a|this page> right &amp; fair? <@UBOT>", "is this page right & fair?"),
        ("see <#C1|general> and <@U9> &lt;3", "see #general and &lt;3".replace("&lt;", "<")),
    ],
)
def test_question_text_strips_slack_markup(text: str, question: str) -> None:
    assert question_text(text, "UBOT") == question


def test_session_follows_the_thread() -> None:
    assert session_for("T1", "C1", "1.5") == session_for("T1", "C1", "1.5")
    assert session_for("T1", "C1", "1.5") != session_for("T1", "C1", "1.6")


def test_seen_events_remembers_ids_and_rejects_bad_arguments() -> None:
    seen = MemorySeenEvents(ttl_seconds=10, max_size=3)
    assert seen.first_time("a") and not seen.first_time("a")
    with pytest.raises(ValueError, match="ttl_seconds"):
        MemorySeenEvents(ttl_seconds=0)
    with pytest.raises(ValueError, match="max_size"):
        MemorySeenEvents(max_size=0)


def test_feedback_keeps_one_vote_per_user_per_answer_and_counts_changes(tmp_path: Any) -> None:
    registry = CollectorRegistry()
    store = SqliteFeedback(tmp_path / "data")
    recorder = FeedbackRecorder(store, SlackMetrics(registry))
    cited = [{"doc_id": "d", "start": 0, "end": 1}]
    where = {"team": "T", "channel": "C", "message_ts": "1.5"}
    assert recorder.record("up", user="U1", question="q", answer="a", citations=cited, extra=where)
    # Issue #11.8: a replayed press adds nothing; a changed mind replaces the vote.
    assert not recorder.record("up", user="U1", question="q", answer="a", citations=cited, extra=where)
    assert recorder.record("down", user="U1", question="q", answer="a", citations=cited, extra=where)
    assert recorder.record("down", user="U2", question="q2", answer="", citations=[])
    votes = store.votes()
    assert [(v["rating"], v["user"], v["question"]) for v in votes] == [
        ("down", "U1", "q"),
        ("down", "U2", "q2"),
    ]
    assert votes[0]["citations"] == cited
    metrics = generate_latest(registry).decode()
    assert 'docqa_slack_feedback_total{rating="up"} 1.0' in metrics
    assert 'docqa_slack_feedback_total{rating="down"} 2.0' in metrics
    with pytest.raises(ValueError, match="rating"):
        recorder.record("meh", user="U1", question="q", answer="a", citations=[])


def test_feedback_store_refuses_a_data_dir_it_cannot_write(tmp_path: Any) -> None:
    # Issue #11.4: a file where the folder should be (root ignores permission bits, not this).
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    with pytest.raises(DataDirUnwritable, match="DOCQA_DATA_DIR"):
        SqliteFeedback(blocked)


def test_a_vote_that_cannot_be_saved_raises_instead_of_vanishing(tmp_path: Any) -> None:
    store = SqliteFeedback(tmp_path / "data")
    (tmp_path / "data" / "slack_feedback.sqlite3").unlink()
    (tmp_path / "data").rename(tmp_path / "moved")
    (tmp_path / "data").write_text("now a file")
    with pytest.raises(FeedbackNotSaved):
        store.record(Vote("m", "U1", "up", {}))


def test_install_slack_without_secrets_mounts_nothing_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    with caplog.at_level(logging.INFO, logger="service.slack"):
        install_slack(
            app, Settings.model_validate({"slack_signing_secret": None, "slack_bot_token": "xoxb-1"})
        )
    assert not [r for r in app.routes if getattr(r, "path", "").startswith("/slack")]
    assert "Slack is off: SLACK_SIGNING_SECRET not set" in caplog.text


def test_install_slack_with_secrets_mounts_both_routes_without_calling_slack() -> None:
    app = FastAPI()
    # An unroutable API URL: AsyncApp must not call auth.test (or anything) at install time.
    settings = Settings.model_validate(
        {"slack_signing_secret": "s", "slack_bot_token": "xoxb-1", "slack_api_url": "http://127.0.0.1:9/"}
    )
    install_slack(app, settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    assert {"/slack/events", "/slack/commands"} <= paths


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b'{"type": "event_callback", "event": {"type": "app_mention"}}', "application/json", None),
        (b"command=%2Fask&text=hi", "application/x-www-form-urlencoded", None),
        (
            b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D",
            "application/x-www-form-urlencoded",
            None,
        ),
        (b"{", "application/json", "the payload is not valid JSON"),
        (b"[]", "application/json", "the payload must be a JSON object"),
        (b'{"event": "x"}', "application/json", "`event` must be an object"),
        (b'{"actions": {}}', "application/json", "`actions` must be a list"),
        (b'{"actions": [1]}', "application/json", "every action must be an object"),
        (b"\xff", "application/json", "the body is not UTF-8"),
    ],
)
def test_payload_problem(body: bytes, content_type: str, problem: str | None) -> None:
    assert payload_problem(body, content_type) == problem


def test_many_ambiguous_acronyms_stay_within_slack_block_limits() -> None:
    clarifications = [
        {"term": f"T{i}", "meanings": [{"expansion": f"Meaning {i}.{j}", "doc_ids": ["d"]} for j in range(8)]}
        for i in range(30)
    ]
    message = render_answer(_result(clarifications=clarifications), PUBLIC)
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        assert len(block.get("elements", [])) <= 25
    action_ids = [
        e["action_id"] for b in message["blocks"] for e in b.get("elements", []) if "action_id" in e
    ]
    assert len(action_ids) == len(set(action_ids))
