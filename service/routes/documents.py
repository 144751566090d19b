"""Documents as JSON (`/v1/documents…`) and the HTML citation viewer (`/documents/{doc_id}`)."""

from __future__ import annotations

import html
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse

from corpus.models import Document
from index.errors import QAError, UnknownDocument
from service.deps import IndexDep
from service.schemas import DocumentOut, DocumentSummary, error_responses

router = APIRouter(tags=["documents"])

DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_VIEWER_EXAMPLE = (
    '<!doctype html><html lang="en"><head><title>What is the difference between CCO and CRO?</title>…'
    '<main>…<mark id="cited" data-start="1077" data-end="1121">Reporting Lines Typically reports to the CEO.'
    "</mark>…</main></body></html>"
)
DocId = Annotated[str, Path(description="Document id, as in `passages[].doc_id`.", examples=["cco-vs-cro"])]


class InvalidRange(QAError):
    """Viewer offsets outside the document or reversed."""

    status = 400
    code = "invalid_range"


def lookup(index: IndexDep, doc_id: str) -> Document:
    """The document `doc_id`, refusing path-like and unknown ids alike with a 404."""
    if not DOC_ID_PATTERN.match(doc_id) or ".." in doc_id:
        raise UnknownDocument(f"No document {doc_id!r}; ids are letters, digits, '-', '_' and '.'.")
    document: Document = index.document(doc_id)
    return document


@router.get("/v1/documents", response_model=list[DocumentSummary], responses=error_responses(401, 429, 503))
async def list_documents(index: IndexDep) -> JSONResponse:
    """List every document of the index: id, title, source path and length in characters."""
    docs = sorted(index.documents.values(), key=lambda d: d.doc_id)
    return JSONResponse(
        [{"doc_id": d.doc_id, "title": d.title, "source": d.source, "chars": len(d.text)} for d in docs]
    )


@router.get(
    "/v1/documents/{doc_id}", response_model=DocumentOut, responses=error_responses(401, 404, 422, 429, 503)
)
async def get_document(doc_id: DocId, index: IndexDep) -> JSONResponse:
    """One whole document; every citation offset (`start`, `end`) indexes into its `text`."""
    doc = lookup(index, doc_id)
    return JSONResponse({"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "text": doc.text})


@router.get(
    "/documents/{doc_id}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"example": _VIEWER_EXAMPLE}}},
        **error_responses(400, 404, 422, 429, 503),
    },
)
async def view_document(
    doc_id: DocId,
    index: IndexDep,
    start: Annotated[int | None, Query(ge=0, description="Start of the cited span (inclusive).")] = None,
    end: Annotated[int | None, Query(ge=0, description="End of the cited span (exclusive).")] = None,
) -> HTMLResponse:
    """The citation viewer: the document as a readable page, `[start, end)` highlighted and in view.

    Both offsets or neither; `0 <= start < end <= len(text)`. This is what every `url` of a
    query response opens.
    """
    doc = lookup(index, doc_id)
    span = _check_range(doc, start, end)
    nonce = secrets.token_urlsafe(16)
    csp = f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'"
    return HTMLResponse(
        render_viewer(doc, span, nonce),
        headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"},
    )


def _check_range(doc: Document, start: int | None, end: int | None) -> tuple[int, int] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidRange("Give both `start` and `end` (or neither).")
    if not start < end <= len(doc.text):
        raise InvalidRange(
            f"Need 0 <= start < end <= {len(doc.text)} (the document's length); got start={start}, end={end}."
        )
    return start, end


_STYLE = """
body { margin: 0; background: #f6f6f3; color: #1d1d1b; font: 17px/1.6 Georgia, 'Times New Roman', serif; }
header { background: #fff; border-bottom: 1px solid #ddd; padding: 1rem 1.5rem;
         font-family: system-ui, sans-serif; }
header h1 { font-size: 1.25rem; margin: 0 0 .25rem; }
header p { margin: 0; color: #555; font-size: .85rem; }
main { max-width: 44rem; margin: 1.5rem auto 4rem; padding: 0 1.5rem; white-space: pre-wrap;
       overflow-wrap: anywhere; }
mark { background: #ffe58a; padding: .1em 0; border-radius: 2px; box-shadow: 0 0 0 2px #ffe58a;
       scroll-margin: 30vh; }
"""


def render_viewer(doc: Document, span: tuple[int, int] | None, nonce: str) -> str:
    """The viewer page; every piece of document text is HTML-escaped.

    Args:
        doc: The document shown.
        span: The cited `[start, end)` to highlight, or None.
        nonce: CSP nonce for the page's own style and script.
    """
    text = doc.text
    if span is None:
        body = html.escape(text)
        note = f"{len(text):,} characters"
        script = ""
    else:
        start, end = span
        body = (
            html.escape(text[:start])
            + f'<mark id="cited" data-start="{start}" data-end="{end}">'
            + html.escape(text[start:end])
            + "</mark>"
            + html.escape(text[end:])
        )
        note = f"Cited passage: characters {start:,}–{end:,} of {len(text):,}"
        script = (
            f'<script nonce="{nonce}">document.getElementById("cited")'
            '.scrollIntoView({block: "center"});</script>'
        )
    source = html.escape(doc.source)
    if doc.url and doc.url.startswith(("https://", "http://")):
        source = f'<a href="{html.escape(doc.url, quote=True)}" rel="noopener noreferrer">{source}</a>'
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(doc.title)}</title><style nonce="{nonce}">{_STYLE}</style></head>'
        f"<body><header><h1>{html.escape(doc.title)}</h1><p>{source} · {note}</p></header>"
        f"<main>{body}</main>{script}</body></html>"
    )
