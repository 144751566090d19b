"""Shared state of the service: in memory by default, in Redis when ``DOCQA_REDIS_URL`` is set.

Example:
    >>> state = build_state(Settings(), feedback=False)
    >>> state.backend
    'memory'
"""

from __future__ import annotations

import logging

from service.config import Settings
from service.state.base import (
    Coordinator,
    FeedbackNotSaved,
    FeedbackStore,
    RateLimiter,
    SeenEvents,
    SessionBusy,
    SessionNotFound,
    SessionState,
    SessionStore,
    SharedState,
    StateUnavailable,
    Vote,
)
from service.state.feedback_sqlite import DataDirUnwritable, SqliteFeedback, check_data_dir
from service.state.memory import LocalCoordinator, MemorySeenEvents, MemorySessions, memory_limiter

__all__ = [
    "Coordinator",
    "DataDirUnwritable",
    "FeedbackNotSaved",
    "FeedbackStore",
    "RateLimiter",
    "SeenEvents",
    "SessionBusy",
    "SessionNotFound",
    "SessionState",
    "SessionStore",
    "SharedState",
    "StateUnavailable",
    "Vote",
    "build_state",
    "check_data_dir",
]

logger = logging.getLogger(__name__)


def build_state(settings: Settings, *, feedback: bool) -> SharedState:
    """The stores for one process.

    Args:
        settings: ``redis_url`` picks Redis; session limits; ``data_dir`` for feedback without Redis.
        feedback: Whether a feedback store is needed (the Slack bot is on).

    Returns:
        In-memory stores (feedback in SQLite under the data directory), or Redis ones.

    Raises:
        DataDirUnwritable: Feedback goes to the data directory and it cannot be written.
    """
    if settings.redis_url:
        return _redis_state(settings, feedback=feedback)
    return SharedState(
        sessions=MemorySessions(settings.session_ttl_seconds, settings.max_sessions),
        seen_events=MemorySeenEvents(),
        feedback=SqliteFeedback(settings.data_dir) if feedback else None,
        coordinator=LocalCoordinator(),
        limiter=memory_limiter,
        backend="memory",
    )


def _redis_state(settings: Settings, *, feedback: bool) -> SharedState:
    from service.state.redis_store import (
        FallbackLimiter,
        RedisCoordinator,
        RedisFeedback,
        RedisSeenEvents,
        RedisSessions,
        check_durability,
        connect,
        describe,
    )

    url, prefix = settings.redis_url, settings.redis_prefix
    client = connect(url, settings.redis_timeout_seconds)
    logger.info("shared state in Redis at %s (prefix %s)", describe(url), prefix)
    if feedback:
        check_durability(client)

    def limiter(per_minute: int) -> RateLimiter:
        return FallbackLimiter(url, client, prefix, per_minute)

    return SharedState(
        sessions=RedisSessions(client, prefix, settings.session_ttl_seconds, settings.max_sessions),
        seen_events=RedisSeenEvents(client, prefix),
        feedback=RedisFeedback(client, prefix) if feedback else None,
        coordinator=RedisCoordinator(client, prefix),
        limiter=limiter,
        backend="redis",
    )
