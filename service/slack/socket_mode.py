"""Socket Mode: the Slack bot over an outgoing WebSocket, for workspaces where docqa has no public URL.

Run with ``docqa slack --socket-mode`` and ``SLACK_APP_TOKEN`` (an ``xapp-`` app-level token with
the ``connections:write`` scope) plus ``SLACK_BOT_TOKEN``. No signing secret is needed: Socket Mode
requests come over the authenticated connection, not as signed HTTP requests.
"""

from __future__ import annotations

import asyncio
import logging

from service.config import Settings
from service.slack.events import ChatLike, SlackBot

logger = logging.getLogger(__name__)


class SocketModeNotConfigured(ValueError):
    """A variable Socket Mode needs is missing; the message names it."""


def build_socket_mode_bot(settings: Settings, chat: ChatLike) -> SlackBot:
    """The Slack bot for Socket Mode, answering from ``chat``.

    Args:
        settings: Needs ``SLACK_APP_TOKEN`` and ``SLACK_BOT_TOKEN``.
        chat: The chat service answering questions.

    Returns:
        The SlackBot (its ``app`` is handed to bolt's Socket Mode handler).

    Raises:
        SocketModeNotConfigured: ``SLACK_APP_TOKEN`` or ``SLACK_BOT_TOKEN`` is not set.
    """
    check_socket_mode_settings(settings)
    return SlackBot(settings, lambda: chat, socket_mode=True)


def check_socket_mode_settings(settings: Settings) -> str:
    """The app-level token, after checking that both tokens Socket Mode needs are set.

    Raises:
        SocketModeNotConfigured: ``SLACK_APP_TOKEN`` or ``SLACK_BOT_TOKEN`` is not set.
    """
    missing = [
        name
        for name, value in (
            ("SLACK_APP_TOKEN", settings.slack_app_token),
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
        )
        if value is None
    ]
    if missing or settings.slack_app_token is None:
        raise SocketModeNotConfigured(
            f"Socket Mode needs {' and '.join(missing)}; "
            "see docs/slack.md (create the app from slack/manifest.yaml)"
        )
    return settings.slack_app_token.get_secret_value()


async def _serve(bot: SlackBot, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(bot.app, app_token)
    logger.info("Slack Socket Mode: connecting (Web API at %s)", bot.settings.slack_api_url)
    await handler.start_async()  # type: ignore[no-untyped-call]


def run_socket_mode(settings: Settings) -> None:
    """Load the index, then serve the Slack bot over Socket Mode until interrupted. Blocking.

    Args:
        settings: Index location, model, and the Slack tokens (``SLACK_APP_TOKEN``, ``SLACK_BOT_TOKEN``).

    Raises:
        SocketModeNotConfigured: A Slack token is missing (checked before the index loads).
        index.errors.IndexNotReady: No usable index; run ``docqa build`` first.
    """
    app_token = check_socket_mode_settings(settings)  # fail fast, before the slow index load
    from index import load_index
    from service.chat import ChatService

    index = load_index(settings.index_dir, settings.model_path, settings.corpus_dir, runtime=settings.runtime)
    bot = build_socket_mode_bot(settings, ChatService(index, settings))
    asyncio.run(_serve(bot, app_token))
