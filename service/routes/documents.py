"""Documents as JSON (`/v1/documents…`) and the HTML citation viewer (`/documents/{doc_id}`)."""

from __future__ import annotations

import html
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from corpus.models import Document
from index.errors import QAError, UnknownDocument
from index.pages import locate
from service.deps import IndexDep, LinksDep
from service.links import ViewerLinks
from service.middleware import bearer_token, key_is_valid
from service.schemas import DocumentOut, DocumentSummary, IndexOut, error_responses

router = APIRouter(tags=["documents"])

DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_VIEWER_EXAMPLE = (
    '<!doctype html><html lang="en"><head><title>What is the difference between CCO and CRO?</title>…'
    '<main>…<mark id="cited" data-start="1077" data-end="1121">Reporting Lines Typically reports to the CEO.'
    "</mark>…</main></body></html>"
)
DocId = Annotated[str, Path(description="Document id, as in `passages[].doc_id`.", examples=["cco-vs-cro"])]


class ViewerUnauthorized(QAError):
    """The viewer is protected and the request has neither an API key nor a signed link."""

    status = 401
    code = "unauthorized"


class ViewerLinkRefused(QAError):
    """A signed viewer link whose signature does not match (tampered) or that has expired."""

    status = 403
    code = "invalid_link"


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
    """List every document of the index: id, title, source path, length in characters and, for
    paged documents and slide decks, how many pages or slides."""
    docs = sorted(index.documents.values(), key=lambda d: d.doc_id)
    return JSONResponse(
        [
            {"doc_id": d.doc_id, "title": d.title, "source": d.source, "chars": len(d.text), **_counts(d)}
            for d in docs
        ]
    )


@router.get("/v1/index", response_model=IndexOut, responses=error_responses(401, 429, 503))
async def index_report(index: IndexDep) -> JSONResponse:
    """What the loaded index was built from and its build report: the corpus folder, counts, files
    added/changed/removed since the previous build, texts embedded or taken from the cache, and every
    file of the folder that is not in the index with the reason (unsupported, empty, encrypted, no
    text layer, corrupt, timeout)."""
    manifest = index.manifest
    changes = manifest.get("changes") or {}
    skipped = manifest.get("skipped") or []
    return JSONResponse(
        {
            "corpus_dir": manifest.get("corpus_dir"),
            "built_at": manifest.get("built_at"),
            "model": manifest.get("model"),
            "documents": int(manifest.get("documents", len(index.documents))),
            "chunks": int(manifest.get("chunks", len(index.chunks))),
            "answer_units": manifest.get("answer_units"),
            "changes": {k: int(changes.get(k, 0)) for k in ("added", "changed", "removed", "unchanged")},
            "embedded_texts": manifest.get("embedded_texts"),
            "cached_texts": manifest.get("cached_texts"),
            "skipped": [_skipped(entry) for entry in skipped],
        }
    )


def _skipped(entry: object) -> dict[str, str]:
    if isinstance(entry, dict):
        return {"path": str(entry.get("path", "")), "reason": str(entry.get("reason", ""))}
    path, reason = (list(entry) + ["", ""])[:2] if isinstance(entry, list | tuple) else (str(entry), "")
    return {"path": str(path), "reason": str(reason)}


def _counts(doc: Document) -> dict[str, int | None]:
    return {"pages": len(doc.pages) or None, "slides": len(doc.slides) or None}


@router.get(
    "/v1/documents/{doc_id}", response_model=DocumentOut, responses=error_responses(401, 404, 422, 429, 503)
)
async def get_document(doc_id: DocId, index: IndexDep) -> JSONResponse:
    """One whole document; every citation offset (`start`, `end`) indexes into its `text`.

    A paged document (PDF) also gives its page count and each page's start offset, a slide deck
    its slides'; a citation's `page` is the page its `start` falls in.
    """
    doc = lookup(index, doc_id)
    return JSONResponse(
        {
            "doc_id": doc.doc_id,
            "title": doc.title,
            "source": doc.source,
            "text": doc.text,
            **_counts(doc),
            "page_starts": list(doc.pages),
            "slide_starts": list(doc.slides),
        }
    )


@router.get(
    "/documents/{doc_id}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"example": _VIEWER_EXAMPLE}}},
        **error_responses(400, 401, 403, 404, 422, 429, 503),
    },
)
async def view_document(
    doc_id: DocId,
    index: IndexDep,
    request: Request,
    links: LinksDep,
    start: Annotated[int | None, Query(ge=0, description="Start of the cited span (inclusive).")] = None,
    end: Annotated[int | None, Query(ge=0, description="End of the cited span (exclusive).")] = None,
    exp: Annotated[
        int | None, Query(ge=0, description="Expiry (Unix time) of a signed link; protected viewer only.")
    ] = None,
    sig: Annotated[
        str | None, Query(max_length=128, description="Signature of a signed link; protected viewer only.")
    ] = None,
) -> HTMLResponse:
    """The citation viewer: the document as a readable page, `[start, end)` highlighted and in view.

    Both offsets or neither; `0 <= start < end <= len(text)`. This is what every `url` of a
    query response opens. A paged document (PDF) or slide deck is shown one section per page or
    slide, and the header says where the span is ("page 2 of 3", "pages 2–3 of 3", "slide 4 of 9").

    When the viewer is protected (`DOCQA_PROTECT_VIEWER`, on by default with `DOCQA_API_KEYS`), it
    needs `Authorization: Bearer <key>` or a signed link (`exp` and `sig`, as in every `url` the
    service hands out): 401 without either, 403 `invalid_link` when tampered with or expired.
    """
    authorize_viewer(request, links, doc_id, (start, end), exp, sig)
    doc = lookup(index, doc_id)
    span = _check_range(doc, start, end)
    nonce = secrets.token_urlsafe(16)
    csp = f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'"
    return HTMLResponse(
        render_viewer(doc, span, nonce),
        headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"},
    )


def authorize_viewer(
    request: Request,
    links: ViewerLinks,
    doc_id: str,
    span: tuple[int | None, int | None],
    exp: int | None,
    sig: str | None,
) -> None:
    """Let a protected viewer open only with an API key or a valid signed link.

    Raises:
        ViewerUnauthorized: Neither a key nor a signature (401).
        ViewerLinkRefused: A signature that does not match, or an expired link (403).
    """
    if not links.enabled:
        return
    keys: list[str] = request.app.state.settings.api_key_list
    if keys and key_is_valid(bearer_token(request.scope), keys):
        return
    if exp is None or sig is None:
        raise ViewerUnauthorized(
            "This document viewer needs an API key ('Authorization: Bearer <key>') or a signed link: "
            "open the `url` of a query or chat response."
        )
    problem = links.check(doc_id, span[0], span[1], exp, sig)
    if problem == "expired":
        raise ViewerLinkRefused("This viewer link has expired; ask the question again for a fresh link.")
    if problem:
        raise ViewerLinkRefused("This viewer link is not valid (its signature does not match).")


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
section.page { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 0 1.5rem 1.25rem;
               margin: 0 0 1.5rem; }
section.page.cited { border-color: #c9a400; }
section.page h2 { font: 600 .8rem/1 system-ui, sans-serif; color: #666; margin: 0 0 .5rem; padding: 1rem 0 0;
                  white-space: normal; text-transform: uppercase; letter-spacing: .04em; }
"""


def render_viewer(doc: Document, span: tuple[int, int] | None, nonce: str) -> str:
    """The viewer page; every piece of document text is HTML-escaped.

    A paged document (or slide deck) is shown one section per page (slide), headed "Page N"
    ("Slide N"), with its form feeds dropped; the header says where the cited span is
    ("page 2 of 3").

    Args:
        doc: The document shown.
        span: The cited `[start, end)` to highlight, or None.
        nonce: CSP nonce for the page's own style and script.
    """
    starts, kind = (doc.pages, "page") if doc.pages else (doc.slides, "slide")
    if starts:
        body = "".join(
            _page_section(doc.text, bounds, number, len(starts), kind, span)
            for number, bounds in enumerate(_page_bounds(starts, len(doc.text)), 1)
        )
    else:
        body = _highlighted(doc.text, 0, len(doc.text), span)
    note = _note(doc, span)
    script = ""
    if span is not None:
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


def _page_bounds(starts: tuple[int, ...], length: int) -> list[tuple[int, int]]:
    """`[start, end)` of every page; out-of-order or out-of-range starts are clamped, never dropped,
    so section N is always page N of the citations."""
    cuts = [0]
    for start in starts[1:]:
        cuts.append(min(max(start, cuts[-1]), length))
    return list(zip(cuts, [*cuts[1:], length], strict=True))


def _highlighted(text: str, lo: int, hi: int, span: tuple[int, int] | None) -> str:
    """`text[lo:hi]` escaped, with the part of `span` inside it marked.

    The mark of the span's first character has ``id="cited"`` (what the page scrolls to); a
    span crossing a page break continues in a ``<mark class="cited-more">`` on the next page.
    """
    if span is None or span[1] <= lo or span[0] >= hi:
        return html.escape(text[lo:hi])
    start, end = span
    first, last = max(lo, start), min(hi, end)
    opening = (
        f'<mark id="cited" data-start="{start}" data-end="{end}">'
        if first == start
        else '<mark class="cited-more">'
    )
    return (
        html.escape(text[lo:first])
        + opening
        + html.escape(text[first:last])
        + "</mark>"
        + html.escape(text[last:hi])
    )


def _page_section(
    text: str, bounds: tuple[int, int], number: int, total: int, kind: str, span: tuple[int, int] | None
) -> str:
    """One page (or slide) as a `<section>`; the form feed that ends it is not shown."""
    lo, hi = bounds
    cited = span is not None and span[0] < hi and span[1] > lo
    label = f"{kind.capitalize()} {number} of {total}"
    shown = _highlighted(text, lo, hi, span).replace("\f", "")
    # No whitespace between the tags: `main` keeps white space as written (pre-wrap).
    return (
        f'<section class="page{" cited" if cited else ""}" id="{kind}-{number}" data-{kind}="{number}" '
        f'aria-label="{label}"><h2>{label}</h2>{shown}</section>'
    )


def _note(doc: Document, span: tuple[int, int] | None) -> str:
    """The header line: where the cited span is ("Cited passage: page 2 of 3 · …"), else the size."""
    size = f"{len(doc.text):,} characters"
    if span is None:
        counts = [
            f"{len(starts)} {kind}s"
            for kind, starts in (("page", doc.pages), ("slide", doc.slides))
            if starts
        ]
        return " · ".join([*counts, size])
    where = locate(doc, *span)
    parts = []
    if where.page is not None:
        pages = f"pages {where.page}–{where.page_end}" if where.page_end else f"page {where.page}"
        parts.append(f"{pages} of {len(doc.pages)}")
    if where.slide is not None:
        parts.append(f"slide {where.slide} of {len(doc.slides)}")
    start, end = span
    parts.append(f"characters {start:,}–{end:,} of {len(doc.text):,}")
    return "Cited passage: " + " · ".join(parts)
