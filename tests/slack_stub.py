"""A local stand-in for Slack's Web API (and for response_url endpoints) that records every call.

The only stand-in our tests allow: the service's Slack client is pointed at it through
``DOCQA_SLACK_API_URL``, and response_urls in test payloads point at ``{url}response/<name>``.
It answers like Slack (``{"ok": true, ...}``); ``auth.test`` names the bot user ``UBOT`` / ``BBOT``.
With ``socket_mode=True`` it also plays Slack's Socket Mode WebSocket endpoint: ``apps.connections.open``
returns its ``ws://`` URL, :meth:`SlackStub.push` sends an envelope to the connected app and the
app's acknowledgements are recorded in ``frames``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0DOCQA"


@dataclass
class RecordedCall:
    """One HTTP request the stub received."""

    method: str  # Web API method ("chat.postMessage") or "response/<name>" for response_urls
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = field(repr=False, default=b"")


class SlackStub:
    """Threaded HTTP server on a free loopback port; use as a context manager.

    Example:
        >>> with SlackStub() as slack:
        ...     slack.url  # e.g. 'http://127.0.0.1:45678/'
    """

    def __init__(self, *, socket_mode: bool = False) -> None:
        self.calls: list[RecordedCall] = []
        self.frames: list[dict[str, Any]] = []  # what Socket Mode apps sent back (acknowledgements)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._connections: list[ServerConnection] = []
        self._ws: Server | None = serve(self._socket_session, "127.0.0.1", 0) if socket_mode else None

    @property
    def url(self) -> str:
        """Base URL to use as DOCQA_SLACK_API_URL (ends with a slash, like Slack's)."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/"

    def response_url(self, name: str) -> str:
        """A response_url that the stub records under method ``response/<name>``."""
        return f"{self.url}response/{name}"

    @property
    def socket_url(self) -> str:
        """The ws:// URL that ``apps.connections.open`` hands out (Socket Mode only)."""
        if self._ws is None:
            raise RuntimeError("SlackStub(socket_mode=True) is needed for a Socket Mode endpoint")
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}/link"

    def __enter__(self) -> SlackStub:
        self._thread.start()
        if self._ws is not None:
            threading.Thread(target=self._ws.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            self._ws.shutdown()
        self._server.shutdown()
        self._server.server_close()

    def _socket_session(self, connection: ServerConnection) -> None:
        connection.send(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0DOCQA"}})
        )
        with self._lock:
            self._connections.append(connection)
        try:
            for message in connection:
                with self._lock:
                    self.frames.append(json.loads(message))
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._connections.remove(connection)

    def push(self, envelope: dict[str, Any], timeout: float = 120.0) -> None:
        """Send a Socket Mode envelope to the connected app, waiting up to ``timeout`` s for it to connect."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                connection = self._connections[-1] if self._connections else None
            if connection is not None:
                connection.send(json.dumps(envelope))
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no Socket Mode connection within {timeout}s")
            time.sleep(0.1)

    def wait_for_frame(self, envelope_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The app's acknowledgement of one envelope; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [f for f in self.frames if f.get("envelope_id") == envelope_id]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout}s")

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one Web API method (or response/<name>), oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 60.0,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Poll until ``count`` matching calls were recorded; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; saw {seen}")
            time.sleep(0.05)

    def _record(self, call: RecordedCall) -> dict[str, Any]:
        with self._lock:
            self.calls.append(call)
        return self._reply(call)

    def _reply(self, call: RecordedCall) -> dict[str, Any]:
        if call.method == "auth.test":
            return {
                "ok": True,
                "url": "https://docqa-test.slack.com/",
                "team": "docqa test",
                "user": "docqa",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if call.method == "apps.connections.open" and self._ws is not None:
            return {"ok": True, "url": self.socket_url}
        if call.method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            ts = f"{1700000000 + next(self._ts)}.000100"
            return {"ok": True, "channel": call.body.get("channel"), "ts": ts, "message_ts": ts}
        return {"ok": True}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = RecordedCall(
                    method=self.path.split("?")[0].lstrip("/"),
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=_parse_body(raw, self.headers.get("Content-Type", "")),
                    raw=raw,
                )
                payload = json.dumps(stub._record(call)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
                return

        return Handler


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        data = json.loads(text or "{}")
        return data if isinstance(data, dict) else {"_": data}
    form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    for key in ("blocks", "attachments"):  # form-encoded Web API calls carry these as JSON strings
        if isinstance(form.get(key), str):
            try:
                form[key] = json.loads(form[key])
            except json.JSONDecodeError:
                pass
    return form
