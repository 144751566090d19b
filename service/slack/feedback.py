"""👍/👎 feedback from Slack: appended as JSON lines under the data directory, counted in /metrics."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter

logger = logging.getLogger(__name__)

FEEDBACK_FILE = "slack_feedback.jsonl"
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


class FeedbackStore:
    """Appends one JSON object per feedback press to ``<data_dir>/slack_feedback.jsonl``.

    Args:
        data_dir: The service's writable data directory; created if missing.
        metrics: Where presses are counted (none when None).

    Example:
        >>> import tempfile
        >>> store = FeedbackStore(Path(tempfile.mkdtemp()))
        >>> store.record("up", user="U1", question="q", answer="a", citations=[])["rating"]
        'up'
    """

    def __init__(self, data_dir: Path, metrics: SlackMetrics | None = None) -> None:
        self.path = data_dir / FEEDBACK_FILE
        self.metrics = metrics
        self._lock = threading.Lock()

    def record(
        self,
        rating: str,
        *,
        user: str,
        question: str,
        answer: str,
        citations: Sequence[Mapping[str, Any]],
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one feedback record and count it.

        Args:
            rating: ``"up"`` or ``"down"``.
            user: Slack user id of whoever pressed the button.
            question: The question that was answered.
            answer: The answer sentence (empty for an abstention).
            citations: ``{"doc_id", "start", "end"}`` of each cited span.
            extra: Further fields to keep (team, channel, message ts).

        Returns:
            The record as written.

        Raises:
            ValueError: ``rating`` is neither ``"up"`` nor ``"down"``.
        """
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        entry: dict[str, Any] = {
            "time": time.time(),
            "rating": rating,
            "user": user,
            "question": question,
            "answer": answer,
            "citations": [dict(c) for c in citations],
            **(extra or {}),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        if self.metrics is not None:
            self.metrics.feedback.labels(rating=rating).inc()
        logger.info("slack feedback recorded: rating=%s user=%s", rating, user)
        return entry
