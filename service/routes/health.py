"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from index.errors import IndexNotReady
from service.deps import HolderDep, MetricsDep
from service.errors import error_body
from service.schemas import HealthOut, error_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> JSONResponse:
    """Liveness: 200 while the process runs."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=HealthOut, responses=error_responses(503))
async def readyz(holder: HolderDep) -> JSONResponse:
    """Readiness: 200 once the index is loaded, 503 (with the reason) before or if loading failed."""
    try:
        index = holder.get()
    except IndexNotReady as exc:
        body: dict[str, object] = {**error_body(exc.code, exc.message)}
        body["status"] = "failed" if holder.error is not None else "loading"
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(
        {"status": "ready", "documents": len(index.documents), "generation": holder.generation}
    )


_METRICS_EXAMPLE = (
    "# HELP docqa_abstentions_total Questions the corpus did not answer (abstained), by endpoint.\n"
    "# TYPE docqa_abstentions_total counter\n"
    'docqa_abstentions_total{endpoint="query"} 3.0\n'
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": _METRICS_EXAMPLE}}}},
)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics: HTTP requests and latency, query latency, abstentions, reloads, sessions."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
