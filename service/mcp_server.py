"""The MCP server: tools `search`, `ask` and `get_document`, and the documents as resources.

Built on the official SDK's `MCPServer`. The same server object serves stdio (`docqa mcp`) and
streamable HTTP (mounted by `install_mcp` at ``/mcp`` of the HTTP service, behind the service's
API keys and rate limit). Bad arguments come back as tool errors (``isError: true`` with a message
saying what to fix), never as a crash.

Example:
    >>> server = build_mcp_server(lambda: index, Settings())              # doctest: +SKIP
    >>> server.run("stdio")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, Resource, TextContent, ToolAnnotations
from pydantic import Field

from index import Index
from index.errors import QAError
from index.types import Passage
from service.config import Settings
from service.links import ViewerLinks
from service.metrics import Metrics
from service.openai_format import render_reply
from service.routes.documents import DOC_ID_PATTERN

logger = logging.getLogger(__name__)

RESOURCE_PREFIX = "docqa://documents/"
MAX_DOCUMENT_CHARS = 50_000
_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

IndexProvider = Callable[[], Index]
Query = Annotated[str, Field(description="The question or search terms.", min_length=1)]
End = Annotated[int | None, Field(description="End character, exclusive (default: start + 50000).")]
TopK = Annotated[int, Field(description="How many passages to return (1-50).", ge=1, le=50)]


class DocqaMCPServer(MCPServer[Any]):
    """`MCPServer` whose resource list is the current index's documents (it changes on reload)."""

    def __init__(self, provider: IndexProvider, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._provider = provider

    async def list_resources(self) -> list[Resource]:
        """One ``docqa://documents/{doc_id}`` text resource per document of the loaded index."""
        try:
            index = self._provider()
        except QAError:
            return []
        return [
            Resource(
                uri=f"{RESOURCE_PREFIX}{doc.doc_id}",
                name=doc.doc_id,
                title=doc.title,
                description=f"{doc.source} ({len(doc.text)} characters)",
                mime_type="text/plain",
            )
            for doc in sorted(index.documents.values(), key=lambda d: d.doc_id)
        ]


def build_mcp_server(
    provider: IndexProvider,
    settings: Settings,
    metrics: Metrics | None = None,
    links: ViewerLinks | None = None,
) -> MCPServer[Any]:
    """The docqa MCP server over the index `provider` returns (called on every request).

    Args:
        provider: Returns the current `Index` (raises `IndexNotReady` while none is loaded).
        settings: Limits and ``public_url`` (the base of the viewer links in tool results).
        metrics: Where `ask` records its answers (the HTTP service's metrics), if anywhere.
        links: Signs the viewer links when the viewer is protected (default: from `settings`).

    Returns:
        The server; call ``run("stdio")`` or mount it with `install_mcp`.
    """
    server = DocqaMCPServer(
        provider,
        name="docqa",
        title="docqa",
        instructions=(
            "Answers questions from a fixed set of documents with exact citations. Use `ask` for a "
            "cited answer (it abstains when the documents don't answer), `search` for passages, and "
            "`get_document` to read a document or a cited span (doc_id, start, end)."
        ),
        log_level=settings.log_level.upper(),
    )
    tools = _Tools(provider, settings, metrics, links or ViewerLinks.from_settings(settings))
    server.add_tool(tools.search, annotations=_READ_ONLY, structured_output=False)
    server.add_tool(tools.ask, annotations=_READ_ONLY, structured_output=False)
    server.add_tool(tools.get_document, annotations=_READ_ONLY, structured_output=False)

    @server.resource(f"{RESOURCE_PREFIX}{{doc_id}}", mime_type="text/plain")
    def document_text(doc_id: str) -> str:
        """The full text of one document (the text citation offsets point into)."""
        try:
            return provider().document(doc_id).text
        except QAError as exc:
            raise ResourceNotFoundError(exc.message) from exc

    return server


class _Tools:
    """The tool functions; their signatures and docstrings become the tools' schemas."""

    def __init__(
        self, provider: IndexProvider, settings: Settings, metrics: Metrics | None, links: ViewerLinks
    ) -> None:
        self._provider = provider
        self._settings = settings
        self._metrics = metrics
        self._links = links

    def _index(self) -> Index:
        try:
            return self._provider()
        except QAError as exc:
            raise ToolError(exc.message) from exc

    def _passage(self, passage: Passage) -> dict[str, Any]:
        return {**passage.to_dict(), "url": self._link(passage.doc_id, passage.start, passage.end)}

    def _link(self, doc_id: str, start: int, end: int) -> str:
        return self._settings.public_url.rstrip("/") + self._links.url(doc_id, start, end)

    def search(self, query: Query, top_k: TopK = 5) -> CallToolResult:
        """Find the passages of the documents that best match `query`, best first.

        Each passage has its document id, title, section, exact character offsets (`start`,
        `end`), its text, and `url`, a link to the document viewer with the span highlighted.
        """
        try:
            passages = self._index().search(query, top_k, max_chars=self._settings.max_question_chars)
        except QAError as exc:
            raise ToolError(exc.message) from exc
        found = [self._passage(p) for p in passages]
        lines = [
            f"[{p['rank']}] {p['title']} — {p['section'] or '(top)'} ({p['url']})\n{p['display'][:300]}"
            for p in found
        ]
        return CallToolResult(
            content=[TextContent(type="text", text="\n\n".join(lines) or "No passages found.")],
            structured_content={"query": query, "passages": found},
        )

    def ask(self, question: Query, top_k: TopK = 5) -> CallToolResult:
        """Answer `question` from the documents, with citations.

        The text is the answer with [n] markers and a Sources list (or a plain statement that
        the documents don't answer, with the closest sources). The structured result is the
        QueryResponse (`answer` with offsets, `abstained`, `confidence`, `passages`,
        `clarifications` for acronyms that mean different things in different documents) plus
        `citations`, the numbered sources with viewer links.
        """
        started = time.perf_counter()
        try:
            result = self._index().query(question, top_k, max_chars=self._settings.max_question_chars)
        except QAError as exc:
            raise ToolError(exc.message) from exc
        if self._metrics is not None:
            self._metrics.observe_answer(
                "mcp", time.perf_counter() - started, result.abstained, bool(result.clarifications)
            )
        body = self._links.sign_body(result.to_dict())
        reply = render_reply(body, self._settings.public_url)
        body["citations"] = [
            {"number": n, "title": a["url_citation"]["title"], "url": a["url_citation"]["url"]}
            for n, a in enumerate(reply.annotations, start=1)
        ]
        return CallToolResult(content=[TextContent(type="text", text=reply.content)], structured_content=body)

    def get_document(
        self,
        doc_id: Annotated[str, Field(description="The document id (`doc_id` of a passage).", min_length=1)],
        start: Annotated[int, Field(description="First character (default 0).", ge=0)] = 0,
        end: End = None,
    ) -> CallToolResult:
        """Read a document, or the span [start, end) of it (the offsets a citation gives).

        Returns the text with the document's title, source, length and a viewer link; `more` is
        true when the document goes on after `end` (ask again from there).
        """
        if not DOC_ID_PATTERN.match(doc_id) or ".." in doc_id:
            raise ToolError(f"No document {doc_id!r}; ids are letters, digits, '-', '_' and '.'.")
        try:
            document = self._index().document(doc_id)
        except QAError as exc:
            raise ToolError(exc.message) from exc
        chars = len(document.text)
        stop = min(chars, start + MAX_DOCUMENT_CHARS) if end is None else end
        if not start <= stop <= chars:
            raise ToolError(f"Offsets must satisfy 0 <= start <= end <= {chars}; got {start} and {stop}.")
        text = document.text[start:stop]
        body = {
            "doc_id": document.doc_id,
            "title": document.title,
            "source": document.source,
            "chars": chars,
            "start": start,
            "end": stop,
            "more": stop < chars,
            "text": text,
            "url": self._link(document.doc_id, start, stop),
        }
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=body)


def install_mcp(app: FastAPI, provider: IndexProvider, settings: Settings, metrics: Metrics) -> None:
    """Serve MCP over streamable HTTP at ``/mcp`` of `app` (stateless, JSON responses).

    The app's lifespan must run ``app.state.mcp_sessions.run()``. The SDK's Host/Origin check is
    off: ``/mcp`` reads the same documents as ``/v1/*`` and sits behind the same API keys, rate
    limit and CORS settings.
    """
    server = build_mcp_server(provider, settings, metrics, getattr(app.state, "links", None))
    http_app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.extend(http_app.routes)
    app.state.mcp_sessions = server.session_manager
