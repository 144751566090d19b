"""The in-process implementations of the state protocols: one process, nothing to install.

TTL maps are cachetools' ``TTLCache`` (least recently used dropped when full, entries expire
``ttl`` seconds after their last write); the rate limiter is ``limits``' moving window over its
in-memory storage. Each map is guarded by one lock: cachetools caches are not thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cachetools import TTLCache
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.state.base import SessionState


class MemorySessions:
    """Chat sessions in a TTL map: idle ones expire, the least recently used go beyond `max_sessions`.

    Args:
        ttl_seconds: Idle time after which a session is forgotten (every saved turn restarts it).
        max_sessions: Most sessions kept.
        clock: Monotonic time source (seconds).
    """

    def __init__(
        self, ttl_seconds: float, max_sessions: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cache: TTLCache[str, SessionState] = TTLCache(
            maxsize=max_sessions, ttl=ttl_seconds, timer=clock
        )
        self._lock = threading.Lock()

    def load(self, key: str) -> SessionState | None:
        """The stored state of `key`, or None."""
        with self._lock:
            return self._cache.get(key)

    def save(self, key: str, state: SessionState, expected_version: int) -> bool:
        """Store `state` when the stored version is `expected_version` (0 when absent)."""
        with self._lock:
            current = self._cache.get(key)
            if (current.version if current is not None else 0) != expected_version:
                return False
            self._cache[key] = state
            return True

    def count(self) -> int:
        """Live sessions."""
        with self._lock:
            self._cache.expire()
            return len(self._cache)


class MemorySeenEvents:
    """Slack event ids seen within `ttl_seconds`, at most `max_size` of them.

    Example:
        >>> seen = MemorySeenEvents()
        >>> seen.first_time("Ev1"), seen.first_time("Ev1")
        (True, False)
    """

    def __init__(self, ttl_seconds: float = 3600.0, max_size: int = 10_000) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds}")
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self._cache: TTLCache[str, bool] = TTLCache(maxsize=max_size, ttl=ttl_seconds)
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """Record `event_id`; True if it was not seen within the TTL."""
        with self._lock:
            if event_id in self._cache:
                return False
            self._cache[event_id] = True
            return True


class WindowLimiter:
    """`per_minute` requests per client in any 60-second window (``limits``' moving window).

    Args:
        limiter: A ``limits`` strategy over some storage (memory here, Redis in redis_store).
        per_minute: Requests allowed per client per minute.
    """

    def __init__(self, limiter: MovingWindowRateLimiter, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be >= 1, got {per_minute}")
        self._limiter = limiter
        self._item = RateLimitItemPerMinute(per_minute)

    def take(self, client: str) -> float:
        """0 when the request of `client` is allowed, else seconds until the window frees a slot."""
        if self._limiter.hit(self._item, client):
            return 0.0
        reset = self._limiter.get_window_stats(self._item, client).reset_time
        return max(0.001, reset - time.time())


def memory_limiter(per_minute: int) -> WindowLimiter:
    """A per-process moving-window limiter."""
    return WindowLimiter(MovingWindowRateLimiter(MemoryStorage()), per_minute)


class LocalCoordinator:
    """One process: the generation is a counter and the build lock a thread lock."""

    def __init__(self) -> None:
        self._generation = 0
        self._lock = threading.Lock()
        self._counter_lock = threading.Lock()

    def generation(self) -> int | None:
        """The generation last announced by this process."""
        return self._generation

    def bump(self) -> int:
        """A new generation (nobody else to tell)."""
        with self._counter_lock:
            self._generation += 1
            return self._generation

    @contextmanager
    def build_lock(self) -> Iterator[bool]:
        """True while this block holds the lock; False when another thread holds it."""
        acquired = self._lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                self._lock.release()
