"""The Slack bot end to end: signed requests over HTTP to the real service, Slack's Web API stood in.

One real uvicorn process serves a real index over the default corpus plus one document that tries
to inject ``<!channel>`` and ``<@U123>``. Requests are signed with slack_sdk's scheme; every Web API
call and response_url POST the bot makes lands in ``tests/slack_stub.py``, which the tests poll
(answers are posted asynchronously, after the acknowledgement).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from service.state.feedback_sqlite import SqliteFeedback
from tests.live_server import live_server
from tests.slack_stub import BOT_USER_ID, TEAM_ID, RecordedCall, SlackStub

pytestmark = [pytest.mark.integration, pytest.mark.model]

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-signing-secret-8f2c"
PUBLIC_URL = "https://docqa.test.example"
DEFAULT_DOC_IDS = {"cco-vs-coo", "cco-vs-cro", "customer-officer-vs-coo", "what-does-a-cco-do"}
INJECTION_DOC = (
    "Escalation desk handbook\n\nAnnouncements\n\n"
    "The escalation desk announces every severity-one outage to <!channel> and pages the on-call lead "
    "<@U123> & the incident manager within five minutes.\n\n"
    "Rotation\n\nDesk staff rotate weekly and keep a shared runbook for the night shift.\n"
)
_ids = itertools.count(1)


@dataclass
class SlackEnv:
    """The running service and the Web API stand-in it talks to."""

    base_url: str
    stub: SlackStub
    data_dir: Path


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus" / "documents", corpus)
    (corpus / "escalation-desk.txt").write_text(INJECTION_DOC, encoding="utf-8")
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    manifest["escalation-desk.txt"] = {
        "doc_id": "escalation-desk",
        "title": "Escalation desk <!here> handbook",
    }
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory, model_path: str) -> Iterator[SlackEnv]:
    """The real service with Slack on, its Web API pointed at the stand-in."""
    from index import build_index

    root = tmp_path_factory.mktemp("slack")
    corpus, index_dir, data_dir = _corpus(root), root / "index", root / "data"
    build_index(corpus, index_dir, model_path)
    with SlackStub() as stub:
        env = {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "DOCQA_SLACK_API_URL": stub.url,
            "DOCQA_PUBLIC_URL": PUBLIC_URL,
            "DOCQA_DATA_DIR": str(data_dir),
            "DOCQA_CORPUS_DIR": str(corpus),
            "DOCQA_INDEX_DIR": str(index_dir),
            "DOCQA_RATE_LIMIT_PER_MINUTE": "0",
            "DOCQA_API_KEYS": "",
        }
        with live_server(env=env) as server:
            yield SlackEnv(base_url=str(server).rstrip("/"), stub=stub, data_dir=data_dir)


# ---------------------------------------------------------------------------------------------
# Signed requests, as Slack sends them


def _send(
    env: SlackEnv,
    path: str,
    body: str,
    content_type: str,
    *,
    timestamp: int | None = None,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    sent = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
        "Content-Type": content_type,
        **(headers or {}),
    }
    return httpx.post(env.base_url + path, content=body.encode(), headers=sent, timeout=30)


def send_event(
    env: SlackEnv, event: dict[str, Any], *, event_id: str | None = None, **kwargs: Any
) -> tuple[httpx.Response, str]:
    event_id = event_id or f"Ev{next(_ids):06d}"
    body = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0DOCQA",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return _send(env, "/slack/events", json.dumps(body), "application/json", **kwargs), event_id


def send_action(env: SlackEnv, payload: dict[str, Any]) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)})
    return _send(env, "/slack/events", body, "application/x-www-form-urlencoded")


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ids):06d}"


def mention(
    channel: str, text: str, *, ts: str | None = None, thread_ts: str | None = None, user: str = "U0ASKER"
) -> dict[str, Any]:
    ts = ts or new_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def replies(env: SlackEnv, channel: str, count: int = 1, timeout: float = 90.0) -> list[RecordedCall]:
    return env.stub.wait_for(
        "chat.postMessage", count, timeout, where=lambda c: c.body.get("channel") == channel
    )


def links(message: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(doc_id, start, end) of every viewer link in the message's blocks; asserts they are absolute."""
    found = []
    for url in re.findall(r"<(https?://[^|>]+)\|", json.dumps(message["blocks"])):
        parsed = urlparse(url.replace("&amp;", "&"))
        assert f"{parsed.scheme}://{parsed.netloc}" == PUBLIC_URL
        assert parsed.path.startswith("/documents/")
        query = parse_qs(parsed.query)
        found.append((parsed.path.removeprefix("/documents/"), int(query["start"][0]), int(query["end"][0])))
    return found


def feedback_buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def asked(message: dict[str, Any]) -> str:
    """The (resolved) question the answer is for, as the 👍 button carries it."""
    return str(json.loads(feedback_buttons(message)["docqa_feedback_up"]["value"])["q"])


def settle(env: SlackEnv, seconds: float = 3.0) -> None:
    """Wait until the stand-in has seen no new call for ``seconds`` (for asserting that nothing came)."""
    last, quiet_since = len(env.stub.calls), time.monotonic()
    while time.monotonic() - quiet_since < seconds:
        time.sleep(0.1)
        if len(env.stub.calls) != last:
            last, quiet_since = len(env.stub.calls), time.monotonic()


# ---------------------------------------------------------------------------------------------


def test_url_verification_echoes_the_challenge(slack: SlackEnv) -> None:
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    response = _send(slack, "/slack/events", body, "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_mention_gets_a_threaded_reply_with_absolute_citations(slack: SlackEnv) -> None:
    event = mention("C0MENTION", "What does a Chief Commercial Officer do?")
    started = time.monotonic()
    response, _ = send_event(slack, event)
    assert response.status_code == 200
    assert time.monotonic() - started < 3.0, "Slack needs the acknowledgement within 3 seconds"
    message = replies(slack, "C0MENTION")[0].body
    assert message["thread_ts"] == event["ts"]
    assert message["text"] and message["blocks"][0]["type"] == "section"
    cited = links(message)
    assert 1 <= len(cited) <= 3
    assert {doc_id for doc_id, _, _ in cited} <= DEFAULT_DOC_IDS | {"escalation-desk"}
    doc_id, start, end = cited[0]
    document = httpx.get(f"{slack.base_url}/v1/documents/{doc_id}", timeout=30).json()
    answer = json.loads(feedback_buttons(message)["docqa_feedback_up"]["value"])["a"]
    assert document["text"][start:end] == answer  # citation 1 is the exact answer span
    viewer = httpx.get(f"{slack.base_url}/documents/{doc_id}?start={start}&end={end}", timeout=30)
    assert viewer.status_code == 200
    assert any(b["type"] == "context" and "Confidence" in b["elements"][0]["text"] for b in message["blocks"])
    assert {"docqa_feedback_up", "docqa_feedback_down"} <= set(feedback_buttons(message))


def test_direct_message_is_answered_in_its_thread(slack: SlackEnv) -> None:
    ts = new_ts()
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0DM",
        "user": "U0ASKER",
        "text": "What does a Chief Customer Officer do?",
        "ts": ts,
        "event_ts": ts,
    }
    assert send_event(slack, event)[0].status_code == 200
    message = replies(slack, "D0DM")[0].body
    assert message["thread_ts"] == ts
    assert links(message)


def test_follow_up_in_the_thread_continues_the_conversation(slack: SlackEnv) -> None:
    first = mention("C0THREAD", "What does a Chief Revenue Officer focus on?")
    send_event(slack, first)
    replies(slack, "C0THREAD", 1)
    send_event(slack, mention("C0THREAD", "Who do they report to?", thread_ts=first["ts"]))
    follow_up = replies(slack, "C0THREAD", 2)[1].body
    assert follow_up["thread_ts"] == first["ts"]
    resolved = asked(follow_up)
    assert re.search(r"chief revenue officer|\bCRO\b", resolved, re.IGNORECASE), resolved
    # The same words in a new thread have nothing to resolve against.
    send_event(slack, mention("C0FRESH", "Who do they report to?"))
    assert not re.search(r"revenue|\bCRO\b", asked(replies(slack, "C0FRESH")[0].body), re.IGNORECASE)


def test_ask_command_answers_privately_through_response_url_and_can_share(slack: SlackEnv) -> None:
    form = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "channel_id": "C0ASK",
        "user_id": "U0ASKER",
        "command": "/ask",
        "text": "What does a Chief Commercial Officer do?",
        "response_url": slack.stub.response_url("ask-1"),
        "trigger_id": "13345224609.738474920.8088",
    }
    response = _send(slack, "/slack/commands", urlencode(form), "application/x-www-form-urlencoded")
    assert response.status_code == 200
    answer = slack.stub.wait_for("response/ask-1", timeout=90)[0].body
    assert answer["response_type"] == "ephemeral"
    assert links(answer)
    share = feedback_buttons(answer)["docqa_share"]
    send_action(
        slack,
        {
            "type": "block_actions",
            "user": {"id": "U0ASKER"},
            "team": {"id": TEAM_ID},
            "container": {"type": "message", "is_ephemeral": True, "channel_id": "C0ASK"},
            "channel": {"id": "C0ASK"},
            "response_url": slack.stub.response_url("ask-1-share"),
            "trigger_id": "1.2.3",
            "actions": [share],
        },
    )
    shared, deleted = slack.stub.wait_for("response/ask-1-share", 2, timeout=90)
    assert shared.body["response_type"] == "in_channel" and links(shared.body)
    assert "U0ASKER" in json.dumps(shared.body["blocks"])
    assert deleted.body.get("delete_original") is True


def test_empty_ask_command_gets_help_in_the_acknowledgement(slack: SlackEnv) -> None:
    form = {
        "team_id": TEAM_ID,
        "channel_id": "C0ASK",
        "user_id": "U0ASKER",
        "command": "/ask",
        "text": " ",
        "response_url": slack.stub.response_url("ask-empty"),
        "trigger_id": "9.9.9",
    }
    response = _send(slack, "/slack/commands", urlencode(form), "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "Ask me a question" in response.json()["text"]


def test_clarification_button_re_asks_with_the_chosen_meaning(slack: SlackEnv) -> None:
    event = mention("C0CLARIFY", "What does a CCO do?")
    send_event(slack, event)
    first = replies(slack, "C0CLARIFY")[0]
    buttons = {
        b["text"]["text"]: b
        for b in feedback_buttons(first.body).values()
        if b["action_id"].startswith("docqa_clarify_")
    }
    assert {"Chief Commercial Officer", "Chief Customer Officer"} <= set(buttons)
    reply_ts = "1700000000.000999"  # the bot's reply, as Slack would give it back in the payload
    send_action(
        slack,
        {
            "type": "block_actions",
            "user": {"id": "U0ASKER"},
            "team": {"id": TEAM_ID},
            "channel": {"id": "C0CLARIFY"},
            "container": {
                "type": "message",
                "message_ts": reply_ts,
                "channel_id": "C0CLARIFY",
                "is_ephemeral": False,
            },
            "message": {"type": "message", "ts": reply_ts, "thread_ts": event["ts"], "text": "…"},
            "response_url": slack.stub.response_url("clarify"),
            "trigger_id": "1.2.4",
            "actions": [buttons["Chief Customer Officer"]],
        },
    )
    second = replies(slack, "C0CLARIFY", 2)[1].body
    assert second["thread_ts"] == event["ts"]
    assert "Chief Customer Officer" in asked(second)
    assert "customer-officer-vs-coo" in {doc_id for doc_id, _, _ in links(second)}


def test_feedback_button_is_recorded_and_counted(slack: SlackEnv) -> None:
    send_event(slack, mention("C0FEEDBACK", "Who does the Chief Operating Officer report to?"))
    message = replies(slack, "C0FEEDBACK")[0].body
    before = _feedback_count(slack, "down")
    down = feedback_buttons(message)["docqa_feedback_down"]
    send_action(
        slack,
        {
            "type": "block_actions",
            "user": {"id": "U0RATER"},
            "team": {"id": TEAM_ID},
            "channel": {"id": "C0FEEDBACK"},
            "container": {"type": "message", "is_ephemeral": False},
            "message": {"type": "message", "ts": "1700000000.000200", "text": "…"},
            "response_url": slack.stub.response_url("feedback"),
            "trigger_id": "1.2.5",
            "actions": [down],
        },
    )
    thanks = slack.stub.wait_for("response/feedback", timeout=30)[0].body
    assert thanks["response_type"] == "ephemeral" and "Thanks" in thanks["text"]
    records = SqliteFeedback(slack.data_dir).votes()
    record = next(r for r in records if r["user"] == "U0RATER")
    assert record["rating"] == "down"
    assert record["question"] == "Who does the Chief Operating Officer report to?"
    assert record["answer"] == json.loads(down["value"])["a"]
    assert [[c["doc_id"], c["start"], c["end"]] for c in record["citations"]] == [
        list(x) for x in links(message)
    ]
    assert _feedback_count(slack, "down") == before + 1
    metrics = httpx.get(slack.base_url + "/metrics", timeout=30).text
    assert re.search(r'^docqa_slack_questions_total\{source="mention"\} [1-9]', metrics, re.MULTILINE)


def _vote_payload(slack: SlackEnv, button: dict[str, Any], user: str, ts: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": TEAM_ID},
        "channel": {"id": "C0REPLAY"},
        "container": {"type": "message", "is_ephemeral": False},
        "message": {"type": "message", "ts": ts, "text": "…"},
        "trigger_id": "1.2.9",
        "actions": [button],
    }


def test_a_replayed_vote_counts_once_and_a_changed_vote_replaces_it(slack: SlackEnv) -> None:
    # Issue #11.8: the same signed request five times (inside Slack's 5-minute window) = 1 vote.
    send_event(slack, mention("C0REPLAY", "Who does the Chief Operating Officer report to?"))
    buttons = feedback_buttons(replies(slack, "C0REPLAY")[0].body)
    before_up, before_down = _feedback_count(slack, "up"), _feedback_count(slack, "down")
    up = json.dumps(_vote_payload(slack, buttons["docqa_feedback_up"], "U0REPLAY", "1700000001.000100"))
    body, ts = urlencode({"payload": up}), str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or "",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    for _ in range(5):
        response = httpx.post(slack.base_url + "/slack/events", content=body, headers=headers, timeout=30)
        assert response.status_code == 200
    assert _feedback_count(slack, "up") == before_up + 1
    send_action(slack, _vote_payload(slack, buttons["docqa_feedback_down"], "U0REPLAY", "1700000001.000100"))
    mine = [v for v in SqliteFeedback(slack.data_dir).votes() if v["user"] == "U0REPLAY"]
    assert [v["rating"] for v in mine] == ["down"]
    assert _feedback_count(slack, "down") == before_down + 1


def test_http_chat_cannot_reach_a_slack_thread_session(slack: SlackEnv) -> None:
    # Issue #11.5: the Slack thread's session key is predictable; over HTTP it is unknown.
    event = mention("C0DOORS", "What does a chief revenue officer focus on?")
    send_event(slack, event)
    replies(slack, "C0DOORS")
    for sid in (f"slack:{TEAM_ID}:C0DOORS:{event['ts']}", f"{TEAM_ID}:C0DOORS:{event['ts']}"):
        response = httpx.post(
            slack.base_url + "/v1/chat",
            json={"session_id": sid, "message": "Who do they report to?"},
            timeout=30,
        )
        assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_session"


def _feedback_count(env: SlackEnv, rating: str) -> float:
    metrics = httpx.get(env.base_url + "/metrics", timeout=30).text
    match = re.search(
        rf'^docqa_slack_feedback_total{{rating="{rating}"}} ([0-9.e+]+)$', metrics, re.MULTILINE
    )
    assert match, "docqa_slack_feedback_total missing from /metrics"
    return float(match.group(1))


def test_forged_signature_is_rejected(slack: SlackEnv) -> None:
    response, _ = send_event(slack, mention("C0FORGED", "What does a CCO do?"), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_slack_signature"
    settle(slack)
    assert not [c for c in slack.stub.calls_to("chat.postMessage") if c.body.get("channel") == "C0FORGED"]


def test_stale_timestamp_is_rejected_even_when_correctly_signed(slack: SlackEnv) -> None:
    response, _ = send_event(
        slack, mention("C0STALE", "What does a CCO do?"), timestamp=int(time.time()) - 360
    )
    assert response.status_code == 401
    form = {
        "team_id": TEAM_ID,
        "channel_id": "C0STALE",
        "command": "/ask",
        "text": "What does a CCO do?",
        "response_url": slack.stub.response_url("stale"),
        "trigger_id": "1.1.1",
    }
    stale = _send(
        slack,
        "/slack/commands",
        urlencode(form),
        "application/x-www-form-urlencoded",
        timestamp=int(time.time()) - 360,
    )
    assert stale.status_code == 401
    settle(slack)
    assert not slack.stub.calls_to("response/stale")
    assert not [c for c in slack.stub.calls_to("chat.postMessage") if c.body.get("channel") == "C0STALE"]


def test_retried_event_is_answered_once(slack: SlackEnv) -> None:
    event = mention("C0RETRY", "What does a Chief Commercial Officer do?")
    first, event_id = send_event(slack, event)
    retry, _ = send_event(
        slack,
        event,
        event_id=event_id,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status_code == 200 and retry.status_code == 200
    replies(slack, "C0RETRY", 1)
    late, _ = send_event(
        slack,
        event,
        event_id=event_id,
        headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert late.status_code == 200
    settle(slack)
    assert (
        len([c for c in slack.stub.calls_to("chat.postMessage") if c.body.get("channel") == "C0RETRY"]) == 1
    )


def test_bot_messages_edits_and_own_messages_are_ignored(slack: SlackEnv) -> None:
    ts = new_ts()
    ignored: list[dict[str, Any]] = [
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0OTHER",
            "channel_type": "im",
            "channel": "D0IGNORE",
            "text": "What does a CCO do?",
            "ts": ts,
        },
        {
            "type": "message",
            "subtype": "message_changed",
            "channel_type": "im",
            "channel": "D0IGNORE",
            "hidden": True,
            "ts": new_ts(),
            "message": {
                "type": "message",
                "user": "U0ASKER",
                "text": "edited?",
                "ts": ts,
                "edited": {"user": "U0ASKER", "ts": ts},
            },
        },
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D0IGNORE",
            "user": BOT_USER_ID,
            "bot_id": "BBOT",
            "text": "my own answer",
            "ts": new_ts(),
        },
        mention("C0IGNORE", "What does a CCO do?", user=BOT_USER_ID) | {"bot_id": "BBOT"},
        mention("C0IGNORE", "What does a CCO do?", user="U0OTHERBOT") | {"bot_id": "B0OTHER"},
    ]
    for event in ignored:
        assert send_event(slack, event)[0].status_code == 200
    # A human's DM sent after them is answered, so the bot was listening.
    control = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0CONTROL",
        "user": "U0ASKER",
        "text": "What does a CCO do?",
        "ts": new_ts(),
    }
    send_event(slack, control)
    replies(slack, "D0CONTROL")
    settle(slack)
    posted = {c.body.get("channel") for c in slack.stub.calls_to("chat.postMessage")}
    assert not posted & {"D0IGNORE", "C0IGNORE"}


def test_document_text_cannot_inject_mentions(slack: SlackEnv) -> None:
    send_event(slack, mention("C0INJECT", "Who does the escalation desk announce severity-one outages to?"))
    message = replies(slack, "C0INJECT")[0].body
    assert "escalation-desk" in {doc_id for doc_id, _, _ in links(message)}
    rendered = message["text"] + json.dumps(
        [b for b in message["blocks"] if b["type"] != "actions"], ensure_ascii=False
    )
    for raw in ("<!channel>", "<@U123>", "<!here>"):
        assert raw not in rendered
    assert "&lt;!here&gt;" in rendered  # the hostile title is shown, escaped
    assert "&lt;!channel&gt;" in rendered or "&lt;@U123&gt;" in rendered  # and so is the hostile text


MALFORMED = [
    ("application/json", "not json"),
    ("application/json", ""),
    ("application/json", "[1, 2]"),
    ("application/json", '{"type": "event_callback", "event_id": "EvBAD1", "event": "text"}'),
    ("application/json", '{"type": "event_callback", "event_id": "EvBAD2", "authorizations": {"a": 1}}'),
    ("application/x-www-form-urlencoded", "payload=notjson"),
    ("application/x-www-form-urlencoded", "payload=" + json.dumps({"type": "block_actions", "actions": [1]})),
    ("application/x-www-form-urlencoded", "payload=" + json.dumps({"type": "block_actions", "user": "U1"})),
]


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
def test_signed_but_malformed_payloads_get_a_400_error_json(
    slack: SlackEnv, content_type: str, body: str
) -> None:
    response = _send(slack, "/slack/events", body, content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_slack_payload"


def test_unsigned_request_gets_the_contract_error_shape(slack: SlackEnv) -> None:
    response = httpx.post(
        f"{slack.base_url}/slack/events",
        content=b"not json",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_slack_signature"


def test_events_and_buttons_no_listener_wants_are_acknowledged(slack: SlackEnv) -> None:
    reaction = {"type": "reaction_added", "user": "U0ASKER", "reaction": "thumbsup", "event_ts": new_ts()}
    assert send_event(slack, reaction)[0].status_code == 200
    unknown = {"type": "block_actions", "user": {"id": "U0ASKER"}, "actions": [{"action_id": "elsewhere"}]}
    assert send_action(slack, unknown).status_code == 200


SLACK_KEYS = [
    "type",
    "event",
    "user",
    "text",
    "ts",
    "channel",
    "actions",
    "value",
    "action_id",
    "channel_type",
    "thread_ts",
    "subtype",
    "bot_id",
    "container",
    "message",
    "team",
    "response_url",
    "event_id",
    "enterprise",
    "authorizations",
    "api_app_id",
    "view",
    "callback_id",
    "user_team",
    "team_id",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(SLACK_KEYS), children, max_size=5)
    ),
    max_leaves=12,
)
KINDS = [
    "event_callback",
    "block_actions",
    "view_submission",
    "shortcut",
    "interactive_message",
    "url_verification",
    None,
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values, kind=st.sampled_from(KINDS), as_form=st.booleans())
def test_no_signed_payload_makes_the_service_fail(
    slack: SlackEnv, payload: Any, kind: str | None, as_form: bool
) -> None:
    if isinstance(payload, dict) and kind:
        payload = {**payload, "type": kind}
    body = urlencode({"payload": json.dumps(payload)}) if as_form else json.dumps(payload)
    ctype = "application/x-www-form-urlencoded" if as_form else "application/json"
    response = _send(slack, "/slack/events", body, ctype)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in ("bad_slack_payload", "invalid_slack_signature")


def test_without_slack_variables_the_routes_are_off_and_the_log_says_why(server_url: Any) -> None:
    """The shared default server runs with SLACK_* empty (tests/service/conftest.py)."""
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    assert httpx.post(f"{server_url}/slack/events", content=body, timeout=30).status_code == 404
    assert httpx.post(f"{server_url}/slack/commands", content="text=x", timeout=30).status_code == 404
    assert "Slack is off: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN not set" in server_url.log()
