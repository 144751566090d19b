"""Issue 11 (items 2, 6, 7, 9, 10, 11): hostile headers, paths and links against the real server.

Every test talks to a real uvicorn process started the way `docqa serve` starts it (h11 with the
header limit, uvicorn's X-Forwarded-For handling off); the protocol-level cases use raw sockets,
because an HTTP client would refuse to send them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from service.links import ViewerLinks
from service.routes.apidocs import script_hashes
from tests.live_server import ServerURL, live_server
from tests.slack_stub import BOT_USER_ID, TEAM_ID, SlackStub

pytestmark = [pytest.mark.integration]

SLACK_SECRET = "hardening-signing-secret-41d7"
API_KEY = "hardening-key-0c1e"
METRICS_TOKEN = "hardening-metrics-9a2b"
LINK_SECRET = "hardening-link-secret-5f8e3c1d9a7b"
PUBLIC_URL = "https://docqa.hardening.example"
QUESTION = "Who reports to the COO?"


# --------------------------------------------------------------------------- servers


@dataclass
class Protected:
    """A server with API keys (viewer and metrics protected) and Slack on, plus Slack's stand-in."""

    url: ServerURL
    stub: SlackStub


@pytest.fixture(scope="module")
def protected(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Protected]:
    data_dir = tmp_path_factory.mktemp("protected-data")
    with SlackStub() as stub:
        env = {
            **service_env,
            "DOCQA_API_KEYS": API_KEY,
            "DOCQA_LINK_SECRET": LINK_SECRET,
            "DOCQA_METRICS_TOKEN": METRICS_TOKEN,
            "DOCQA_DATA_DIR": str(data_dir),
            "DOCQA_PUBLIC_URL": PUBLIC_URL,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-hardening",
            "DOCQA_SLACK_API_URL": stub.url,
        }
        with live_server(env) as url:
            yield Protected(url, stub)


def _own_address() -> str | None:
    """This machine's first non-loopback IPv4 address (traffic to it never leaves the host)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127."):
            return address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # no packet is sent
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def configured(service_env: dict[str, str]) -> Iterator[ServerURL]:
    """Listening on every address, loopback as the trusted proxy, small header limit, no API docs,
    and frames allowed from one other origin."""
    env = {
        **service_env,
        "DOCQA_TRUSTED_PROXIES": "127.0.0.1",
        "DOCQA_MAX_HEADER_BYTES": "8192",
        "DOCQA_API_DOCS": "false",
        "DOCQA_FRAME_ANCESTORS": "'self' https://intranet.example",
    }
    with live_server(env, bind="0.0.0.0") as url:
        yield url


def _auth(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    if code:
        assert error["code"] == code
    return dict(error)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


# --------------------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int

    def json(self) -> Any:
        return json.loads(self.body)


def _parse(data: bytes, sent: int) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawResponse(status, headers, body, sent)


def raw(
    port: int, request: bytes, *, host: str = "127.0.0.1", stream: bytes = b"", total: int = 0
) -> RawResponse:
    """Send `request` (then `stream` repeated up to `total` bytes) and read the response.

    Stops sending as soon as the server answers, so `sent` says how much it read before refusing.
    """
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(request)
        sent, data = len(request), b""
        try:
            while sent - len(request) < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(stream)
                sent += len(stream)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data and _complete(data):
                    break
        except ConnectionResetError:
            pass
    assert data, "the server closed the connection without an answer"
    return _parse(data, sent)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
    return match is not None and len(body) >= int(match.group(1))


def _assert_json_error(response: RawResponse, status: int) -> None:
    assert response.status == status, response
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()["error"]) == {"code", "message"}
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- item 2: Slack garbage


def _slack_signature(body: bytes, timestamp: str, secret: str = SLACK_SECRET) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def _now() -> str:
    return str(int(time.time()))


JSON_BODY = json.dumps({"token": "t", "challenge": "c", "type": "url_verification"}).encode()
NON_UTF8 = b'{"type": "url_verification", "challenge": "\xff\xfe\xfd"}'
# (case, timestamp header, signature header ("sign" = correct for the timestamp and body), body, status)
SLACK_GARBAGE: list[tuple[str, bytes | None, str | None, bytes, int]] = [
    ("timestamp abc", b"abc", "sign", JSON_BODY, 401),
    ("empty timestamp", b"", "sign", JSON_BODY, 401),
    ("no timestamp", None, "v0=" + "0" * 64, JSON_BODY, 401),
    ("no signature", b"NOW", None, JSON_BODY, 401),
    ("negative timestamp", b"-1", "sign", JSON_BODY, 401),
    ("fractional timestamp", b"NOW.5", "sign", JSON_BODY, 401),
    ("hex timestamp", b"0x6553f100", "sign", JSON_BODY, 401),
    ("exponent timestamp", b"1e9", "sign", JSON_BODY, 401),
    ("huge timestamp", b"9" * 400, "sign", JSON_BODY, 401),
    ("4000-digit timestamp", b"1" * 4000, "sign", JSON_BODY, 401),
    ("superscript digits (latin-1)", b"\xb2\xb3\xb9", "sign", JSON_BODY, 401),
    ("arabic-indic digits (utf-8)", "١٧٠٠٠٠٠٠٠٠".encode(), "sign", JSON_BODY, 401),
    ("stale, correctly signed", b"OLD", "sign", JSON_BODY, 401),
    ("future, correctly signed", b"FUTURE", "sign", JSON_BODY, 401),
    ("signature not hex", b"NOW", "v0=zz", JSON_BODY, 401),
    ("signature of another secret", b"NOW", "other", JSON_BODY, 401),
    ("non-UTF-8 body, unsigned", b"NOW", "v0=" + "1" * 64, NON_UTF8, 401),
    ("non-UTF-8 body, timestamp abc", b"abc", "v0=" + "1" * 64, NON_UTF8, 401),
    ("non-UTF-8 body, correctly signed", b"NOW", "sign", NON_UTF8, 400),
    ("NUL in a signed JSON body", b"NOW", "sign", b'{"type": "\x00"}', 400),
    ("signed form with a non-UTF-8 escape", b"NOW", "sign", b"payload=%ff%fe", 400),
]


def _slack_headers(timestamp: bytes | None, signature: str | None, body: bytes) -> dict[str, Any]:
    now = int(time.time())
    stamps = {b"NOW": str(now), b"OLD": str(now - 3600), b"FUTURE": str(now + 3600)}
    ts = timestamp
    if ts is not None:
        for token, value in stamps.items():
            ts = ts.replace(token, value.encode())
    headers: dict[str, Any] = {"Content-Type": "application/json"}
    if body.startswith(b"payload="):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if ts is not None:
        headers["X-Slack-Request-Timestamp"] = ts
    if signature == "sign":
        signature = _slack_signature(body, (ts or b"").decode("latin-1"))
    elif signature == "other":
        signature = _slack_signature(body, (ts or b"").decode("latin-1"), "another-secret")
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    return headers


@pytest.mark.parametrize("path", ["/slack/events", "/slack/commands"])
@pytest.mark.parametrize(("case", "timestamp", "signature", "body", "status"), SLACK_GARBAGE)
def test_slack_garbage_headers_and_bodies_get_a_clean_4xx(
    protected: Protected,
    path: str,
    case: str,
    timestamp: bytes | None,
    signature: str | None,
    body: bytes,
    status: int,
) -> None:
    before = len(protected.url.log())
    headers = _slack_headers(timestamp, signature, body)
    response = httpx.post(protected.url + path, content=body, headers=headers, timeout=30)
    code = "invalid_slack_signature" if status == 401 else "bad_slack_payload"
    _error(response, status, code)
    time.sleep(0.1)
    assert "Traceback" not in protected.url.log()[before:], case


def test_correctly_signed_slack_requests_still_work(protected: Protected) -> None:
    ts = _now()
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": _slack_signature(JSON_BODY, ts)}
    response = httpx.post(protected.url + "/slack/events", content=JSON_BODY, headers=headers, timeout=30)
    assert response.status_code == 200 and response.json() == {"challenge": "c"}


# --------------------------------------------------------------------------- item 6: viewer and metrics


def _signed_links(body: dict[str, Any]) -> list[str]:
    return [body["answer"]["url"], *(p["url"] for p in body["passages"])]


def test_protected_viewer_needs_a_key_or_a_signed_link(protected: Protected) -> None:
    plain = protected.url + "/documents/cco-vs-cro?start=0&end=7"
    error = _error(httpx.get(plain, timeout=30), 401, "unauthorized")
    assert "signed link" in error["message"]
    assert httpx.get(protected.url + "/documents/cco-vs-cro", timeout=30).status_code == 401
    assert httpx.get(plain, headers=_auth(), timeout=30).status_code == 200
    assert httpx.get(plain, headers=_auth("wrong"), timeout=30).status_code == 401


@pytest.mark.parametrize("door", ["/v1/query", "/v1/chat"])
def test_links_in_responses_are_signed_and_open_the_viewer(protected: Protected, door: str) -> None:
    payload = {"question": QUESTION} if door == "/v1/query" else {"message": QUESTION}
    body = httpx.post(protected.url + door, json=payload, headers=_auth(), timeout=120).json()
    for link in _signed_links(body):
        query = parse_qs(urlparse(link).query)
        assert set(query) == {"start", "end", "exp", "sig"}, link
        page = httpx.get(protected.url + link, timeout=30)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<mark id="cited"' in page.text


def _tampered(link: str) -> list[str]:
    parts = urlparse(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    sig = query["sig"]
    variants = [
        {**query, "sig": ("A" if sig[0] != "A" else "B") + sig[1:]},
        {**query, "start": str(int(query["start"]) + 1)},
        {**query, "end": str(int(query["end"]) - 1)},
        {**query, "exp": str(int(query["exp"]) + 86400)},
        {**query, "sig": ""},
        {**query, "sig": "x" * 128},
    ]
    urls = [f"{parts.path}?{urlencode(v)}" for v in variants]
    other = "cco-vs-cro" if "cco-vs-cro" not in parts.path else "what-does-a-cco-do"
    urls.append(f"/documents/{other}?{parts.query}")
    return urls


def test_tampered_links_are_refused(protected: Protected) -> None:
    body = httpx.post(protected.url + "/v1/query", json={"question": QUESTION}, headers=_auth(), timeout=120)
    link = body.json()["passages"][0]["url"]
    for bad in _tampered(link):
        response = httpx.get(protected.url + bad, timeout=30)
        if response.status_code == 422:  # `sig` longer than the schema allows
            continue
        _error(response, 403, "invalid_link")


def test_expired_link_is_refused(protected: Protected) -> None:
    yesterday = ViewerLinks(LINK_SECRET.encode(), ttl_seconds=3600, clock=lambda: time.time() - 86400)
    expired = yesterday.url("cco-vs-cro", 0, 7)
    error = _error(httpx.get(protected.url + expired, timeout=30), 403, "invalid_link")
    assert "expired" in error["message"]
    fresh = ViewerLinks(LINK_SECRET.encode(), ttl_seconds=3600).url("cco-vs-cro", 0, 7)
    assert httpx.get(protected.url + fresh, timeout=30).status_code == 200


def test_metrics_need_the_metrics_token_or_an_api_key(protected: Protected) -> None:
    _error(httpx.get(protected.url + "/metrics", timeout=30), 401, "unauthorized")
    _error(httpx.get(protected.url + "/metrics", headers=_auth("nope"), timeout=30), 401)
    for token in (METRICS_TOKEN, API_KEY):
        response = httpx.get(protected.url + "/metrics", headers=_auth(token), timeout=30)
        assert response.status_code == 200 and "docqa_http_requests_total" in response.text


def test_slack_citation_links_are_signed_and_open_the_viewer(protected: Protected) -> None:
    ts = f"{int(time.time())}.000101"
    event = {
        "type": "app_mention",
        "user": "U0ASKER",
        "text": f"<@{BOT_USER_ID}> {QUESTION}",
        "ts": ts,
        "channel": "C0SIGNED",
        "event_ts": ts,
    }
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0DOCQA",
            "type": "event_callback",
            "event_id": "EvSIGNED01",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    ).encode()
    stamp = _now()
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": _slack_signature(body, stamp),
        "Content-Type": "application/json",
    }
    assert (
        httpx.post(protected.url + "/slack/events", content=body, headers=headers, timeout=30).status_code
        == 200
    )
    message = protected.stub.wait_for(
        "chat.postMessage", 1, 120, where=lambda c: c.body.get("channel") == "C0SIGNED"
    )[0].body
    urls = [
        u.replace("&amp;", "&") for u in re.findall(r"<(https?://[^|>]+)\|", json.dumps(message["blocks"]))
    ]
    assert urls
    for url in urls:
        assert url.startswith(PUBLIC_URL + "/documents/") and "&sig=" in url and "&exp=" in url
        local = protected.url + url.removeprefix(PUBLIC_URL)
        assert httpx.get(local, timeout=30).status_code == 200
        assert httpx.get(local.split("&exp=")[0], timeout=30).status_code == 401


def test_generated_link_secret_is_kept_and_links_survive_a_restart(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "DOCQA_API_KEYS": API_KEY, "DOCQA_DATA_DIR": str(tmp_path / "data")}
    with live_server(env) as first:
        body = httpx.post(
            first + "/v1/query", json={"question": QUESTION}, headers=_auth(), timeout=120
        ).json()
        link = body["passages"][0]["url"]
        assert httpx.get(first + link, timeout=30).status_code == 200
    secret = tmp_path / "data" / "link-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_bytes().strip()) >= 32
    assert [p.name for p in secret.parent.iterdir()] == ["link-secret"]  # no temporary file left
    with live_server(env) as second:
        assert httpx.get(second + link, timeout=30).status_code == 200


def test_unprotected_viewer_links_stay_plain(client: httpx.Client) -> None:
    body = client.post("/v1/query", json={"question": QUESTION}, timeout=120).json()
    assert all("sig=" not in link for link in _signed_links(body))
    assert client.get("/metrics").status_code == 200  # no keys, no token: open as before


# --------------------------------------------------------------------------- item 7: headers


def _html_pages(base: str) -> list[str]:
    return [base + "/", base + "/documents/cco-vs-cro?start=0&end=7", base + "/docs", base + "/redoc"]


def test_every_html_page_has_csp_frame_ancestors_and_frame_options(server_url: ServerURL) -> None:
    for url in _html_pages(server_url):
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp, url
        assert response.headers["x-frame-options"] == "SAMEORIGIN"
        assert response.headers["x-content-type-options"] == "nosniff"
    for path in ("/healthz", "/v1/documents", "/widget.js", "/nope"):
        assert httpx.get(server_url + path, timeout=30).headers["x-content-type-options"] == "nosniff"


def test_demo_page_never_takes_the_widget_url_from_the_host_header(server_url: ServerURL) -> None:
    page = httpx.get(server_url + "/", headers={"Host": "evil.example"}, timeout=30)
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert '<script src="/widget.js" defer></script>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    forwarded = httpx.get(server_url + "/", headers={"X-Forwarded-Host": "evil.example"}, timeout=30)
    assert "evil.example" not in forwarded.text


def test_api_docs_pages_allow_only_the_cdn_and_their_own_inline_script(server_url: ServerURL) -> None:
    for path in ("/docs", "/redoc"):
        page = httpx.get(server_url + path, timeout=30)
        csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
        sources = csp["script-src"].split()
        assert sources[0] == "https://cdn.jsdelivr.net"
        assert sources[1:] == script_hashes(page.text)
        assert "fonts.googleapis.com" not in page.text and "fastapi.tiangolo.com" not in page.text
        assert csp["connect-src"] == "'self'"


def test_frame_ancestors_and_api_docs_follow_the_settings(configured: ServerURL) -> None:
    viewer = httpx.get(configured + "/documents/cco-vs-cro", timeout=30)
    assert "frame-ancestors 'self' https://intranet.example" in viewer.headers["content-security-policy"]
    assert "x-frame-options" not in viewer.headers  # it cannot name another origin; CSP does
    for path in ("/docs", "/redoc"):
        _error(httpx.get(configured + path, timeout=30), 404, "not_found")
    assert httpx.get(configured + "/openapi.json", timeout=30).status_code == 200


# --------------------------------------------------------------------------- item 9: log forging

FORGERIES = [
    "/v1/x%0aFORGED%20request_id=evil%20status=200",
    "/v1/x%0d%0aFORGED%20request_id=evil%20status=200",
    "/v1/x%0dFORGED%20status=200",
    "/v1/x%1b[31mFORGED",
    "/v1/x%00FORGED",
    "/v1/x%e2%80%a8FORGED",
    "/v1/x%c2%85FORGED",
    "/v1/x%0bFORGED%0cFORGED",
    "/v1/x%5cx0aFORGED",
    "/documents/%0aFORGED%20status=200",
    "/%0a2026-01-01%2000:00:00,000%20INFO%20service.access%20request_id=FORGED",
]


def _forged_lines(log: str) -> int:
    return sum("FORGED" in line for line in log.splitlines())


def test_control_characters_in_paths_cannot_forge_log_lines(server_url: ServerURL) -> None:
    before = len(server_url.log())
    for path in FORGERIES:
        response = raw(
            _port(server_url), f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert response.status in (401, 404), path
    deadline = time.monotonic() + 10
    while _forged_lines(server_url.log()[before:]) < len(FORGERIES) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server_url.log()[before:]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028]", log)
    forged_lines = [line for line in log.splitlines() if "FORGED" in line]
    assert len(forged_lines) == len(FORGERIES)
    for line in forged_lines:
        assert " service.access request_id=" in line
        assert re.search(r" path=\S*FORGED\S* status=(401|404) ", line), line
        assert line.count(" status=") == 1 and line.count(" request_id=") == 1


def test_control_characters_in_the_request_target_or_headers_are_refused(server_url: ServerURL) -> None:
    for request in (
        b"GET /a\x1bb HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rFORGED\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: a\x00b\r\n\r\n",
    ):
        _assert_json_error(raw(_port(server_url), request), 400)


# --------------------------------------------------------------------------- item 10: header limits


def test_32_mb_of_headers_is_refused_with_431_long_before_the_end(server_url: ServerURL) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
    response = raw(_port(server_url), head, stream=b"a" * 65536, total=32 * 1024 * 1024)
    _assert_json_error(response, 431)
    assert response.json()["error"]["code"] == "headers_too_large"
    assert response.sent < 4 * 1024 * 1024  # refused after ~32 KiB, not after reading 32 MB


HEADER_FLOODS = [
    ("one 100 KB header, sent at once", b"X-Big: " + b"a" * 100_000 + b"\r\n"),
    ("10,000 small headers", b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))),
    ("a 100 KB request target", None),
]


@pytest.mark.parametrize(("case", "headers"), HEADER_FLOODS)
def test_header_floods_get_431_json(server_url: ServerURL, case: str, headers: bytes | None) -> None:
    if headers is None:
        request = b"GET /healthz?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    _assert_json_error(raw(_port(server_url), request), 431)


def test_headers_under_the_limit_are_served(server_url: ServerURL, configured: ServerURL) -> None:
    ok = raw(_port(server_url), b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 24_000 + b"\r\n\r\n")
    assert ok.status == 200
    # DOCQA_MAX_HEADER_BYTES=8192 on the configured server: the same request is too large there.
    _assert_json_error(
        raw(_port(configured), b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 24_000 + b"\r\n\r\n"),
        431,
    )
    assert (
        raw(
            _port(configured), b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 6000 + b"\r\n\r\n"
        ).status
        == 200
    )


MALFORMED = [
    ("Content-Length abc", b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", 400),
    ("negative Content-Length", b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (
        "two Content-Lengths",
        b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        400,
    ),
    (
        "bad chunk size",
        b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size overflow",
        b"POST /v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n",
        400,
    ),
    ("garbage request line", b"GARBAGE\r\n\r\n", 400),
    ("header without a colon", b"GET / HTTP/1.1\r\nHost: x\r\nBadHeader\r\n\r\n", 400),
    ("space before the colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("no Host header", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("method FOO", b"FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
    ("method FOO on an API path", b"FOO /v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
]


@pytest.mark.parametrize(("case", "request_bytes", "status"), MALFORMED)
def test_malformed_requests_get_the_json_error_shape(
    server_url: ServerURL, case: str, request_bytes: bytes, status: int
) -> None:
    _assert_json_error(raw(_port(server_url), request_bytes), status)


# --------------------------------------------------------------------------- item 11: proxies


def _reload(base: str, headers: dict[str, str], host: str = "127.0.0.1") -> httpx.Response:
    url = base.replace("127.0.0.1", host)
    return httpx.post(url + "/v1/admin/reload", headers=headers, timeout=120)


def _client_logged(base: ServerURL, request_id: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        match = re.search(rf"request_id={request_id} .* client=(\S+)", base.log())
        if match:
            return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for {request_id}")


FORGED_LOOPBACK = ["localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.1, 127.0.0.1", "0:0:0:0:0:0:0:1"]


def test_forged_forwarded_for_from_an_untrusted_peer_grants_nothing(configured: ServerURL) -> None:
    host = _own_address()
    if host is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    for n, forged in enumerate(FORGED_LOOPBACK):
        request_id = f"forged-{n}"
        response = _reload(configured, {"X-Forwarded-For": forged, "X-Request-ID": request_id}, host)
        _error(response, 403, "forbidden")
        assert _client_logged(configured, request_id) == host


def test_untrusted_forwarded_for_is_ignored_by_default(server_url: ServerURL) -> None:
    # No DOCQA_TRUSTED_PROXIES: the socket peer (loopback here) is the client, whatever it claims.
    response = httpx.get(
        server_url + "/healthz", headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "xff-default"}
    )
    assert response.status_code == 200
    assert _client_logged(server_url, "xff-default") == "127.0.0.1"


def test_forwarded_for_from_a_trusted_proxy_is_honoured(configured: ServerURL) -> None:
    remote = _reload(configured, {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "xff-remote"})
    _error(remote, 403, "forbidden")
    assert _client_logged(configured, "xff-remote") == "203.0.113.9"
    # The proxy appends the address it saw; what the client put first is not believed.
    chained = _reload(configured, {"X-Forwarded-For": "127.0.0.1, 203.0.113.9", "X-Request-ID": "xff-chain"})
    _error(chained, 403, "forbidden")
    # A proxy that forwards no address: the client is unknown, never the proxy's loopback address.
    anonymous = _reload(configured, {"X-Request-ID": "xff-none"})
    _error(anonymous, 403, "forbidden")
    assert _client_logged(configured, "xff-none") == "-"
    junk = _reload(configured, {"X-Forwarded-For": "localhost", "X-Request-ID": "xff-junk"})
    _error(junk, 403, "forbidden")
    # The proxy vouches for a loopback client: honoured.
    local = _reload(configured, {"X-Forwarded-For": "127.0.0.1", "X-Request-ID": "xff-local"})
    assert local.status_code == 200, local.text


def test_invalid_trusted_proxies_setting_is_refused() -> None:
    from pydantic import ValidationError

    from service.config import Settings

    with pytest.raises(ValidationError, match="DOCQA_TRUSTED_PROXIES"):
        Settings(trusted_proxies="localhost")
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxy_list == ["127.0.0.1", "10.0.0.0/8"]
