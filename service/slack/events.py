"""The Slack bot's listeners (slack_bolt ``AsyncApp``) and their mounting in the FastAPI service.

Every listener acknowledges Slack first (events are auto-acknowledged by bolt; commands and
actions call ``ack()`` on their first line) and only then runs the CPU-bound chat call in a
worker thread, so a slow answer never makes Slack wait past its 3-second limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from index.errors import QAError
from service.config import Settings
from service.links import ViewerLinks
from service.slack.feedback import FeedbackRecorder, SlackMetrics
from service.slack.render import ACTION_CLARIFY, ACTION_FEEDBACK, ACTION_SHARE, render_answer, render_notice
from service.state.base import FeedbackStore, SeenEvents
from service.state.feedback_sqlite import SqliteFeedback
from service.state.memory import MemorySeenEvents

logger = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]
Respond = Callable[..., Awaitable[Any]]
HELP = "Ask me a question about the documents, e.g. “What does a Chief Commercial Officer do?”"
NOT_READY = "docqa is still loading its index; please ask again in a minute."
FAILED = "Sorry, something went wrong while answering; please try again."


class ChatResultLike(Protocol):
    """What the Slack bot needs of ``service.chat.ChatResult``."""

    def to_dict(self) -> dict[str, Any]:
        """QueryResponse plus ``session_id`` and ``resolved_question``."""


class ChatLike(Protocol):
    """What the Slack bot needs of ``service.chat.ChatService``."""

    def chat(
        self, session_id: str | None, message: str, top_k: int = 5, *, door: str = "http"
    ) -> ChatResultLike:
        """Answer ``message`` in the context of the session's earlier turns (``door="slack"`` here)."""


ChatProvider = Callable[[], ChatLike | None]

_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_MENTION = re.compile(r"<[@!][^>]*>")
_SESSION_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def question_text(text: str, bot_user_id: str | None = None) -> str:
    """The question inside a Slack message: mentions dropped, links to labels, entities decoded.

    Args:
        text: The ``text`` field of a Slack message event (Slack's mrkdwn markup).
        bot_user_id: The bot's own user id, whose mention is removed wherever it appears.

    Returns:
        Plain text as the user typed it, whitespace-trimmed.
    """
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CHANNEL.sub(lambda m: "#" + m.group(1), text)
    text = _MENTION.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def session_for(team: str | None, channel: str, thread_ts: str) -> str:
    """The chat session of a Slack thread: one per team, channel and thread root.

    Returns:
        An id within ChatService's alphabet (``[A-Za-z0-9._:-]``, at most 128 characters).
    """
    parts = [_SESSION_UNSAFE.sub("", part or "-")[:40] or "-" for part in (team, channel, thread_ts)]
    return "slack:" + ":".join(parts)


def _decode(value: str | None) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class SlackBot:
    """The bolt app with docqa's listeners; one per service (or Socket Mode process).

    Args:
        settings: Slack secrets, Web API base URL, public URL and data directory.
        chat_provider: Returns the ChatService, or None while the index is still loading.
        socket_mode: Requests come over Socket Mode (unsigned), so no signing secret is needed.
        registry: Prometheus registry for the Slack counters (the app's, rendered by /metrics).
        links: Signs the citation links when the viewer is protected (default: from `settings`).
        seen_events: Shared memory of handled event ids (this process's when None).
        feedback: Durable vote store (SQLite under ``DOCQA_DATA_DIR`` when None).

    Raises:
        ValueError: A Slack secret the mode needs is missing.
        DataDirUnwritable: Votes go to the data directory and it cannot be written.
    """

    def __init__(
        self,
        settings: Settings,
        chat_provider: ChatProvider,
        *,
        socket_mode: bool = False,
        registry: CollectorRegistry | None = None,
        links: ViewerLinks | None = None,
        seen_events: SeenEvents | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        if settings.slack_bot_token is None:
            raise ValueError("the Slack bot needs SLACK_BOT_TOKEN")
        if settings.slack_signing_secret is None and not socket_mode:
            raise ValueError("the Slack bot needs SLACK_SIGNING_SECRET to verify Slack's requests")
        self.settings = settings
        self._chat_provider = chat_provider
        self.links = links or ViewerLinks.from_settings(settings)
        self.metrics = SlackMetrics(registry)
        self.feedback = FeedbackRecorder(feedback or SqliteFeedback(settings.data_dir), self.metrics)
        self.seen_events: SeenEvents = seen_events or MemorySeenEvents()
        # Over HTTP, SlackEndpoint drops repeats before bolt (so a Redis outage can answer 503);
        # Socket Mode has no HTTP layer, so bolt's middleware does it there.
        self.dedupe_in_bolt = socket_mode
        secret = settings.slack_signing_secret  # Socket Mode requests are not signed.
        # The client talks to DOCQA_SLACK_API_URL; AsyncApp makes no Web API call at startup
        # (auth.test runs lazily on the first event, through this client).
        client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
        self.app = AsyncApp(
            name="docqa",
            logger=logging.getLogger("service.slack.bolt"),
            client=client,
            signing_secret=secret.get_secret_value() if secret else "",
            process_before_response=False,
        )
        self._register()

    def _register(self) -> None:
        app = self.app
        app.error(self._on_error)
        if self.dedupe_in_bolt:
            app.middleware(self._drop_repeated_events)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.command("/ask")(self._on_ask_command)
        app.action(re.compile(rf"^{ACTION_CLARIFY}_\d+$"))(self._on_clarify)
        app.action(re.compile(rf"^{ACTION_FEEDBACK}_(up|down)$"))(self._on_feedback)
        app.action(ACTION_SHARE)(self._on_share)

    async def _drop_repeated_events(
        self, body: dict[str, Any], req: Any, next_: Callable[[], Awaitable[Any]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.seen_events.first_time(str(event_id)):
            retry = (req.headers.get("x-slack-retry-num") or ["-"])[0]
            logger.info("slack event %s already handled; ignoring retry %s", event_id, retry)
            return BoltResponse(status=200, body="")
        await next_()
        return None

    @staticmethod
    async def _on_error(error: Exception, response: BoltResponse | None) -> BoltResponse | None:
        """A listener failed before acknowledging: a 503 JSON error for an outage, so Slack
        retries and the user sees the press did not register (never a 200 for a lost vote)."""
        if isinstance(error, QAError) and error.status == 503 and response is not None:
            body = json.dumps({"error": {"code": error.code, "message": error.message}})
            return BoltResponse(status=503, body=body, headers={"content-type": "application/json"})
        logger.error("slack listener failed: %s", type(error).__name__)
        return None

    async def answer(self, session_id: str | None, question: str) -> dict[str, Any] | str:
        """Run the chat call in a worker thread; a dict result, or a message to show instead.

        Args:
            session_id: The chat session (derived from the Slack thread), or None for one-off.
            question: The user's question.

        Returns:
            The ChatResult dict, or a user-facing notice (help, not ready, error message).
        """
        if not question:
            return HELP
        chat = self._chat_provider()
        if chat is None:
            return NOT_READY
        try:
            result = await asyncio.to_thread(chat.chat, session_id, question, door="slack")
        except QAError as exc:
            return exc.message
        except Exception:
            logger.exception("slack answer failed")
            return FAILED
        return dict(self.links.sign_body(result.to_dict()))

    def _render(self, outcome: dict[str, Any] | str, session_id: str, **kwargs: Any) -> dict[str, Any]:
        if isinstance(outcome, str):
            return render_notice(outcome)
        return render_answer(outcome, self.settings.public_url, session_id=session_id, **kwargs)

    async def _reply_in_thread(
        self, client: AsyncWebClient, event: Mapping[str, Any], team: str | None, question: str, source: str
    ) -> None:
        root, channel = str(event.get("thread_ts") or event.get("ts") or ""), str(event.get("channel") or "")
        if not root or not channel:
            logger.warning("slack event without channel or ts; ignored")
            return
        session_id = session_for(team, channel, root)
        outcome = await self.answer(session_id, question)
        self.metrics.questions.labels(source=source).inc()
        message = self._render(outcome, session_id)
        await client.chat_postMessage(
            channel=channel,
            thread_ts=root,
            unfurl_links=False,
            link_names=False,
            unfurl_media=False,
            **message,
        )

    @staticmethod
    def _from_a_bot(event: Mapping[str, Any]) -> bool:
        return bool(event.get("bot_id") or event.get("subtype") or event.get("bot_profile"))

    async def _on_mention(
        self, event: dict[str, Any], body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        """``app_mention`` in a channel: answer in the thread of the mentioning message."""
        if self._from_a_bot(event):
            return
        question = question_text(str(event.get("text", "")), context.bot_user_id)
        await self._reply_in_thread(client, event, body.get("team_id"), question, "mention")

    async def _on_message(
        self, event: dict[str, Any], body: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        """``message.im``: a direct message, answered in its thread. Edits and bots are ignored."""
        if event.get("channel_type") != "im" or self._from_a_bot(event):
            return
        question = question_text(str(event.get("text", "")), context.bot_user_id)
        await self._reply_in_thread(client, event, body.get("team_id"), question, "dm")

    async def _on_ask_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """``/ask QUESTION``: acknowledged at once, answered ephemerally through response_url."""
        question = question_text(str(command.get("text", "")))
        if not question:
            await ack(response_type="ephemeral", text=HELP)
            return
        await ack()
        session_id = session_for(
            command.get("team_id"),
            str(command.get("channel_id", "-")),
            f"ask-{command.get('trigger_id', '')}",
        )
        outcome = await self.answer(session_id, question)
        self.metrics.questions.labels(source="command").inc()
        await respond(
            response_type="ephemeral", replace_original=False, **self._render(outcome, session_id, share=True)
        )

    async def _on_clarify(
        self, ack: Ack, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        """A meaning button of an ambiguous acronym: re-ask with that meaning, in the same place."""
        await ack()
        value = _decode(action.get("value"))
        question, session_id = str(value.get("q", "")), str(value.get("s") or "") or None
        outcome = await self.answer(session_id, question)
        self.metrics.questions.labels(source="clarification").inc()
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        if container.get("is_ephemeral") or not message or not channel:
            await respond(
                response_type="ephemeral",
                replace_original=False,
                **self._render(outcome, session_id or "", share=True),
            )
            return
        root = str(message.get("thread_ts") or message.get("ts"))
        await client.chat_postMessage(
            channel=str(channel),
            thread_ts=root,
            unfurl_links=False,
            link_names=False,
            unfurl_media=False,
            **self._render(outcome, session_id or ""),
        )

    async def _on_share(
        self, ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
    ) -> None:
        """The "Share in channel" button of an /ask answer: post it for all, drop the private copy."""
        await ack()
        question = str(_decode(action.get("value")).get("q", ""))
        outcome = await self.answer(None, question)
        user = str((body.get("user") or {}).get("id", ""))
        await respond(
            response_type="in_channel",
            replace_original=False,
            **self._render(outcome, "", shared_by=user or None),
        )
        await respond(delete_original=True)

    async def _on_feedback(
        self, ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
    ) -> None:
        """👍/👎: save the vote durably, then acknowledge and thank the user.

        The press is acknowledged only after the vote is stored: when the store fails, Slack gets
        a 503 (see `_on_error`) instead of a 200 for a lost vote.
        """
        rating = "up" if str(action.get("action_id", "")).endswith("_up") else "down"
        value = _decode(action.get("value"))
        cited = [
            {"doc_id": c[0], "start": c[1], "end": c[2]}
            for c in value.get("c", [])
            if isinstance(c, list) and len(c) == 3
        ]
        message = body.get("message") or {}
        extra = {
            "team": (body.get("team") or {}).get("id"),
            "channel": (body.get("channel") or {}).get("id")
            or (body.get("container") or {}).get("channel_id"),
            "message_ts": message.get("ts") or (body.get("container") or {}).get("message_ts"),
        }
        await asyncio.to_thread(
            self.feedback.record,
            rating,
            user=str((body.get("user") or {}).get("id", "")),
            question=str(value.get("q", "")),
            answer=str(value.get("a", "")),
            citations=cited,
            extra=extra,
        )
        await ack()
        if body.get("response_url"):
            await respond(
                response_type="ephemeral", replace_original=False, **render_notice("Thanks for the feedback!")
            )
