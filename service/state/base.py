"""The shared-state seam: small protocols for what replicas of docqa must agree on.

Chat sessions, rate-limit buckets, seen Slack events, feedback votes and the index generation
each sit behind one protocol here. ``service.state.memory`` implements them for one process
(nothing to install); ``service.state.redis_store`` implements them in Redis so that any number
of processes behind a load balancer behave as one (issue #13).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from index.errors import QAError
from index.types import Clarification, Meaning
from service.followup import Turn


class StateUnavailable(QAError):
    """The shared state store (Redis) cannot be reached; nothing was changed."""

    status = 503
    code = "state_unavailable"


class SessionNotFound(QAError):
    """The session id was never issued by this service's HTTP door, or has expired."""

    status = 404
    code = "unknown_session"


class SessionBusy(QAError):
    """Other turns of the same session kept winning the race; the client should retry."""

    status = 409
    code = "session_busy"


class FeedbackNotSaved(QAError):
    """A vote could not be stored durably, so it is not acknowledged."""

    status = 503
    code = "feedback_not_saved"


@dataclass(frozen=True)
class SessionState:
    """One conversation as a plain, serialisable value.

    Attributes:
        turns: Earlier exchanges, oldest first.
        chosen: Meanings the user picked for ambiguous acronyms (term -> expansion).
        version: Bumped by every saved turn; a save names the version it read (optimistic check).
    """

    turns: tuple[Turn, ...] = ()
    chosen: Mapping[str, str] = field(default_factory=dict)
    version: int = 0

    def after(self, turn: Turn, chosen: Mapping[str, str], max_turns: int) -> SessionState:
        """The state once `turn` is added (oldest turns dropped beyond `max_turns`)."""
        turns = (*self.turns, turn)[-max_turns:]
        return SessionState(turns=turns, chosen={**self.chosen, **chosen}, version=self.version + 1)

    def to_json(self) -> str:
        """Compact JSON of the state (what Redis stores)."""
        return json.dumps(
            {"v": self.version, "chosen": dict(self.chosen), "turns": [_turn_dict(t) for t in self.turns]},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionState:
        """Parse what `to_json` wrote."""
        data = json.loads(text)
        turns = tuple(_turn_from(t) for t in data.get("turns", []))
        return cls(turns=turns, chosen=dict(data.get("chosen", {})), version=int(data.get("v", 0)))


def _turn_dict(turn: Turn) -> dict[str, Any]:
    return {
        "message": turn.message,
        "resolved": turn.resolved,
        "subjects": list(turn.subjects),
        "clarifications": [c.to_dict() for c in turn.clarifications],
        "topic": turn.topic,
    }


def _turn_from(data: Mapping[str, Any]) -> Turn:
    clarifications = tuple(
        Clarification(
            term=str(c["term"]),
            meanings=tuple(Meaning(str(m["expansion"]), tuple(m["doc_ids"])) for m in c["meanings"]),
        )
        for c in data.get("clarifications", [])
    )
    return Turn(
        message=str(data["message"]),
        resolved=str(data["resolved"]),
        subjects=tuple(data.get("subjects", [])),
        clarifications=clarifications,
        topic=str(data.get("topic", "")),
    )


@dataclass(frozen=True)
class Vote:
    """One user's 👍/👎 on one answer; a later vote by the same user on the same answer replaces it.

    Attributes:
        answer_key: Identifies the answer (its Slack message, else its question and answer).
        user: Who voted (Slack user id).
        rating: ``"up"`` or ``"down"``.
        record: Everything kept with the vote (question, answer, citations, team, channel, time).
    """

    answer_key: str
    user: str
    rating: str
    record: Mapping[str, Any]


class SessionStore(Protocol):
    """Chat sessions by key (the key carries the door: ``http:…`` or ``slack:…``)."""

    def load(self, key: str) -> SessionState | None:
        """The stored state, or None when there is none (never issued, or expired)."""

    def save(self, key: str, state: SessionState, expected_version: int) -> bool:
        """Store `state` if the stored version still is `expected_version` (0: absent); True if stored."""

    def count(self) -> int:
        """Live sessions (for the ``docqa_chat_sessions`` gauge)."""


class SeenEvents(Protocol):
    """Slack event ids already handled, so a retry landing on any replica is not answered twice."""

    def first_time(self, event_id: str) -> bool:
        """Record `event_id`; True if it was not seen before (within the TTL)."""


class RateLimiter(Protocol):
    """Requests per client per minute."""

    def take(self, client: str) -> float:
        """Count one request of `client`; 0 when allowed, else seconds until it may retry."""


class FeedbackStore(Protocol):
    """Durable 👍/👎 votes, one per user per answer."""

    def record(self, vote: Vote) -> bool:
        """Store `vote` durably before returning; True when it is new or changed the rating.

        Raises:
            FeedbackNotSaved: The vote could not be stored.
        """

    def votes(self) -> list[dict[str, Any]]:
        """Every stored vote's record (with ``rating`` and ``user``), oldest first."""


class Coordinator(Protocol):
    """What replicas share about the index: a generation number and a build lock."""

    def generation(self) -> int | None:
        """The shared index generation (None when unknown)."""

    def bump(self) -> int:
        """Announce a new index to every replica; returns the new generation."""

    def build_lock(self) -> AbstractContextManager[bool]:
        """Hold the build lock while the block runs; yields False when another holder has it."""


@dataclass(frozen=True)
class SharedState:
    """The stores of one service process (all in memory, or all in Redis).

    Attributes:
        backend: ``"memory"`` or ``"redis"``.
        limiter: Builds a rate limiter of N requests a minute per client on the same backend.
    """

    sessions: SessionStore
    seen_events: SeenEvents
    feedback: FeedbackStore | None
    coordinator: Coordinator
    limiter: Callable[[int], RateLimiter]
    backend: str
