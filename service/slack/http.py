"""The Slack routes of the FastAPI service: ``POST /slack/events`` and ``POST /slack/commands``.

Each request's signature is checked (Slack's v0 HMAC scheme, timestamps older than five minutes
refused) and its body is checked for shape *before* bolt sees it, so forged, stale or malformed
requests get the contract's 4xx error JSON instead of reaching bolt's parser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from starlette.concurrency import run_in_threadpool

from service.config import Settings
from service.errors import error_response
from service.slack.events import SlackBot
from service.state.base import StateUnavailable

logger = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
MAX_AGE_SECONDS = 300

_DICT_FIELDS = ("event", "user", "team", "channel", "container", "message", "view")
_LIST_FIELDS = ("authorizations", "actions")


def _json_problem(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return "the payload is not valid JSON"
    if not isinstance(data, dict):
        return "the payload must be a JSON object"
    for key in _DICT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"`{key}` must be an object"
    for key in _LIST_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], list):
            return f"`{key}` must be a list"
    if any(not isinstance(action, dict) for action in data.get("actions") or []):
        return "every action must be an object"
    return None


def _event_id(body: bytes, content_type: str) -> str | None:
    """The ``event_id`` of an Events API callback (None for anything else)."""
    if "application/json" not in content_type:
        return None
    data = json.loads(body)
    if data.get("type") != "event_callback" or not data.get("event_id"):
        return None
    return str(data["event_id"])


def payload_problem(body: bytes, content_type: str) -> str | None:
    """Why a signed body is not a Slack payload (JSON event or form), or None when it is one.

    Args:
        body: The raw request body.
        content_type: The request's Content-Type header.

    Returns:
        A short reason for a 400 response, or None.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if "application/json" in content_type:
        return _json_problem(text)
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        return _json_problem(form["payload"][0])
    return None


def signature_problem(
    secret: bytes, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> str | None:
    """Why a request is not signed by Slack (v0 scheme), or None when it is.

    The HMAC is computed over the raw bytes, so no header value or body (not even one that is
    not UTF-8) can make the check itself fail; slack_sdk's verifier raises on a non-numeric
    timestamp or a non-UTF-8 body (issue 11).

    Args:
        secret: The app's signing secret.
        body: The raw request body.
        headers: The request headers (lower-case names).
        now: Current Unix time (default: the clock).

    Returns:
        A short reason for a 401 response, or None.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    if not _TIMESTAMP.match(timestamp):
        return "X-Slack-Request-Timestamp must be Unix time in seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes away from now"
    if not _SIGNATURE.match(signature):
        return "X-Slack-Signature must be v0= and 64 hex digits"
    expected = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={expected}", signature):
        return "X-Slack-Signature does not match the body"
    return None


class SlackEndpoint:
    """Checks a request (signature, then payload shape) and hands it to bolt.

    Args:
        bot: The SlackBot whose bolt app handles verified, well-formed requests.
        signing_secret: Slack's signing secret for this app.
    """

    def __init__(self, bot: SlackBot, signing_secret: str) -> None:
        self.bot = bot
        self._handler = AsyncSlackRequestHandler(bot.app)
        self._secret = signing_secret.encode()

    async def __call__(self, req: Request) -> Response:
        """Answer one POST from Slack: 401/400 error JSON, or bolt's acknowledgement."""
        body = await req.body()
        unsigned = signature_problem(self._secret, body, req.headers)
        if unsigned:
            logger.info("slack request refused: %s", unsigned)
            return error_response(401, "invalid_slack_signature", f"Not signed by Slack: {unsigned}.")
        problem = payload_problem(body, req.headers.get("content-type", ""))
        if problem:
            return error_response(400, "bad_slack_payload", f"Not a Slack payload: {problem}.")
        event_id = _event_id(body, req.headers.get("content-type", ""))
        if event_id is not None:
            try:
                first = await run_in_threadpool(self.bot.seen_events.first_time, event_id)
            except StateUnavailable as exc:
                # Not acknowledged, so Slack delivers it again once the store is back.
                return error_response(exc.status, exc.code, exc.message)
            if not first:
                retry = req.headers.get("x-slack-retry-num", "-")
                logger.info("slack event %s already handled; ignoring retry %s", event_id, retry)
                return Response(status_code=200)
        return await self._dispatch(req)

    async def _dispatch(self, req: Request) -> Response:
        try:
            response = await self._handler.handle(req)
        except Exception:
            # Signed, but shaped in a way bolt's parser trips over: the sender's fault, not ours.
            logger.exception("slack payload could not be dispatched")
            return error_response(400, "bad_slack_payload", "Not a Slack payload bolt can dispatch.")
        if response.status_code == 503 and b'"error"' in response.body:
            # SlackBot._on_error: an outage (e.g. a vote that could not be saved); Slack retries.
            return response
        if response.status_code >= 500:
            # bolt turns errors in its middleware into a 500; for a verified request that means a
            # payload shape it cannot handle (bolt logged the details).
            logger.error("slack payload rejected by bolt with status %d", response.status_code)
            return error_response(400, "bad_slack_payload", "Not a Slack payload bolt can dispatch.")
        if response.status_code == 404:
            # A verified request no listener wants (another event type, an unknown button): acknowledge
            # it, or Slack retries it and eventually disables the subscription.
            logger.info("slack request not handled; acknowledged")
            return Response(status_code=200)
        return response


def mount_slack_routes(app: FastAPI, settings: Settings) -> SlackBot:
    """Mount ``POST /slack/events`` and ``POST /slack/commands`` on ``app``.

    Args:
        app: The FastAPI application; its ``state.chat`` is read on every question.
        settings: Settings with both Slack secrets set.

    Returns:
        The SlackBot, also kept as ``app.state.slack``.

    Raises:
        ValueError: A Slack secret is missing.
    """
    if settings.slack_signing_secret is None:
        raise ValueError("the Slack routes need SLACK_SIGNING_SECRET")
    metrics = getattr(app.state, "metrics", None)
    state = getattr(app.state, "shared", None)
    bot = SlackBot(
        settings,
        lambda: getattr(app.state, "chat", None),
        registry=getattr(metrics, "registry", None),
        links=getattr(app.state, "links", None),
        seen_events=state.seen_events if state is not None else None,
        feedback=state.feedback if state is not None else None,
    )
    endpoint = SlackEndpoint(bot, settings.slack_signing_secret.get_secret_value())
    app.state.slack = bot

    async def slack_events(req: Request) -> Response:
        """Slack Events API and interactivity (buttons). Signed by Slack."""
        return await endpoint(req)

    async def slack_commands(req: Request) -> Response:
        """The ``/ask`` slash command. Signed by Slack."""
        return await endpoint(req)

    app.add_api_route("/slack/events", slack_events, methods=["POST"], include_in_schema=False)
    app.add_api_route("/slack/commands", slack_commands, methods=["POST"], include_in_schema=False)
    return bot
