"""How `docqa serve` runs uvicorn: h11 with a header-size limit, errors in the JSON shape (issue 11).

uvicorn's default HTTP parser (httptools) reads request headers of any size, and uvicorn answers a
request it cannot parse with a plain-text 400 that has no ``X-Request-ID``. `JsonErrorH11Protocol`
is uvicorn's h11 protocol with two changes:

* a request line plus headers over `DOCQA_MAX_HEADER_BYTES` is refused with 431 as soon as that
  many bytes are buffered (h11's ``max_incomplete_event_size``), not read to the end;
* that 431 and every other request uvicorn cannot parse (``Content-Length: abc``, broken chunked
  framing, a malformed request line or header) get the contract's error JSON, an
  ``X-Request-ID`` and one access-log line.

uvicorn's own ``X-Forwarded-For`` handling is turned off: the app believes forwarded headers only
from `DOCQA_TRUSTED_PROXIES` (`service.security.ClientAddressMiddleware`).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from service.config import Settings
from service.errors import error_body
from service.security import headers_too_large_message, log_safe

PROTOCOL = "service.server:JsonErrorH11Protocol"
access_logger = logging.getLogger("service.access")

BAD_REQUEST_MESSAGE = (
    "The request is not valid HTTP/1.1 (request line, a header, Content-Length or chunked framing)."
)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` that apply the limits above.

    Args:
        settings: The service settings (`max_header_bytes`).
    """
    return {
        "http": PROTOCOL,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": False,
    }


def uvicorn_cli_args(settings: Settings) -> list[str]:
    """The same options as ``uvicorn`` command-line arguments (for ``uvicorn --factory …``)."""
    return [
        "--http",
        PROTOCOL,
        "--h11-max-incomplete-event-size",
        str(settings.max_header_bytes),
        "--no-proxy-headers",
    ]


def error_bytes(status: int, code: str, message: str, request_id: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response carrying the JSON error."""
    body = json.dumps(error_body(code, message)).encode()
    reason = {400: "Bad Request", 431: "Request Header Fields Too Large"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class JsonErrorH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose protocol-level errors are JSON (431 for oversized headers)."""

    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 - uvicorn's generic text
        """Answer an unparseable request in the contract's error shape, then close."""
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # The app is already answering; a second response would corrupt it.
            return
        limit = self.config.h11_max_incomplete_event_size
        pending = len(self.conn.trailing_data[0])
        request_id = uuid.uuid4().hex
        if limit is not None and pending > limit:
            status, code, message = 431, "headers_too_large", headers_too_large_message(limit)
        else:
            status, code, message = 400, "bad_request", BAD_REQUEST_MESSAGE
        self.transport.write(error_bytes(status, code, message, request_id))
        self.transport.close()
        client = self.client[0] if self.client else "-"
        access_logger.info(
            "request_id=%s method=- path=- status=%d ms=0.0 client=%s",
            request_id,
            status,
            log_safe(client),
            extra={"request_id": request_id, "path": "-", "status": status, "ms": 0.0},
        )
