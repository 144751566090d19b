"""Conversations over the index: sessions in memory, follow-ups resolved before searching.

`ChatService` is what `/v1/chat`, the Slack bot and `docqa eval` share. It knows nothing of
HTTP: give it something that returns the current `Index` and call `chat()`.

Example:
    >>> chat = ChatService(index, Settings())                      # doctest: +SKIP
    >>> first = chat.chat(None, "What does a chief revenue officer focus on?")
    >>> chat.chat(first.session_id, "Who do they report to?").resolved_question
    'Who does the chief revenue officer report to?'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from index import Index
from index.errors import EmptyQuery, QAError, QueryTooLong
from index.types import QueryResult
from service.config import Settings
from service.followup import Resolution, Turn, Vocabulary, resolve

logger = logging.getLogger(__name__)

SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# A resolved question may be longer than the message it came from ("they" -> "the chief ...").
_RESOLUTION_SLACK = 512


class InvalidSessionId(QAError):
    """The session id has characters or a length the service does not accept."""

    status = 422
    code = "invalid_session_id"


def validate_question(text: str, limit: int) -> None:
    """Refuse empty, whitespace-only and over-long questions.

    Raises:
        EmptyQuery: `text` is empty or whitespace.
        QueryTooLong: `text` has more than `limit` characters.
    """
    if not text or not text.strip():
        raise EmptyQuery("The question is empty; send some text to search for.")
    if len(text) > limit:
        raise QueryTooLong(f"The question has {len(text)} characters; the limit is {limit}.")


@dataclass(frozen=True)
class ChatResult:
    """One chat reply: the QueryResult plus the session and the question actually searched."""

    session_id: str
    resolved_question: str
    result: QueryResult

    def to_dict(self) -> dict[str, Any]:
        """The contract's chat response: QueryResponse + `session_id` + `resolved_question`."""
        body = self.result.to_dict()
        body["session_id"] = self.session_id
        body["resolved_question"] = self.resolved_question
        return body


@dataclass
class _Session:
    session_id: str
    turns: deque[Turn]
    last_used: float
    chosen: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionStore:
    """Chat sessions in memory: least recently used first, idle ones expire, both capped.

    Args:
        ttl_seconds: Idle time after which a session is forgotten.
        max_sessions: Most sessions kept; the least recently used is dropped beyond it.
        max_turns: Most turns kept per session (older ones are forgotten).
        clock: Monotonic time source (seconds).
    """

    def __init__(
        self,
        ttl_seconds: float,
        max_sessions: int,
        max_turns: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_sessions = max_sessions
        self._max_turns = max_turns
        self._clock = clock
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._sessions)

    def get_or_create(self, session_id: str | None) -> _Session:
        """The live session of that id, a fresh one under that id, or a new id when None."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if session_id is not None and session_id in self._sessions:
                session = self._sessions[session_id]
                self._sessions.move_to_end(session_id)
            else:
                session_id = session_id or uuid.uuid4().hex
                session = _Session(session_id, deque(maxlen=self._max_turns), now)
                self._sessions[session_id] = session
                while len(self._sessions) > self._max_sessions:
                    self._sessions.popitem(last=False)
            session.last_used = now
            return session

    def _expire(self, now: float) -> None:
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if now - oldest.last_used < self._ttl:
                break
            self._sessions.popitem(last=False)


class ReplayCache:
    """Conversation states of the stateless door, keyed by a digest of the user messages so far.

    A client that sends the whole conversation each time finds the state its previous request
    left, so each request answers one turn instead of replaying all of them. Entries belong to one
    index; a reload empties the cache.

    Args:
        max_entries: Most states kept; the least recently used is dropped beyond it.
    """

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._states: OrderedDict[str, tuple[tuple[Turn, ...], dict[str, str]]] = OrderedDict()
        self._index: Index | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)

    @staticmethod
    def key(messages: Sequence[str], top_k: int) -> str:
        """A digest of the messages (and `top_k`, which the answers depend on)."""
        return hashlib.sha256(json.dumps([top_k, *messages]).encode()).hexdigest()

    def get(self, index: Index, key: str) -> tuple[tuple[Turn, ...], dict[str, str]] | None:
        """The turns and chosen meanings stored under `key` for `index`, if any."""
        with self._lock:
            if self._index is not index or key not in self._states:
                return None
            self._states.move_to_end(key)
            turns, chosen = self._states[key]
            return turns, dict(chosen)

    def put(self, index: Index, key: str, session: _Session) -> None:
        """Store the session's turns and chosen meanings under `key`."""
        with self._lock:
            if self._index is not index:
                self._states.clear()
                self._index = index
            self._states[key] = (tuple(session.turns), dict(session.chosen))
            self._states.move_to_end(key)
            while len(self._states) > self._max:
                self._states.popitem(last=False)


class ChatService:
    """Answers chat messages, resolving follow-ups against each session's earlier turns.

    Args:
        index_provider: A callable returning the current `Index` (so hot reloads are seen), or
            an `Index` itself.
        settings: Limits: `max_question_chars`, `session_ttl_seconds`, `max_sessions`, `max_turns`.
    """

    def __init__(self, index_provider: Callable[[], Index] | Index, settings: Settings) -> None:
        if isinstance(index_provider, Index):
            fixed = index_provider

            def provider() -> Index:
                return fixed

            self._provider: Callable[[], Index] = provider
        else:
            self._provider = index_provider
        self._settings = settings
        self.sessions = SessionStore(settings.session_ttl_seconds, settings.max_sessions, settings.max_turns)
        self._vocab_lock = threading.Lock()
        self._vocab_for: tuple[Index, Vocabulary] | None = None
        self._text_for: tuple[Index, str] | None = None
        self.replays = ReplayCache(settings.max_sessions)

    def chat(self, session_id: str | None, message: str, top_k: int = 5) -> ChatResult:
        """Answer `message` in the session `session_id` (a new session when None).

        Args:
            session_id: An id returned earlier, any id of 1-128 characters ``[A-Za-z0-9._:-]``
                to start a session under that id, or None to have one issued.
            message: The question or follow-up.
            top_k: How many passages to return.

        Returns:
            The answer with `session_id` and the standalone `resolved_question` that was searched.

        Raises:
            EmptyQuery: `message` is empty or whitespace.
            QueryTooLong: `message` is longer than `max_question_chars`.
            InvalidSessionId: `session_id` is malformed.
            IndexNotReady: No index is loaded.
        """
        self._validate(session_id, message)
        index = self._provider()
        vocab = self._vocabulary(index)
        session = self.sessions.get_or_create(session_id)
        with session.lock:
            resolution, result = self._turn(index, vocab, session, message, top_k)
        logger.info(
            "chat session=%s turns=%d resolved=%s abstained=%s",
            session.session_id,
            len(session.turns),
            resolution.question != message.strip(),
            result.abstained,
        )
        return ChatResult(
            session_id=session.session_id,
            resolved_question=resolution.question,
            result=dataclasses.replace(result, question=message),
        )

    def chat_history(self, earlier: Sequence[str], message: str, top_k: int = 5) -> ChatResult:
        """Answer `message` after the user messages `earlier`, with no stored session (stateless doors).

        The earlier turns are replayed through the same steps as `chat` (the last `max_turns` of
        them; empty or over-long ones are skipped, as `chat` would have refused them), so a
        conversation resolves the same way whether its history lives here or in the client. The
        state after each answer is kept in `replays`, so the next request of the same
        conversation starts from it instead of replaying every turn again.

        Args:
            earlier: The user's earlier messages, oldest first.
            message: The question or follow-up to answer.
            top_k: How many passages to return.

        Returns:
            The answer with the standalone `resolved_question`; `session_id` is empty.

        Raises:
            EmptyQuery: `message` is empty or whitespace.
            QueryTooLong: `message` is longer than `max_question_chars`.
            IndexNotReady: No index is loaded.
        """
        self._validate(None, message)
        index = self._provider()
        vocab = self._vocabulary(index)
        earlier = list(earlier)
        session = _Session("", deque(maxlen=self._settings.max_turns), time.monotonic())
        stored = self.replays.get(index, ReplayCache.key(earlier, top_k))
        if stored is not None:
            session.turns.extend(stored[0])
            session.chosen.update(stored[1])
        else:
            for text in earlier[-self._settings.max_turns :]:
                if text.strip() and len(text) <= self._settings.max_question_chars:
                    self._turn(index, vocab, session, text, top_k)
        resolution, result = self._turn(index, vocab, session, message, top_k)
        self.replays.put(index, ReplayCache.key([*earlier, message], top_k), session)
        logger.info(
            "chat stateless turns=%d replayed=%s resolved=%s abstained=%s",
            len(session.turns),
            stored is None and bool(earlier),
            resolution.question != message.strip(),
            result.abstained,
        )
        return ChatResult("", resolution.question, dataclasses.replace(result, question=message))

    def _turn(
        self, index: Index, vocab: Vocabulary, session: _Session, message: str, top_k: int
    ) -> tuple[Resolution, QueryResult]:
        """Resolve `message` against the session's turns, answer it, and remember the turn."""
        resolution = resolve(
            message, tuple(session.turns), vocab, session.chosen, index.idf, self._phrases(index)
        )
        limit = self._settings.max_question_chars + _RESOLUTION_SLACK
        if len(resolution.question) > limit:
            # Spelling out many pronouns can outgrow the limit; search the message as sent.
            resolution = Resolution(message.strip(), resolution.subjects, topic=resolution.topic)
        result = index.query(resolution.question, top_k, max_chars=limit)
        if resolution.alternative is not None:
            # Nothing in the message says it continues the conversation: keep the topic only when
            # the documents answer the question with it more surely than without it.
            alone = index.query(resolution.alternative, top_k, max_chars=limit)
            if alone.confidence > result.confidence:
                result = alone
                resolution = Resolution(resolution.alternative, resolution.subjects, resolution.chosen)
        self._remember(session, message, resolution, result)
        return resolution, result

    def _validate(self, session_id: str | None, message: str) -> None:
        if session_id is not None and not SESSION_ID_PATTERN.match(session_id):
            raise InvalidSessionId("session_id must be 1-128 characters of letters, digits and ._:-")
        validate_question(message, self._settings.max_question_chars)

    @staticmethod
    def _remember(session: _Session, message: str, resolution: Resolution, result: QueryResult) -> None:
        session.chosen.update(resolution.chosen)
        session.turns.append(
            Turn(
                message=message,
                resolved=resolution.question,
                subjects=resolution.subjects,
                clarifications=result.clarifications,
                topic=resolution.topic,
            )
        )

    def _phrases(self, index: Index) -> Callable[[str], bool]:
        """Whether a phrase occurs in the corpus (case and spacing folded), for topic phrases."""
        with self._vocab_lock:
            if self._text_for is None or self._text_for[0] is not index:
                folded = " ".join(" ".join(doc.text.split()).lower() for doc in index.documents.values())
                self._text_for = (index, folded)
            text = self._text_for[1]
        return lambda phrase: " ".join(phrase.lower().split()) in text

    def _vocabulary(self, index: Index) -> Vocabulary:
        with self._vocab_lock:
            if self._vocab_for is None or self._vocab_for[0] is not index:
                texts = (doc.text for doc in index.documents.values())
                self._vocab_for = (index, Vocabulary.build(index.acronyms, texts))
            return self._vocab_for[1]
