"""👍/👎 feedback from Slack: one durable vote per user per answer, counted in /metrics."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from service.state.base import FeedbackStore, Vote

logger = logging.getLogger(__name__)

RATINGS = ("up", "down")


class SlackMetrics:
    """The Slack bot's counters, registered in the service's registry (the one /metrics renders).

    Args:
        registry: The app's registry; a private one when None (Socket Mode has no /metrics).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.feedback = Counter(
            "docqa_slack_feedback",
            "Feedback buttons pressed on Slack answers, by rating.",
            ["rating"],
            registry=registry,
        )
        self.questions = Counter(
            "docqa_slack_questions",
            "Questions answered from Slack, by where they were asked.",
            ["source"],
            registry=registry,
        )
        for rating in RATINGS:
            self.feedback.labels(rating=rating)


def answer_key(
    question: str, answer: str, citations: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]
) -> str:
    """What identifies the answer a vote is about: its Slack message when known, else its content."""
    place = [str(extra.get(k) or "") for k in ("team", "channel", "message_ts")]
    if all(place[1:]):
        return "msg:" + ":".join(place)
    content = json.dumps([question, answer, [dict(c) for c in citations]], sort_keys=True, ensure_ascii=False)
    return "qa:" + hashlib.sha256(content.encode()).hexdigest()[:32]


class FeedbackRecorder:
    """Turns a 👍/👎 press into a `Vote` in the feedback store, counting new and changed votes.

    One vote per user per answer: pressing again with the other rating replaces the vote, and a
    replayed request (same user, same answer, same rating) changes nothing and is not counted.

    Args:
        store: Durable vote store (SQLite under the data directory, or Redis).
        metrics: Where votes are counted (none when None).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from service.state.feedback_sqlite import SqliteFeedback
        >>> recorder = FeedbackRecorder(SqliteFeedback(Path(tempfile.mkdtemp())))
        >>> recorder.record("up", user="U1", question="q", answer="a", citations=[])
        True
    """

    def __init__(self, store: FeedbackStore, metrics: SlackMetrics | None = None) -> None:
        self.store = store
        self.metrics = metrics

    def record(
        self,
        rating: str,
        *,
        user: str,
        question: str,
        answer: str,
        citations: Sequence[Mapping[str, Any]],
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store one vote durably (returns only once it is saved).

        Args:
            rating: ``"up"`` or ``"down"``.
            user: Slack user id of whoever pressed the button.
            question: The question that was answered.
            answer: The answer sentence (empty for an abstention).
            citations: ``{"doc_id", "start", "end"}`` of each cited span.
            extra: Further fields to keep (team, channel, message ts).

        Returns:
            True when the vote is new or changed its rating; False for a repeat.

        Raises:
            ValueError: ``rating`` is neither ``"up"`` nor ``"down"``.
            FeedbackNotSaved: The store could not save it (the press must not be acknowledged).
        """
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        extra = dict(extra or {})
        entry: dict[str, Any] = {
            "time": time.time(),
            "question": question,
            "answer": answer,
            "citations": [dict(c) for c in citations],
            **extra,
        }
        key = answer_key(question, answer, citations, extra)
        changed = self.store.record(Vote(answer_key=key, user=user, rating=rating, record=entry))
        if changed and self.metrics is not None:
            self.metrics.feedback.labels(rating=rating).inc()
        logger.info("slack feedback rating=%s user=%s changed=%s", rating, user, changed)
        return changed
