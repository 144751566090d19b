"""The FastAPI application factory: one app, one index loaded once, every door on top of it.

Run it with ``uvicorn --factory service.app:create_app`` (or ``docqa serve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from index import Index
from index.errors import QAError
from service.chat import ChatService
from service.config import Settings
from service.errors import install_error_handlers
from service.holder import IndexHolder
from service.links import ViewerLinks
from service.mcp_server import install_mcp
from service.metrics import Metrics
from service.middleware import install_middleware
from service.openapi_schema import install_openapi_limits
from service.replicas import ReplicaSync
from service.routes import admin, apidocs, documents, health, openai_compat, query, widget
from service.routes.admin import reload_index
from service.slack import install_slack
from service.state import build_state

logger = logging.getLogger(__name__)

DESCRIPTION = """
Question answering over a folder of documents, with exact character-offset citations.

* `POST /v1/query` answers one question; `POST /v1/chat` answers follow-ups in a session.
* Every `url` in a response opens the citation viewer `GET /documents/{doc_id}?start=&end=`.
* Errors are always `{"error": {"code": "…", "message": "…"}}`.
* When `DOCQA_API_KEYS` is set, `/v1/*` and `/mcp` need `Authorization: Bearer <key>`; the viewer
  then needs a key or a signed link (`exp`, `sig`: the `url`s of responses are signed) and
  `/metrics` a key.
* `POST /v1/chat/completions` speaks the OpenAI chat API (model `docqa`); `/mcp` is an MCP server.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the docqa HTTP service.

    The index is loaded once, in the lifespan, into ``app.state.index`` (via ``app.state.holder``,
    which hot reloads swap); ``app.state.chat`` is the shared `ChatService`.

    Args:
        settings: Configuration; read from the environment (``DOCQA_*``) when None.

    Returns:
        The FastAPI app.

    Example:
        >>> from fastapi.testclient import TestClient           # doctest: +SKIP
        >>> with TestClient(create_app(Settings(index_dir=Path("var/index")))) as client:
        ...     client.post("/v1/query", json={"question": "Who reports to the COO?"}).json()["answer"]
    """
    settings = settings or _settings_from_env()
    _configure_logging(settings.log_level)
    metrics = Metrics()
    app = FastAPI(
        title="docqa",
        version=_version(),
        description=DESCRIPTION,
        lifespan=_lifespan,
        # An API answers the path it was asked, in JSON; no 307s to a slash-less twin.
        redirect_slashes=False,
        # /docs and /redoc are our own routes (service/routes/apidocs.py): CSP, or off by setting.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.links = ViewerLinks.from_settings(settings)
    app.state.metrics = metrics
    app.state.index = None

    def on_swap(new_index: Index) -> None:
        app.state.index = new_index
        metrics.documents.set(len(new_index.documents))

    app.state.holder = IndexHolder(settings, on_swap=on_swap)
    # Sessions, rate limits, Slack retries, votes and reloads: in memory, or in Redis (issue #13).
    state = build_state(settings, feedback=settings.slack_enabled)
    app.state.shared = state
    app.state.replicas = ReplicaSync(app.state.holder, metrics, state.coordinator)
    app.state.chat = ChatService(app.state.holder.get, settings, sessions=state.sessions)
    install_error_handlers(app)
    install_middleware(app, settings, metrics, state)
    for router in (query.router, documents.router, health.router, admin.router, widget.router):
        app.include_router(router)
    if settings.api_docs:
        app.include_router(apidocs.router)
    install_slack(app, settings)
    # Two more doors (issue 14): OpenAI chat completions (errors in OpenAI's shape) and MCP at /mcp.
    app.include_router(openai_compat.router)
    app.add_middleware(openai_compat.OpenAIErrorShape)
    install_mcp(app, app.state.holder.get, settings, metrics)
    install_openapi_limits(app, settings)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    holder: IndexHolder = app.state.holder
    metrics: Metrics = app.state.metrics
    replicas: ReplicaSync = app.state.replicas
    await run_in_threadpool(replicas.remember_current)
    try:
        await run_in_threadpool(reload_index, holder, metrics)
    except QAError as exc:
        # Stay up so /readyz can say why (503) and a later reload can fix it.
        logger.error("serving without an index: %s", exc.message)
    tasks: set[asyncio.Task[Any]] = set()
    if app.state.shared.backend == "redis":
        watcher = asyncio.create_task(replicas.watch(app.state.settings.reload_poll_seconds))
        tasks.add(watcher)
    sighup = _install_sighup(app, tasks)
    try:
        async with app.state.mcp_sessions.run():
            yield
    finally:
        for task in tasks:
            task.cancel()
        if sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


def _install_sighup(app: FastAPI, tasks: set[asyncio.Task[Any]]) -> bool:
    """Reload the index on SIGHUP (Unix, main thread only); returns whether it was installed."""
    if not hasattr(signal, "SIGHUP"):
        return False
    loop = asyncio.get_running_loop()

    async def reload_in_background() -> None:
        try:
            await run_in_threadpool(app.state.replicas.reload)
        except QAError as exc:
            logger.error("SIGHUP reload failed: %s", exc.message)

    def on_sighup() -> None:
        logger.info("SIGHUP received: reloading the index")
        task = loop.create_task(reload_in_background())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    except (RuntimeError, ValueError, NotImplementedError):
        logger.info("SIGHUP reload not available here (not the main thread); use POST /v1/admin/reload")
        return False
    return True


def _settings_from_env() -> Settings:
    """Settings from ``DOCQA_*`` (typed as keyword arguments so mypy sees no missing fields)."""
    overrides: dict[str, Any] = {}
    return Settings(**overrides)


def _configure_logging(level: str) -> None:
    """Give docqa's loggers a handler when the host process (e.g. plain uvicorn) did not."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in ("service", "index", "corpus"):
        logging.getLogger(name).setLevel(level.upper())


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("docqa")
    except Exception:  # pragma: no cover - running from a source tree without metadata
        return "0.0.0"
