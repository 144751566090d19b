"""The embeddable chat widget: `GET /widget.js` and the demo page `GET /` (issue 4).

The widget is one static script (no build step) that any page embeds with
``<script src="https://HOST/widget.js" data-api="https://HOST" defer></script>``.
The demo page loads it from its own origin with a relative URL (never from the ``Host`` header,
issue 11) and shows the snippet with `DOCQA_PUBLIC_URL`.
"""

from __future__ import annotations

import hashlib
import html
import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from service.deps import SettingsDep

logger = logging.getLogger(__name__)

router = APIRouter(tags=["widget"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
JS_MEDIA_TYPE = "text/javascript; charset=utf-8"
# Short public cache plus an ETag: embedders' pages pick up a new release within minutes, and
# revalidation costs a 304 with no body in between.
WIDGET_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=60"


@dataclass(frozen=True)
class StaticAsset:
    """A file of `service/static/` held in memory with its strong ETag."""

    body: bytes
    etag: str


@lru_cache(maxsize=4)
def load_asset(name: str) -> StaticAsset:
    """Read a file of `service/static/` once and compute its ETag.

    Args:
        name: File name inside `service/static/`.

    Returns:
        The file's bytes and a quoted SHA-256-based ETag.
    """
    body = (STATIC_DIR / name).read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:32]
    logger.debug("widget asset loaded: name=%s bytes=%d", name, len(body))
    return StaticAsset(body=body, etag=f'"{digest}"')


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


@router.head("/widget.js", include_in_schema=False)
@router.get(
    "/widget.js",
    response_class=Response,
    responses={
        200: {"content": {"text/javascript": {}}, "description": "The widget script."},
        304: {"description": "Not modified (the ETag matched)."},
    },
)
def widget_js(request: Request) -> Response:
    """The embeddable chat widget script.

    Embed it with `<script src="https://HOST/widget.js" data-api="https://HOST" defer></script>`;
    optional `data-title`, `data-greeting`, `data-accent`, `data-position`, `data-api-key`.
    Served with a short public cache and an ETag (conditional requests get a 304).
    """
    asset = load_asset("widget.js")
    headers = {
        "Cache-Control": WIDGET_CACHE_CONTROL,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
        # Other sites load this script; let them even when the service sets a strict CORP default.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if _etag_matches(request, asset.etag):
        return Response(status_code=304, headers=headers)
    # The server drops the body of a HEAD response and keeps Content-Length.
    return Response(content=asset.body, media_type=JS_MEDIA_TYPE, headers=headers)


@router.head("/", include_in_schema=False)
@router.get("/", response_class=HTMLResponse)
def demo_page(settings: SettingsDep) -> HTMLResponse:
    """A demo page that embeds the chat widget and shows the one-line snippet of the README."""
    nonce = secrets.token_urlsafe(16)
    template = load_asset("demo.html").body.decode("utf-8")
    public = html.escape(settings.public_url.rstrip("/"), quote=True)
    page = template.replace("{{API}}", public).replace("{{NONCE}}", nonce)
    csp = (
        f"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'nonce-{nonce}'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )
    return HTMLResponse(
        content=page,
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": csp,
        },
    )
