"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from index.errors import IndexNotReady
from service.config import Settings
from service.deps import HolderDep, MetricsDep, SettingsDep
from service.errors import error_body, error_response
from service.middleware import bearer_token, key_is_valid
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
    responses={200: {"content": {"text/plain": {"example": _METRICS_EXAMPLE}}}, **error_responses(401)},
)
async def metrics(metrics: MetricsDep, settings: SettingsDep, request: Request) -> Response:
    """Prometheus metrics: HTTP requests and latency, query latency, abstentions, reloads, sessions.

    Needs `Authorization: Bearer <token>` when `DOCQA_METRICS_TOKEN` or `DOCQA_API_KEYS` is set
    (the metrics token or any API key); open otherwise.
    """
    allowed = metrics_credentials(settings)
    if allowed and not key_is_valid(bearer_token(request.scope), allowed):
        return error_response(
            401,
            "unauthorized",
            "Metrics need 'Authorization: Bearer <token>' (DOCQA_METRICS_TOKEN or an API key).",
            {"WWW-Authenticate": "Bearer"},
        )
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def metrics_credentials(settings: Settings) -> list[str]:
    """The bearer tokens /metrics accepts; empty when it is open (issue 11)."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return [*([token] if token else []), *settings.api_key_list]
