"""Hardening helpers (issue 11): log-safe text, the real client address, security headers.

* `log_safe` escapes what a client controls before it reaches a log line, so a ``%0a`` in a
  path cannot start a forged line.
* `ClientAddressMiddleware` believes ``X-Forwarded-For`` only from `DOCQA_TRUSTED_PROXIES`;
  otherwise the client is the socket peer (`docqa serve` turns uvicorn's own proxy handling off).
* `SecurityHeadersMiddleware` gives every response ``X-Content-Type-Options: nosniff`` and every
  HTML page a ``Content-Security-Policy`` with ``frame-ancestors`` plus ``X-Frame-Options``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN_CLIENT = "-"
# The CSP of an HTML page that sets none of its own (pages that do keep theirs).
DEFAULT_HTML_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"


def log_safe(value: object) -> str:
    """`value` as one printable token: backslash, whitespace and control characters escaped.

    Args:
        value: Anything a client controls (path, header, address).

    Returns:
        The text with ``\\`` doubled and every non-printable or whitespace character written as
        ``\\xNN`` / ``\\uNNNN``, so it can neither end the log line nor fake a ``key=value`` field.

    Example:
        >>> log_safe("/a\\nstatus=200 b")
        '/a\\\\x0astatus=200\\\\x20b'
    """
    text = str(value)
    if text.isprintable() and not any(ch.isspace() or ch == "\\" for ch in text):
        return text
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable() and not ch.isspace():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def parse_networks(entries: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks (already validated by the settings) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: IPAddress | None, proxies: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in net for net in proxies)


def forwarded_client(peer: str, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The client address of a request that reached us from `peer`.

    Only a peer in `proxies` may speak for the client. Its ``X-Forwarded-For`` list is read right
    to left, skipping further trusted proxies; the first other entry is the client. When that
    entry is not an IP address, or the proxy sent no header at all, the client is unknown
    (``"-"``): never the proxy's own (often loopback) address.

    Args:
        peer: The socket peer's address.
        forwarded_for: Every ``X-Forwarded-For`` header value, in order.
        proxies: The trusted proxy networks.

    Returns:
        An IP address as text, or ``"-"``.
    """
    if not _trusted(_address(peer), proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return UNKNOWN_CLIENT
        if not _trusted(address, proxies):
            return str(address)
    return str(_address(hops[0])) if hops else UNKNOWN_CLIENT


class ClientAddressMiddleware:
    """Sets ``scope["client"]`` to the real client: the peer, or what a trusted proxy says.

    Args:
        app: The wrapped ASGI app.
        trusted_proxies: `DOCQA_TRUSTED_PROXIES` as a list of addresses or networks.
    """

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.proxies = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies:
            peer = scope.get("client")
            host = str(peer[0]) if peer else UNKNOWN_CLIENT
            values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
            client = forwarded_client(host, values, self.proxies)
            if client != host:
                scope = {**scope, "client": (client, 0)}
        await self.app(scope, receive, send)


def html_csp(frame_ancestors: str, policy: str = DEFAULT_HTML_CSP) -> str:
    """`policy` with the configured ``frame-ancestors`` directive (replacing any it had)."""
    directives = [
        d.strip() for d in policy.split(";") if d.strip() and not d.strip().startswith("frame-ancestors")
    ]
    return "; ".join([*directives, f"frame-ancestors {frame_ancestors}"])


def frame_options(frame_ancestors: str) -> str | None:
    """The ``X-Frame-Options`` equivalent of `frame_ancestors` (None when origins are listed)."""
    value = frame_ancestors.strip()
    if value == "'none'":
        return "DENY"
    if value == "'self'":
        return "SAMEORIGIN"
    return None  # Other origins: X-Frame-Options cannot say it; CSP frame-ancestors does.


class SecurityHeadersMiddleware:
    """``nosniff`` on every response; CSP ``frame-ancestors`` and X-Frame-Options on HTML pages.

    A page that sends its own Content-Security-Policy keeps it, with ``frame-ancestors`` set to
    the configured value; a page without one gets `DEFAULT_HTML_CSP`.

    Args:
        app: The wrapped ASGI app.
        frame_ancestors: `DOCQA_FRAME_ANCESTORS` (``'self'``, ``'none'`` or origins).
    """

    def __init__(self, app: ASGIApp, frame_ancestors: str) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors.strip() or "'self'"
        self.frame_options = frame_options(self.frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._headers(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {name.lower() for name, _ in headers}
        if b"x-content-type-options" not in names:
            headers.append((b"x-content-type-options", b"nosniff"))
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if not content_type.lower().startswith(b"text/html"):
            return headers
        own = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-security-policy"), None)
        csp = html_csp(self.frame_ancestors, own or DEFAULT_HTML_CSP)
        headers = [
            (k, v) for k, v in headers if k.lower() not in (b"content-security-policy", b"x-frame-options")
        ]
        headers.append((b"content-security-policy", csp.encode("latin-1")))
        if self.frame_options:
            headers.append((b"x-frame-options", self.frame_options.encode()))
        return headers


class HeaderLimitMiddleware:
    """431 (JSON) when the request line and headers together exceed `max_bytes`.

    `docqa serve` makes uvicorn refuse such requests before reading them whole
    (`service.server`); this check keeps the limit, and the error shape, under any other server.

    Args:
        app: The wrapped ASGI app.
        max_bytes: `DOCQA_MAX_HEADER_BYTES`.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and header_bytes(scope) > self.max_bytes:
            from service.errors import error_response

            response = error_response(431, "headers_too_large", headers_too_large_message(self.max_bytes))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def header_bytes(scope: Scope) -> int:
    """Size of the request line and headers as sent (approximately: names, values, separators)."""
    line = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
    return line + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))


def headers_too_large_message(max_bytes: int) -> str:
    """The message of the 431 error (shared by the app and the HTTP protocol)."""
    return f"The request line and headers are larger than {max_bytes} bytes."
