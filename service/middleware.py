"""Pure-ASGI middleware: request ids and access log, body-size limit, API keys, rate limit.

Order (outermost first, see `install_middleware`): client address (trusted proxies) -> security
headers -> request context -> header limit -> CORS -> body limit -> rate limit -> API keys -> the
app. The request-context layer also turns any exception that escaped everything else into the
JSON 500, so even that response carries `X-Request-ID`.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import re
import time
import uuid

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import error_response, internal_error_response
from service.metrics import Metrics
from service.security import (
    ClientAddressMiddleware,
    HeaderLimitMiddleware,
    SecurityHeadersMiddleware,
    log_safe,
)
from service.state.base import RateLimiter, SharedState
from service.state.memory import memory_limiter

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("service.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def client_host(scope: Scope) -> str:
    """The peer address of the connection ("-" when unknown)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the test client's "testclient".

    A name such as "localhost" is not an address: it can only have come from a forwarded header
    (issue 11), so it counts as not loopback.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = str(value.decode("latin-1")).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def is_api_path(path: str) -> bool:
    """The paths API keys guard: ``/v1/*`` and the MCP endpoint ``/mcp`` (issue 14: no prefix gap)."""
    return path.startswith("/v1/") or path == "/mcp" or path.startswith("/mcp/")


def key_is_valid(token: str | None, keys: list[str]) -> bool:
    """Constant-time check of `token` against every configured key."""
    if token is None:
        return False
    matches = [hmac.compare_digest(token.encode(), k.encode()) for k in keys]
    return any(matches)


class RequestContextMiddleware:
    """Request id (echoed as `X-Request-ID`), one access-log line, metrics, and the last-resort 500."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error request_id=%s path=%s", request_id, log_safe(scope.get("path")))
            if not response_started:
                await internal_error_response(request_id)(scope, receive, send_with_id)
            status = 500
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        path = log_safe(scope["path"])  # a %0a in the path must not start a forged line (issue 11)
        self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.http_latency.labels(route).observe(seconds)
        access_logger.info(
            "request_id=%s method=%s path=%s status=%d ms=%.1f client=%s",
            request_id,
            log_safe(scope["method"]),
            path,
            status,
            seconds * 1000,
            log_safe(client_host(scope)),
            extra={"request_id": request_id, "path": path, "status": status, "ms": seconds * 1000},
        )


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with a 413, reading at most `max_bytes + 1` bytes.

    The body is buffered (it is small by construction) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "body_too_large", f"The request body is larger than {self.max_bytes} bytes."
        )
        await response(scope, receive, send)


class RateLimitMiddleware:
    """429 with `Retry-After` once a client exceeds its rate on `/v1/*`, `/mcp` or the viewer.

    A client is its valid API key when it presents one, else its address. The counts live in
    `limiter` (this process's memory, or Redis so that the limit holds across replicas).
    """

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics, limiter: RateLimiter) -> None:
        self.app = app
        self.keys = settings.api_key_list
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (is_api_path(path) or path.startswith("/documents/")) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        client = f"key:{token}" if key_is_valid(token, self.keys) else f"ip:{client_host(scope)}"
        wait = await run_in_threadpool(self.limiter.take, client)
        if wait > 0:
            self.metrics.rate_limited.inc()
            retry = str(max(1, math.ceil(wait)))
            response = error_response(
                429, "rate_limited", f"Too many requests; retry in {retry} s.", {"Retry-After": retry}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ApiKeyMiddleware:
    """When API keys are configured, `/v1/*` and `/mcp` need ``Authorization: Bearer <key>``.

    Health, metrics, the viewer, the widget and Slack (which signs its own requests) stay open.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.keys = settings.api_key_list

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.keys
            and is_api_path(scope.get("path", ""))
            and scope["method"] != "OPTIONS"
            and not key_is_valid(bearer_token(scope), self.keys)
        ):
            response = error_response(
                401,
                "unauthorized",
                "This endpoint needs an API key: send 'Authorization: Bearer <key>'.",
                {"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def install_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, state: SharedState | None = None
) -> None:
    """Add the middleware stack (the last added runs first); rate counts live in `state`."""
    app.add_middleware(ApiKeyMiddleware, settings=settings)
    if settings.rate_limit_per_minute > 0:
        limiter = state.limiter if state is not None else memory_limiter
        app.add_middleware(
            RateLimitMiddleware,
            settings=settings,
            metrics=metrics,
            limiter=limiter(settings.rate_limit_per_minute),
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Mcp-Protocol-Version"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(HeaderLimitMiddleware, max_bytes=settings.max_header_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=settings.frame_ancestors)
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxy_list)
