"""Two real service processes sharing one real redis-server: docqa as N stateless replicas (#13).

Every test talks to both processes (different ports, one Redis started on a free loopback port
with a temporary folder); Slack's Web API is the local stand-in. Counts are the issue's, except
where the docstring says otherwise.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from service.state.redis_store import RedisFeedback, connect
from tests.live_server import ServerFailed, ServerURL, live_server
from tests.redis_server import RedisServer, redis_server
from tests.slack_stub import BOT_USER_ID, TEAM_ID, SlackStub

pytestmark = [pytest.mark.integration, pytest.mark.model]

SECRET = "replica-signing-secret"
# (first message, follow-up, what the resolved follow-up must contain)
CONVERSATIONS = [
    ("What does a chief revenue officer focus on?", "Who do they report to?", "revenue officer"),
    ("What does a chief customer officer do?", "And how is their success measured?", "customer officer"),
    ("Who does the CRO report to?", "what about the COO?", "COO"),
]
_ids = itertools.count(1)


@dataclass
class Pair:
    """Two replicas, their Redis, and the Slack stand-in they post to."""

    a: ServerURL
    b: ServerURL
    redis: RedisServer
    stub: SlackStub
    env: dict[str, str]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, service_env: dict[str, str]) -> Iterator[Pair]:
    """Replicas A and B on one Redis, Slack on, reloads polled every half second."""
    root = tmp_path_factory.mktemp("replicas")
    with redis_server(root / "redis") as redis, SlackStub() as stub:
        env = {
            **service_env,
            "DOCQA_REDIS_URL": redis.url,
            "DOCQA_RELOAD_POLL_SECONDS": "0.5",
            "DOCQA_DATA_DIR": str(root / "data"),
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-replicas",
            "DOCQA_SLACK_API_URL": stub.url,
        }
        with live_server(env) as a, live_server(env) as b:
            yield Pair(a, b, redis, stub, env)


def chat(url: str, message: str, session_id: str | None = None, timeout: float = 60.0) -> httpx.Response:
    body: dict[str, Any] = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    return httpx.post(f"{url}/v1/chat", json=body, timeout=timeout)


def converse(first: str, second: str, n: int) -> str | None:
    """One conversation started on `first`, continued on `second`; None when nothing was lost."""
    opening, follow_up, expected = CONVERSATIONS[n % len(CONVERSATIONS)]
    started = chat(first, opening)
    if started.status_code != 200:
        return f"{n}: start {started.status_code}"
    sid = started.json()["session_id"]
    reply = chat(second, follow_up, sid)
    if reply.status_code != 200:
        return f"{n}: follow-up {reply.status_code} {reply.text[:200]}"
    body = reply.json()
    if body["session_id"] != sid or expected.lower() not in body["resolved_question"].lower():
        return f"{n}: context lost: {body['resolved_question']!r}"
    return None


def test_conversations_continue_on_the_other_replica(pair: Pair) -> None:
    # 200 conversations, each opened on one replica and followed up on the other.
    jobs = [(pair.a, pair.b, n) if n % 2 == 0 else (pair.b, pair.a, n) for n in range(200)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        lost = [r for r in pool.map(lambda job: converse(*job), jobs) if r is not None]
    assert lost == []


def signed(body: str, content_type: str = "application/json", retry: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or "",
        "Content-Type": content_type,
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def event_body(channel: str, text: str) -> tuple[str, str]:
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    event = {
        "type": "app_mention",
        "user": "U0ASKER",
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    body = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0DOCQA",
        "type": "event_callback",
        "event_id": f"EvR{n:06d}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return json.dumps(body), ts


def replies_in(stub: SlackStub, channel: str) -> list[dict[str, Any]]:
    return [
        c.body
        for c in list(stub.calls)
        if c.method == "chat.postMessage" and c.body.get("channel") == channel
    ]


def wait_for_replies(stub: SlackStub, channel: str, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(replies_in(stub, channel)) < count:
        time.sleep(0.2)
    return replies_in(stub, channel)


def test_slack_events_retried_on_the_other_replica_are_answered_once(pair: Pair) -> None:
    # 100 events, each delivered to one replica and retried (same event_id) to the other.
    roots = []
    for n in range(100):
        body, ts = event_body("C0REPLICAS", "Who does the Chief Operating Officer report to?")
        first, retry = (pair.a, pair.b) if n % 2 == 0 else (pair.b, pair.a)
        assert (
            httpx.post(f"{first}/slack/events", content=body, headers=signed(body), timeout=30).status_code
            == 200
        )
        again = httpx.post(f"{retry}/slack/events", content=body, headers=signed(body, retry=1), timeout=30)
        assert again.status_code == 200
        roots.append(ts)
    posted = wait_for_replies(pair.stub, "C0REPLICAS", 100, timeout=180)
    time.sleep(2.0)  # a duplicate answer would arrive about as late as the last original one
    posted = replies_in(pair.stub, "C0REPLICAS")
    assert sorted(p["thread_ts"] for p in posted) == sorted(roots)


def _vote_body(user: str) -> str:
    value = json.dumps({"q": "Who reports to the COO?", "a": "Department heads.", "c": [["d", 0, 5]]})
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": TEAM_ID},
        "channel": {"id": "C0VOTES"},
        "container": {"type": "message", "is_ephemeral": False},
        "message": {"type": "message", "ts": "1700000002.000100", "text": "…"},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "docqa_feedback_up", "value": value, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def test_a_vote_replayed_on_the_other_replica_counts_once(pair: Pair) -> None:
    body = _vote_body("U0VOTER")
    headers = signed(body, "application/x-www-form-urlencoded")
    for url in (pair.a, pair.b, pair.a, pair.b, pair.a):  # one signed request, five deliveries
        assert httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=30).status_code == 200
    votes = [
        v for v in RedisFeedback(connect(pair.redis.url, 2.0), "docqa").votes() if v["user"] == "U0VOTER"
    ]
    assert [v["rating"] for v in votes] == ["up"]


def test_reload_reaches_both_replicas_and_builds_never_overlap(pair: Pair) -> None:
    before = httpx.get(f"{pair.b}/readyz", timeout=30).json()["generation"]
    reloaded = httpx.post(f"{pair.a}/v1/admin/reload", json={}, timeout=120)
    assert reloaded.status_code == 200 and reloaded.json()["replicas_notified"] is True
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and httpx.get(f"{pair.b}/readyz", timeout=30).json()["generation"] == before
    ):
        time.sleep(0.2)
    assert httpx.get(f"{pair.b}/readyz", timeout=30).json()["generation"] > before
    assert "reloading" in pair.b.log()
    # Another replica holds the build lock: a rebuild here is refused instead of run twice.
    client = pair.redis.client()
    client.set("docqa:index:build-lock", "another-replica", px=30_000)
    try:
        busy = httpx.post(f"{pair.b}/v1/admin/reload", json={"rebuild": True}, timeout=120)
    finally:
        client.delete("docqa:index:build-lock")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "reload_in_progress"


def test_sigkill_of_a_replica_mid_conversation_loses_no_session(pair: Pair) -> None:
    with live_server(pair.env) as doomed:
        sid = chat(doomed, "What does a chief revenue officer focus on?").json()["session_id"]
        in_flight = threading.Thread(target=lambda: _quietly(chat, doomed, "What is their main goal?", sid))
        in_flight.start()
        time.sleep(0.05)
        os.kill(doomed.pid, signal.SIGKILL)
        in_flight.join()
    reply = chat(pair.a, "Who do they report to?", sid)
    assert reply.status_code == 200
    assert "revenue officer" in reply.json()["resolved_question"].lower()


def _quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except httpx.HTTPError:
        pass  # the process died under the request: expected


class Loader:
    """Chat requests to both replicas in a loop, each outcome recorded (status or exception name)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.outcomes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for url in itertools.cycle(self.urls):
            if self._stop.is_set():
                return
            try:
                self.outcomes.append(str(chat(url, "Who reports to the COO?", timeout=15).status_code))
            except httpx.HTTPError as exc:
                self.outcomes.append(type(exc).__name__)

    def __enter__(self) -> Loader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_redis_outage_answers_503_then_recovers_without_restart(pair: Pair) -> None:
    sid = chat(pair.a, "What does a chief customer officer do?").json()["session_id"]
    with Loader([pair.a, pair.b]) as load:
        time.sleep(1.0)
        pair.redis.stop()
        time.sleep(2.0)
        pair.redis.start()
        time.sleep(2.0)
    # Under load through the outage: answers or clear 503s, never a 500 and never a hang.
    assert set(load.outcomes) <= {"200", "503"}, load.outcomes
    assert "503" in load.outcomes and load.outcomes[-1] == "200"
    pair.redis.stop()
    try:
        down = [chat(url, "Who reports to the COO?", timeout=15) for url in (pair.a, pair.b)]
        down.append(chat(pair.b, "And how is their success measured?", sid, timeout=15))
        body, _ = event_body("C0OUTAGE", "Who reports to the COO?")
        down.append(httpx.post(f"{pair.a}/slack/events", content=body, headers=signed(body), timeout=15))
        assert [r.status_code for r in down] == [503] * 4
        assert {r.json()["error"]["code"] for r in down} == {"state_unavailable"}
        # A vote that cannot be stored is not acknowledged (Slack shows the press as failed).
        vote = _vote_body("U0OUTAGE")
        refused = httpx.post(
            f"{pair.b}/slack/events",
            content=vote,
            headers=signed(vote, "application/x-www-form-urlencoded"),
            timeout=15,
        )
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "feedback_not_saved"
        # Stateless doors keep answering while Redis is away.
        assert (
            httpx.post(
                f"{pair.b}/v1/query", json={"question": "Who reports to the COO?"}, timeout=30
            ).status_code
            == 200
        )
    finally:
        pair.redis.start()
    deadline = time.monotonic() + 30
    statuses: list[int] = []
    while time.monotonic() < deadline:
        statuses = [chat(url, "Who reports to the COO?").status_code for url in (pair.a, pair.b)]
        if statuses == [200, 200]:
            break
        time.sleep(0.5)
    assert statuses == [200, 200]
    # The session from before the outage is still there (Redis keeps it on disk).
    reply = chat(pair.b, "And how is their success measured?", sid)
    assert reply.status_code == 200 and "customer officer" in reply.json()["resolved_question"].lower()


def test_rate_limit_holds_across_both_replicas(tmp_path: Path, service_env: dict[str, str]) -> None:
    with redis_server(tmp_path / "redis") as redis:
        env = {**service_env, "DOCQA_REDIS_URL": redis.url, "DOCQA_RATE_LIMIT_PER_MINUTE": "10"}
        with live_server(env) as a, live_server(env) as b:
            statuses = [httpx.get(f"{url}/v1/documents", timeout=30).status_code for url in [a, b] * 10]
    assert statuses.count(200) == 10 and statuses.count(429) == 10
    assert statuses[:10] == [200] * 10


def test_an_unwritable_data_directory_stops_startup_with_a_clear_error(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    # Issue #11.4: votes would go to DOCQA_DATA_DIR; a file there (root ignores permission bits).
    blocked = tmp_path / "data"
    blocked.write_text("not a folder")
    env = {
        **service_env,
        "DOCQA_DATA_DIR": str(blocked),
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "x",
    }
    with pytest.raises(ServerFailed, match="not writable.*DOCQA_DATA_DIR"), live_server(env, timeout=60):
        pass
