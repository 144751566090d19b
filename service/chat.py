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
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from index import Index
from index.errors import QAError
from index.question import check_question
from index.types import QueryResult
from service.config import Settings
from service.followup import Resolution, Turn, resolve
from service.state import SessionBusy, SessionNotFound, SessionState, SessionStore, StateUnavailable
from service.state.memory import MemorySessions
from service.vocabulary import Vocabulary

logger = logging.getLogger(__name__)

SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
DOORS = ("http", "slack")
# Concurrent turns of one session: each saves against the version it read; a loser re-reads the
# session (now including the winner's turn) and answers again, at most this many times.
_SAVE_ATTEMPTS = 4
# A resolved question may be longer than the message it came from ("they" -> "the chief ...").
_RESOLUTION_SLACK = 512


class InvalidSessionId(QAError):
    """The session id has characters or a length the service does not accept."""

    status = 422
    code = "invalid_session_id"


def validate_question(text: str, limit: int, what: str = "question") -> None:
    """Refuse empty, whitespace-only, non-text (lone surrogates) and over-long questions.

    Raises:
        EmptyQuery: `text` is empty or whitespace.
        InvalidText: `text` holds a lone UTF-16 surrogate.
        QueryTooLong: `text` has more than `limit` characters.
    """
    check_question(text, limit, what)


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


class ChatService:
    """Answers chat messages, resolving follow-ups against each session's earlier turns.

    Sessions live in a `SessionStore` (this process's memory by default, Redis for replicas);
    each door has its own namespace, so an HTTP client can never address a Slack thread's session.

    Args:
        index_provider: A callable returning the current `Index` (so hot reloads are seen), or
            an `Index` itself.
        settings: Limits: `max_question_chars`, `session_ttl_seconds`, `max_sessions`, `max_turns`.
        sessions: Where sessions are kept; in this process's memory when None.
    """

    def __init__(
        self,
        index_provider: Callable[[], Index] | Index,
        settings: Settings,
        sessions: SessionStore | None = None,
    ) -> None:
        if isinstance(index_provider, Index):
            fixed = index_provider

            def provider() -> Index:
                return fixed

            self._provider: Callable[[], Index] = provider
        else:
            self._provider = index_provider
        self._settings = settings
        self.sessions: SessionStore = sessions or MemorySessions(
            settings.session_ttl_seconds, settings.max_sessions
        )
        self._vocab_lock = threading.Lock()
        self._vocab_for: tuple[Index, Vocabulary] | None = None
        self._text_for: tuple[Index, str] | None = None

    def chat(self, session_id: str | None, message: str, top_k: int = 5, *, door: str = "http") -> ChatResult:
        """Answer `message` in the session `session_id` (a new session when None).

        Args:
            session_id: For the ``http`` door, an id this service issued earlier (None starts a
                session and issues an unguessable id). For ``slack``, the thread's own key: the
                session is created on its first message.
            message: The question or follow-up.
            top_k: How many passages to return.
            door: ``"http"`` (``/v1/chat``, eval) or ``"slack"``; sessions never cross doors.

        Returns:
            The answer with `session_id` and the standalone `resolved_question` that was searched.

        Raises:
            EmptyQuery: `message` is empty or whitespace.
            InvalidText: `message` holds a lone UTF-16 surrogate.
            QueryTooLong: `message` is longer than `max_question_chars`.
            InvalidSessionId: `session_id` is malformed.
            SessionNotFound: An HTTP `session_id` that was never issued or has expired.
            SessionBusy: Concurrent turns of the session kept conflicting.
            StateUnavailable: The session store (Redis) cannot be reached.
            IndexNotReady: No index is loaded.
        """
        if door not in DOORS:
            raise ValueError(f"door must be one of {DOORS}, got {door!r}")
        self._validate(session_id, message)
        index = self._provider()
        vocab = self._vocabulary(index)
        issued = session_id is None
        session_id = session_id or secrets.token_urlsafe(24)
        key = f"{door}:{session_id}"
        for _attempt in range(_SAVE_ATTEMPTS):
            state = SessionState() if issued else self.sessions.load(key)
            if state is None:
                if door == "http":
                    raise SessionNotFound(
                        "Unknown session_id: it was not issued by this service or has expired "
                        f"({self._settings.session_ttl_seconds} s idle). "
                        "Omit session_id to start a new conversation."
                    )
                state = SessionState()
            resolution, result = self._answer(index, vocab, state, message, top_k)
            new_state = self._next_state(state, resolution, result, message)
            if self.sessions.save(key, new_state, state.version):
                break
            issued = False
        else:
            raise SessionBusy("Other messages of this conversation are being answered; retry in a moment.")
        logger.info(
            "chat door=%s turns=%d resolved=%s abstained=%s",
            door,
            len(new_state.turns),
            resolution.question != message.strip(),
            result.abstained,
        )
        return ChatResult(
            session_id=session_id,
            resolved_question=resolution.question,
            result=dataclasses.replace(result, question=message),
        )

    def chat_history(self, earlier: Sequence[str], message: str, top_k: int = 5) -> ChatResult:
        """Answer `message` after the user messages `earlier`, with no session id (stateless doors).

        The earlier turns go through the same steps as `chat` (the last `max_turns` of them; empty
        or over-long ones are skipped, as `chat` would have refused them), so a conversation
        resolves the same way whether its history lives here or in the client. The state after
        each answer is kept in the session store under a digest of the conversation (door
        ``replay``, so shared by replicas), and the next request of the same conversation starts
        from it instead of replaying every turn. When the store is unreachable the turns are
        simply replayed.

        Args:
            earlier: The user's earlier messages, oldest first.
            message: The question or follow-up to answer.
            top_k: How many passages to return.

        Returns:
            The answer with the standalone `resolved_question`; `session_id` is empty.

        Raises:
            EmptyQuery: `message` is empty or whitespace.
            InvalidText: `message` holds a lone UTF-16 surrogate.
            QueryTooLong: `message` is longer than `max_question_chars`.
            IndexNotReady: No index is loaded.
        """
        self._validate(None, message)
        index = self._provider()
        vocab = self._vocabulary(index)
        earlier = list(earlier)
        state = self._load_replay(self._replay_key(index, earlier, top_k))
        replayed = state is None and bool(earlier)
        if state is None:
            state = SessionState()
            for text in earlier[-self._settings.max_turns :]:
                if text.strip() and len(text) <= self._settings.max_question_chars:
                    state = self._next_state(state, *self._answer(index, vocab, state, text, top_k), text)
        resolution, result = self._answer(index, vocab, state, message, top_k)
        state = self._next_state(state, resolution, result, message)
        self._save_replay(self._replay_key(index, [*earlier, message], top_k), state)
        logger.info(
            "chat door=stateless turns=%d replayed=%s resolved=%s abstained=%s",
            len(state.turns),
            replayed,
            resolution.question != message.strip(),
            result.abstained,
        )
        return ChatResult("", resolution.question, dataclasses.replace(result, question=message))

    def _next_state(
        self, state: SessionState, resolution: Resolution, result: QueryResult, message: str
    ) -> SessionState:
        turn = Turn(
            message=message,
            resolved=resolution.question,
            subjects=resolution.subjects,
            clarifications=result.clarifications,
            topic=resolution.topic,
        )
        return state.after(turn, resolution.chosen, self._settings.max_turns)

    @staticmethod
    def _replay_key(index: Index, messages: Sequence[str], top_k: int) -> str:
        """The digest of a conversation on one index (a rebuilt index answers differently)."""
        seal = str(index.manifest.get("manifest_sha256") or index.manifest.get("built_at"))
        digest = hashlib.sha256(json.dumps([seal, top_k, *messages]).encode()).hexdigest()
        return f"replay:{digest}"

    def _load_replay(self, key: str) -> SessionState | None:
        try:
            return self.sessions.load(key)
        except StateUnavailable:
            return None

    def _save_replay(self, key: str, state: SessionState) -> None:
        try:
            self.sessions.save(key, dataclasses.replace(state, version=1), 0)
        except StateUnavailable:
            logger.warning("conversation state not kept: the session store is unreachable")

    def _answer(
        self, index: Index, vocab: Vocabulary, state: SessionState, message: str, top_k: int
    ) -> tuple[Resolution, QueryResult]:
        """Resolve `message` against the session's turns and search the index."""
        resolution = resolve(message, state.turns, vocab, state.chosen, index.idf, self._phrases(index))
        limit = self._settings.max_question_chars + _RESOLUTION_SLACK
        if len(resolution.question) > limit:
            # Spelling out many pronouns can outgrow the limit; search the message as sent.
            resolution = Resolution(message.strip(), resolution.subjects, topic=resolution.topic)
        result = index.query(resolution.question, top_k, max_chars=limit)
        if resolution.alternative is not None and not (resolution.fallback and not result.abstained):
            # Nothing in the message says it continues the conversation (or it reads two ways and
            # the first reading is not answered): keep the reading the documents answer more surely.
            alone = index.query(resolution.alternative, top_k, max_chars=limit)
            if alone.confidence > result.confidence:
                result = alone
                resolution = Resolution(resolution.alternative, resolution.subjects, resolution.chosen)
        return resolution, result

    def _validate(self, session_id: str | None, message: str) -> None:
        if session_id is not None and not SESSION_ID_PATTERN.match(session_id):
            raise InvalidSessionId("session_id must be 1-128 characters of letters, digits and ._:-")
        validate_question(message, self._settings.max_question_chars, "message")

    def _phrases(self, index: Index) -> Callable[[str], bool]:
        """Whether a phrase occurs in the corpus as readers see it (its passages' readable text,
        markup left out: "the `SERVER` safe mode" says "SERVER safe mode"; case and spacing
        folded), for topic phrases."""
        with self._vocab_lock:
            if self._text_for is None or self._text_for[0] is not index:
                shown = (chunk.display or chunk.text for chunk in index.chunks)
                folded = " ".join(" ".join(text.split()).lower() for text in shown)
                self._text_for = (index, folded)
            text = self._text_for[1]
        return lambda phrase: " ".join(phrase.lower().split()) in text

    def _vocabulary(self, index: Index) -> Vocabulary:
        with self._vocab_lock:
            if self._vocab_for is None or self._vocab_for[0] is not index:
                texts = (doc.text for doc in index.documents.values())
                self._vocab_for = (index, Vocabulary.build(index.acronyms, texts))
            return self._vocab_for[1]
