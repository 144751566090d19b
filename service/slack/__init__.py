"""The Slack bot: slack_bolt mounted in the FastAPI service at ``/slack/events`` and ``/slack/commands``.

Slack is on only when both ``SLACK_SIGNING_SECRET`` and ``SLACK_BOT_TOKEN`` are set; otherwise the
service runs without the Slack routes and says why at startup.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from service.config import Settings

logger = logging.getLogger(__name__)

__all__ = ["install_slack"]


def _missing_variables(settings: Settings) -> list[str]:
    missing = []
    if settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET")
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN")
    return missing


def install_slack(app: FastAPI, settings: Settings) -> None:
    """Mount the Slack routes on ``app`` when Slack is configured, else log that it is off.

    Args:
        app: The FastAPI application (its ``state.chat`` must hold the ChatService by the time
            Slack events arrive; it is read per request, not at install time).
        settings: The service settings (Slack secrets, Web API base URL, public URL, data dir).

    Example:
        >>> from fastapi import FastAPI
        >>> install_slack(FastAPI(), Settings(slack_signing_secret=None, slack_bot_token=None))
    """
    if not settings.slack_enabled:
        logger.info(
            "Slack is off: %s not set (POST /slack/events and /slack/commands are not mounted)",
            " and ".join(_missing_variables(settings)),
        )
        return
    from service.slack.http import mount_slack_routes

    mount_slack_routes(app, settings)
    logger.info(
        "Slack is on: POST /slack/events and /slack/commands mounted, Web API at %s", settings.slack_api_url
    )
