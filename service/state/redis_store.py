"""The Redis implementations of the state protocols, for N replicas behind a load balancer.

Every call has short socket timeouts and at most one quick retry: when Redis is down or hangs a
request fails within about two timeouts with `StateUnavailable` (a 503 JSON error), and the
next request after Redis is back simply works (redis-py reconnects; no restart needed).

Keys (``<prefix>`` is ``DOCQA_REDIS_PREFIX``, default ``docqa``):
``<prefix>:session:<door>:<id>`` (JSON, expires when idle), ``<prefix>:sessions`` (sorted set of
session keys by last use, for the cap and the gauge), ``<prefix>:slack-event:<event_id>``,
``<prefix>:feedback`` (hash: answer and user -> vote), ``<prefix>:index:generation``,
``<prefix>:index:build-lock`` and ``<prefix>:ratelimit/…`` (``limits``' moving windows).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.state.base import FeedbackNotSaved, SessionState, StateUnavailable, Vote
from service.state.memory import WindowLimiter, memory_limiter

logger = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
)

_SAVE_SESSION = """
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = tonumber(cjson.decode(cur)['v']) end
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[3]))
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], extra)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
return 1
"""
_RECORD_VOTE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and cjson.decode(old)['rating'] == ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def describe(url: str) -> str:
    """``host:port/db`` of a Redis URL, without credentials (safe to log and to show)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


def connect(url: str, timeout: float) -> redis.Redis:
    """A client whose calls fail fast (``timeout`` seconds, one immediate retry) instead of hanging."""
    pool = redis.ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=15,
    )
    return redis.Redis(connection_pool=pool)


def guarded(where: str, call: Callable[[], T]) -> T:
    """Run a Redis call; connection problems become `StateUnavailable` (503)."""
    try:
        return call()
    except REDIS_ERRORS as exc:
        logger.warning("redis unavailable during %s: %s", where, type(exc).__name__)
        raise StateUnavailable(
            f"docqa cannot reach its shared state store (Redis) for {where}; retry in a few seconds."
        ) from exc


class RedisSessions:
    """Chat sessions as JSON values; saves are compare-and-set on the version (a Lua script).

    Args:
        client: The Redis client.
        prefix: Key prefix.
        ttl_seconds: Idle time after which a session expires.
        max_sessions: Most sessions kept; the least recently used are deleted beyond it.
    """

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: float, max_sessions: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(ttl_seconds * 1000)
        self._max = max_sessions
        self._save = client.register_script(_SAVE_SESSION)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:session:{key}"

    def load(self, key: str) -> SessionState | None:
        """The stored state, or None."""
        raw = guarded("the chat session", lambda: self._client.get(self._key(key)))
        return SessionState.from_json(raw) if raw is not None else None

    def save(self, key: str, state: SessionState, expected_version: int) -> bool:
        """Store `state` if the stored version is still `expected_version`."""
        keys = [self._key(key), f"{self._prefix}:sessions"]
        now_ms = int(time.time() * 1000)
        args: list[str | int] = [expected_version, state.to_json(), self._ttl_ms, now_ms, self._max]
        return bool(guarded("the chat session", lambda: self._save(keys=keys, args=args)))

    def count(self) -> int:
        """Sessions used within the TTL."""
        since = int(time.time() * 1000) - self._ttl_ms
        return int(
            guarded(
                "the session count", lambda: self._client.zcount(f"{self._prefix}:sessions", since, "+inf")
            )
        )


class RedisSeenEvents:
    """Seen Slack event ids as keys that expire after `ttl_seconds` (``SET NX EX``)."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int = 3600) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    def first_time(self, event_id: str) -> bool:
        """True for the first delivery of `event_id` to any replica."""
        key = f"{self._prefix}:slack-event:{event_id}"
        return bool(
            guarded("Slack event de-duplication", lambda: self._client.set(key, 1, nx=True, ex=self._ttl))
        )


class RedisFeedback:
    """Votes in one hash, field ``<answer_key> <user>``; durable when Redis runs with
    ``appendonly yes`` and ``appendfsync always`` (checked, with a warning, at startup)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._key = f"{prefix}:feedback"
        self._record = client.register_script(_RECORD_VOTE)

    def record(self, vote: Vote) -> bool:
        """Store `vote`; True when new or the rating changed.

        Raises:
            FeedbackNotSaved: Redis could not be reached.
        """
        record = {**vote.record, "rating": vote.rating, "user": vote.user, "stored_at": time.time()}
        args = [f"{vote.answer_key} {vote.user}", json.dumps(record, ensure_ascii=False), vote.rating]
        try:
            return bool(guarded("feedback", lambda: self._record(keys=[self._key], args=args)))
        except StateUnavailable as exc:
            raise FeedbackNotSaved(f"{exc.message} The vote was not saved; press the button again.") from exc

    def votes(self) -> list[dict[str, Any]]:
        """Every vote's record, oldest change first."""
        raw = guarded("feedback", lambda: self._client.hvals(self._key))
        records = [json.loads(value) for value in raw]
        return sorted(records, key=lambda r: float(r.get("stored_at", 0)))


def check_durability(client: redis.Redis) -> bool:
    """Warn unless Redis fsyncs every write (``appendonly yes``, ``appendfsync always``)."""
    try:
        config = {**client.config_get("appendonly"), **client.config_get("appendfsync")}
    except redis.exceptions.RedisError as exc:
        logger.warning(
            "could not read Redis persistence settings (%s); votes are durable only with "
            "appendonly yes and appendfsync always",
            type(exc).__name__,
        )
        return False
    durable = config.get("appendonly") == "yes" and config.get("appendfsync") == "always"
    if not durable:
        logger.warning(
            "Redis runs with appendonly=%s appendfsync=%s: acknowledged votes can be lost if Redis "
            "is killed; run it with --appendonly yes --appendfsync always",
            config.get("appendonly"),
            config.get("appendfsync"),
        )
    return durable


class RedisCoordinator:
    """The index generation as a counter and the build lock as a Redis lock renewed while held."""

    def __init__(self, client: redis.Redis, prefix: str, lock_seconds: float = 30.0) -> None:
        self._client = client
        self._generation_key = f"{prefix}:index:generation"
        self._lock_key = f"{prefix}:index:build-lock"
        self._lock_seconds = lock_seconds

    def generation(self) -> int | None:
        """The shared generation, None when never announced."""
        raw = guarded("the index generation", lambda: self._client.get(self._generation_key))
        return int(raw) if raw is not None else None

    def bump(self) -> int:
        """Announce a new index to every replica."""
        return int(guarded("the index generation", lambda: self._client.incr(self._generation_key)))

    @contextmanager
    def build_lock(self) -> Iterator[bool]:
        """Hold the lock (renewed every third of its timeout) while the block runs.

        A replica killed mid-build stops renewing, so its lock expires after `lock_seconds`.
        """
        lock = self._client.lock(
            self._lock_key, timeout=self._lock_seconds, blocking=False, thread_local=False
        )
        acquired = bool(guarded("the build lock", lambda: lock.acquire(blocking=False)))
        if not acquired:
            yield False
            return
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lock, stop), daemon=True, name="build-lock")
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join()
            try:
                lock.release()
            except redis.exceptions.RedisError as exc:  # expired or Redis away: it frees itself
                logger.warning("build lock not released cleanly: %s", type(exc).__name__)

    def _renew(self, lock: Any, stop: threading.Event) -> None:
        while not stop.wait(self._lock_seconds / 3):
            try:
                lock.reacquire()
            except redis.exceptions.RedisError as exc:
                logger.warning("could not renew the build lock: %s", type(exc).__name__)


class FallbackLimiter:
    """``limits``' moving window in Redis, shared by every replica.

    While Redis is unreachable each replica counts on its own (in memory) instead, so the API
    keeps answering: the limit then holds per replica, not across them (logged once per outage).
    """

    def __init__(self, url: str, client: redis.Redis, prefix: str, per_minute: int) -> None:
        storage = RedisStorage(url, connection_pool=client.connection_pool, key_prefix=f"{prefix}:ratelimit")
        self._shared = WindowLimiter(MovingWindowRateLimiter(storage), per_minute)
        self._local = memory_limiter(per_minute)
        self._degraded = False

    def take(self, client: str) -> float:
        """Seconds to wait (0 when allowed)."""
        try:
            wait = self._shared.take(client)
        except REDIS_ERRORS as exc:
            if not self._degraded:
                logger.warning(
                    "rate limit falls back to this replica while Redis is away: %s", type(exc).__name__
                )
                self._degraded = True
            return self._local.take(client)
        if self._degraded:
            logger.info("rate limit shared through Redis again")
            self._degraded = False
        return wait
