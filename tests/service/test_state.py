"""The shared-state seam, each protocol against both backends: this process's memory and a real Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from service.chat import ChatService
from service.config import Settings
from service.followup import Turn
from service.state import SessionState, SharedState, StateUnavailable, Vote, build_state
from tests.redis_server import RedisServer, redis_server


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


_prefixes = iter(range(1_000_000))


@pytest.fixture(params=["memory", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> SharedState:
    """Both backends; each Redis test gets its own key prefix."""
    settings: dict[str, Any] = {"data_dir": tmp_path / "data", "max_sessions": 3}
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis")
        settings |= {"redis_url": server.url, "redis_prefix": f"t{next(_prefixes)}"}
    return build_state(Settings(**settings), feedback=True)


def _turn(text: str) -> Turn:
    return Turn(text, text, ())


def test_session_saves_are_compare_and_set_and_capped(state: SharedState) -> None:
    first = SessionState().after(_turn("a"), {}, 5)
    assert state.sessions.save("http:s", first, 0)
    assert not state.sessions.save("http:s", first, 0)  # lost the race: it read version 0
    assert state.sessions.save("http:s", first.after(_turn("b"), {"CCO": "x"}, 5), 1)
    loaded = state.sessions.load("http:s")
    assert loaded is not None and [t.message for t in loaded.turns] == ["a", "b"]
    assert loaded.chosen == {"CCO": "x"} and loaded.version == 2
    for n in range(4):
        time.sleep(0.002)  # distinct last-use times: the oldest goes first
        state.sessions.save(f"http:n{n}", first, 0)
    assert state.sessions.count() == 3  # DOCQA_MAX_SESSIONS across the store
    assert state.sessions.load("http:s") is None


def test_concurrent_turns_of_one_session_are_all_kept(state: SharedState, index: Any) -> None:
    # Four follow-ups at once: each is applied after the others (none overwrites another).
    chat = ChatService(index, Settings(), sessions=state.sessions)
    sid = chat.chat(None, "What does a chief revenue officer focus on?").session_id
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda m: chat.chat(sid, m), ["Who do they report to?"] * 4))
    assert {r.session_id for r in replies} == {sid}
    saved = state.sessions.load(f"http:{sid}")
    assert saved is not None and saved.version == 5 and len(saved.turns) == 5


def test_slack_event_ids_are_seen_once(state: SharedState) -> None:
    assert state.seen_events.first_time("Ev1")
    assert not state.seen_events.first_time("Ev1")
    assert state.seen_events.first_time("Ev2")


def test_one_vote_per_user_per_answer(state: SharedState) -> None:
    feedback = state.feedback
    assert feedback is not None
    assert feedback.record(Vote("msg:T:C:1", "U1", "up", {"question": "q"}))
    assert not feedback.record(Vote("msg:T:C:1", "U1", "up", {"question": "q"}))  # a replay
    assert feedback.record(Vote("msg:T:C:1", "U1", "down", {"question": "q"}))  # a change of mind
    assert feedback.record(Vote("msg:T:C:1", "U2", "up", {"question": "q"}))
    assert sorted((v["user"], v["rating"]) for v in feedback.votes()) == [("U1", "down"), ("U2", "up")]


def test_rate_limit_counts_per_client(state: SharedState) -> None:
    limiter = state.limiter(3)
    assert [limiter.take("ip:a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("ip:a")
    assert 0 < wait <= 60
    assert limiter.take("ip:b") == 0.0


def test_build_lock_is_exclusive_and_generation_counts(state: SharedState) -> None:
    start = state.coordinator.generation() or 0
    assert state.coordinator.bump() == start + 1
    with state.coordinator.build_lock() as first:
        with state.coordinator.build_lock() as second:
            assert first and not second
    with state.coordinator.build_lock() as again:
        assert again


def test_redis_down_is_a_fast_state_unavailable(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    state = build_state(Settings(redis_url=server.url, redis_timeout_seconds=0.5), feedback=False)
    server.stop()
    started = time.monotonic()
    with pytest.raises(StateUnavailable, match="Redis"):
        state.sessions.load("http:x")
    with pytest.raises(StateUnavailable):
        state.seen_events.first_time("Ev1")
    assert state.limiter(5).take("ip:a") == 0.0  # counted per replica meanwhile
    assert time.monotonic() - started < 10
    server.start()
    assert state.sessions.load("http:x") is None  # reconnects by itself
    server.stop()


def test_an_acknowledged_vote_survives_a_sigkill_of_redis(tmp_path: Path) -> None:
    # Redis runs with appendfsync always (as compose.yaml does): a stored vote is on disk.
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        state = build_state(Settings(redis_url=server.url), feedback=True)
        assert state.feedback is not None
        assert state.feedback.record(Vote("msg:T:C:9", "U9", "down", {"question": "q"}))
        server.stop(kill=True)
        server.start()
        assert [(v["user"], v["rating"]) for v in state.feedback.votes()] == [("U9", "down")]
    finally:
        server.stop()
