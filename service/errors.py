"""Exception handlers: every error leaves the service as ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import QAError
from service.security import log_safe

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The contract's error JSON."""
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON error response in the one shape."""
    return JSONResponse(error_body(code, message), status_code=status, headers=dict(headers or {}))


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def describe_validation_errors(errors: Sequence[Any]) -> tuple[int, str, str]:
    """Map pydantic/FastAPI validation errors to (status, code, message).

    Malformed JSON is a 400 ``invalid_json``; everything else is a 422 ``invalid_request``
    whose message names each offending field.
    """
    for err in errors:
        if isinstance(err, Mapping) and err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            detail = ctx.get("error", "could not be parsed") if isinstance(ctx, Mapping) else ""
            return 400, "invalid_json", f"The request body is not valid JSON: {detail}."
    messages = []
    for err in list(errors)[:5]:
        if not isinstance(err, Mapping):
            messages.append(str(err))
            continue
        where = _location(err.get("loc", ()))
        if err.get("type") == "missing" and where == "body":
            messages.append("a JSON object body is required")
        else:
            messages.append(f"{where}: {err.get('msg', 'invalid value')}")
    return 422, "invalid_request", "Invalid request: " + "; ".join(messages) + "."


async def _qa_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QAError)
    return error_response(exc.status, exc.code, exc.message)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    body_not_json = any(
        isinstance(e, Mapping) and tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes)
        for e in errors
    )
    if body_not_json and not _is_json(request.headers.get("content-type", "")):
        return error_response(
            415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'."
        )
    status, code, message = describe_validation_errors(errors)
    return error_response(status, code, message)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404 and isinstance(exc.detail, str) and exc.detail == "Not Found":
        message = f"No such endpoint: {request.method} {request.url.path}. See /docs."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}. See /docs."
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    path = log_safe(request.url.path)  # no forged log lines (issue 11)
    logger.error("unhandled error request_id=%s path=%s", request_id, path, exc_info=exc)
    return internal_error_response(request_id)


def internal_error_response(request_id: str) -> JSONResponse:
    """The JSON 500: a generic message naming the request id, never a traceback."""
    return error_response(
        500,
        "internal_error",
        f"Internal error; it has been logged with request id {request_id}.",
        {"X-Request-ID": request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one JSON error shape."""
    app.add_exception_handler(QAError, _qa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
