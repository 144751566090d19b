"""`POST /v1/admin/reload`: swap in a rebuilt index without dropping in-flight requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from index.errors import QAError
from service.deps import HolderDep, MetricsDep, SettingsDep
from service.holder import IndexHolder, ReloadInProgress
from service.metrics import Metrics
from service.middleware import client_host, is_loopback
from service.schemas import ReloadOut, ReloadRequest, error_responses

router = APIRouter(prefix="/v1/admin", tags=["operations"])


class Forbidden(QAError):
    """The client may not call this endpoint."""

    status = 403
    code = "forbidden"


def reload_index(holder: IndexHolder, metrics: Metrics, rebuild: bool = False) -> dict[str, object]:
    """Blocking reload (optionally rebuild) that records its outcome in the metrics.

    Raises:
        ReloadInProgress: Another reload is running.
        QAError: The new index could not be built or loaded; the old one keeps serving.
    """
    try:
        outcome = holder.load(rebuild=rebuild)
    except ReloadInProgress:
        metrics.reloads.labels("busy").inc()
        raise
    except QAError:
        metrics.reloads.labels("failed").inc()
        raise
    metrics.reloads.labels("ok").inc()
    metrics.documents.set(outcome.documents)
    return {"status": "reloaded", "documents": outcome.documents, "seconds": round(outcome.seconds, 3)}


@router.post("/reload", response_model=ReloadOut, responses=error_responses(401, 403, 409, 422, 503))
async def reload(
    request: Request,
    holder: HolderDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    options: Annotated[
        ReloadRequest | None,
        Body(
            openapi_examples={
                "reload": {"summary": "Load the index again (after `docqa build --corpus DIR`)", "value": {}},
                "rebuild": {
                    "summary": "Rebuild (incrementally) from the index's corpus folder, then load",
                    "value": {"rebuild": True},
                },
            }
        ),
    ] = None,
) -> JSONResponse:
    """Load the index again from `DOCQA_INDEX_DIR` (after `docqa build --corpus DIR`) and swap it in.

    With `{"rebuild": true}` the index is first rebuilt, incrementally, from its corpus folder:
    `DOCQA_CORPUS_DIR` when set, else the folder the index was built from. A stale index is
    refused (503) with a message naming that folder and the command that rebuilds it. In-flight
    requests finish on the old index. Needs an API key when `DOCQA_API_KEYS` is set; otherwise
    only loopback clients may call it. The same happens on SIGHUP. With `DOCQA_REDIS_URL` set,
    every replica loads the new index within `DOCQA_RELOAD_POLL_SECONDS`, and a rebuild while
    another replica is building answers 409.
    """
    if not settings.api_key_list and not is_loopback(client_host(request.scope)):
        raise Forbidden("Reload is only allowed from loopback when no API keys are configured.")
    rebuild = options.rebuild if options is not None else False
    replicas = getattr(request.app.state, "replicas", None)
    if replicas is None:
        return JSONResponse(await run_in_threadpool(reload_index, holder, metrics, rebuild))
    # Reaches every replica (a shared generation), and a rebuild holds the shared build lock.
    return JSONResponse(await run_in_threadpool(replicas.reload, rebuild))
