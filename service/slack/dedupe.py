"""A bounded, time-limited set of seen Slack ``event_id``s, so Slack's retries never answer twice."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class SeenEvents:
    """Remembers event ids for ``ttl_seconds``, at most ``max_size`` of them (oldest dropped first).

    Slack retries an event (header ``X-Slack-Retry-Num``, same ``event_id``) when the first
    delivery was not acknowledged in 3 seconds; Socket Mode redelivers the same way.

    Args:
        ttl_seconds: How long an id is remembered. Slack retries within about 5 minutes.
        max_size: Most ids kept.
        clock: Monotonic time source (seconds).

    Example:
        >>> seen = SeenEvents()
        >>> seen.first_time("Ev1"), seen.first_time("Ev1")
        (True, False)
    """

    def __init__(
        self, ttl_seconds: float = 3600.0, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds}")
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self.ttl_seconds = ttl_seconds
        self.max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """Record ``event_id``; True if it was not seen within the TTL, False for a repeat."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            while len(self._seen) > self.max_size:
                self._seen.popitem(last=False)
            return True

    def _expire(self, now: float) -> None:
        while self._seen:
            oldest_id, stamp = next(iter(self._seen.items()))
            if now - stamp < self.ttl_seconds:
                return
            del self._seen[oldest_id]

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
