"""`GET /docs` (Swagger UI) and `GET /redoc` (ReDoc), mounted only when `DOCQA_API_DOCS` is true.

Their scripts and styles come from ``cdn.jsdelivr.net`` (the assets are not packaged), so each
page carries a Content-Security-Policy that allows exactly that host plus the page's own inline
script (by hash), and nothing else third-party: no Google Fonts, no remote favicon. Deployments
that must not load third-party scripts set ``DOCQA_API_DOCS=false``; ``/openapi.json`` stays.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CDN = "https://cdn.jsdelivr.net"
NO_FAVICON = "data:,"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hashes(page: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) of the page's inline scripts."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    ]


def docs_csp(page: str, *, workers: bool = False) -> str:
    """The policy of a docs page: the CDN, the page's own inline script, calls to this origin."""
    directives = [
        "default-src 'none'",
        f"script-src {CDN} {' '.join(script_hashes(page))}".strip(),
        # Both UIs set style attributes and ReDoc injects <style> elements at run time.
        f"style-src {CDN} 'unsafe-inline'",
        f"img-src 'self' data: {CDN}",
        "font-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if workers:
        directives.append("worker-src blob:")
    return "; ".join(directives)


def _with_csp(response: HTMLResponse, *, workers: bool = False) -> HTMLResponse:
    page = bytes(response.body).decode("utf-8")
    return HTMLResponse(page, headers={"Content-Security-Policy": docs_csp(page, workers=workers)})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``."""
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=root + "/openapi.json", title="docqa - Swagger UI", swagger_favicon_url=NO_FAVICON
    )
    return _with_csp(page)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over ``/openapi.json``."""
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_redoc_html(
        openapi_url=root + "/openapi.json",
        title="docqa - ReDoc",
        redoc_favicon_url=NO_FAVICON,
        with_google_fonts=False,
    )
    return _with_csp(page, workers=True)
