"""`POST /v1/chat/completions` and `GET /v1/models`: docqa behind the OpenAI chat API.

The door is stateless: the request's ``messages`` are the conversation, and the last user
message is resolved against the earlier ones by `ChatService.chat_history` (the follow-up
resolution of `/v1/chat`). Errors on these paths use OpenAI's error shape (which also carries
the service's ``code`` and ``message``), so the official clients raise their usual exceptions.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import QAError
from service.chat import ChatService
from service.deps import ChatDep, LinksDep, MetricsDep, SettingsDep
from service.links import ViewerLinks
from service.metrics import Metrics
from service.openai_format import (
    MODEL_ID,
    Reply,
    completion,
    completion_chunks,
    completion_id,
    error_body,
    error_type,
    models_list,
    render_reply,
    text_of,
)

router = APIRouter(prefix="/v1", tags=["openai"])

OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")


def is_openai_path(path: str) -> bool:
    """The paths whose errors are in OpenAI's shape (the two endpoints and ``/v1/models/{id}``)."""
    return path in OPENAI_PATHS or path.startswith("/v1/models/")


_STARTED = int(time.time())


class OpenAIErrorDetail(BaseModel):
    """OpenAI's error fields; `code` and `message` are the service's own."""

    message: str
    type: str = Field(examples=["invalid_request_error"])
    param: str | None = Field(examples=["messages"])
    code: str | None = Field(examples=["empty_question"])


class OpenAIErrorOut(BaseModel):
    """An error of the OpenAI-compatible endpoints."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "message": "The question is empty; send some text to search for.",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": "empty_question",
                    }
                }
            ]
        }
    )

    error: OpenAIErrorDetail


_DOC_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorOut, "description": text}
    for status, text in (
        (400, "Bad request (OpenAI error shape)"),
        (401, "Missing or wrong API key"),
        (404, "Unknown model"),
        (413, "Body too large"),
        (429, "Rate limited"),
        (503, "Index not loaded"),
    )
}


class ChatMessage(BaseModel):
    """One message of the conversation (other fields, such as ``name``, are ignored)."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat request; parameters that change nothing here are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=[MODEL_ID])
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool | None = False
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    modalities: list[str] | None = None


class OpenAIError(Exception):
    """A refusal in OpenAI's shape."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def response(self) -> JSONResponse:
        """The error as a JSON response."""
        return JSONResponse(
            error_body(self.message, error_type(self.status), self.code, self.param), status_code=self.status
        )


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (OpenAPI cannot resolve ``#/$defs/…``)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    result: dict[str, Any] = walk(schema)
    return result


_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(ChatCompletionRequest.model_json_schema())}},
    }
}


def _refuse_unsupported(request: ChatCompletionRequest) -> None:
    """Refuse what docqa cannot honour (several choices, tools, JSON output, logprobs, audio)."""
    refusals: list[tuple[bool, str, str]] = [
        (request.n not in (None, 1), "n", "Only one choice is returned; send n=1 or leave it out."),
        (bool(request.tools), "tools", "docqa answers from its documents and calls no tools."),
        (bool(request.functions), "functions", "docqa answers from its documents and calls no functions."),
        (
            request.tool_choice not in (None, "none", "auto"),
            "tool_choice",
            "docqa calls no tools; leave tool_choice out.",
        ),
        (
            (request.response_format or {}).get("type", "text") != "text",
            "response_format",
            "Only text replies are available; the structured answer is in the `docqa` field.",
        ),
        (bool(request.logprobs), "logprobs", "Log probabilities are not available."),
        (
            any(m != "text" for m in request.modalities or []),
            "modalities",
            "Only text is available.",
        ),
    ]
    for refused, param, message in refusals:
        if refused:
            raise OpenAIError(400, message, "unsupported_parameter", param)
    if request.model != MODEL_ID:
        raise OpenAIError(
            404, f"The model {request.model!r} does not exist; use {MODEL_ID!r}.", "model_not_found", "model"
        )


def _parse(raw: bytes) -> ChatCompletionRequest:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OpenAIError(400, f"The request body is not valid JSON: {exc}.", "invalid_json") from exc
    try:
        request = ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        message = f"Invalid request: {param or 'body'}: {first['msg']}."
        raise OpenAIError(400, message, "invalid_request", param) from exc
    _refuse_unsupported(request)
    return request


def conversation(messages: list[ChatMessage]) -> tuple[list[str], str]:
    """The earlier user messages and the last one, which is the question.

    System, developer, assistant and tool messages don't change the answer: the earlier turns
    are re-derived from the user's own messages, as `/v1/chat` would have resolved them.

    Raises:
        OpenAIError: The last message is not the user's.
    """
    if messages[-1].role != "user":
        raise OpenAIError(
            400, "The last message must be the user's question (role 'user').", "invalid_request", "messages"
        )
    users = [text_of(m.content) for m in messages if m.role == "user"]
    return users[:-1], users[-1]


@router.get("/models", responses=_DOC_ERRORS)
async def list_models() -> JSONResponse:
    """List the one model, `docqa` (what OpenAI-compatible clients offer in their model picker)."""
    return JSONResponse(models_list(_STARTED))


_MODEL_ID_PARAM = {
    "parameters": [
        {
            "name": "model_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "example": MODEL_ID,
        }
    ]
}


@router.get("/models/{model_id}", responses=_DOC_ERRORS, openapi_extra=_MODEL_ID_PARAM)
async def get_model(request: Request) -> JSONResponse:
    """Describe the model `docqa` (any other id is a 404 `model_not_found`)."""
    # Read from the path, not a typed parameter: there is nothing to validate, so no 422 to document.
    model_id = request.path_params["model_id"]
    if model_id != MODEL_ID:
        message = f"The model {model_id!r} does not exist; use {MODEL_ID!r}."
        return OpenAIError(404, message, "model_not_found", "model").response()
    return JSONResponse(models_list(_STARTED)["data"][0])


@router.post("/chat/completions", response_model=None, responses=_DOC_ERRORS, openapi_extra=_REQUEST_BODY)
async def chat_completions(
    request: Request, chat: ChatDep, settings: SettingsDep, metrics: MetricsDep, links: LinksDep
) -> JSONResponse | StreamingResponse:
    """Answer the conversation's last user message in OpenAI's chat-completion format.

    Send `{"model": "docqa", "messages": [...], "stream": false}`. The reply's
    `choices[0].message.content` is the answer with `[n]` markers and a "Sources:" list,
    `message.annotations` one `url_citation` per source (its indexes slice the marker out of
    the content), and `docqa` the full QueryResponse plus `resolved_question`. With
    `"stream": true` the same content arrives as `chat.completion.chunk` Server-Sent Events
    ending with `data: [DONE]`. `n>1`, `tools`, `functions`, `tool_choice`, non-text
    `response_format`, `logprobs` and audio are refused (400); sampling parameters are ignored.
    """
    try:
        parsed = _parse(await request.body())
        earlier, question = conversation(parsed.messages)
        extension, reply = await _answer(chat, metrics, earlier, question, settings.public_url, links)
    except OpenAIError as exc:
        return exc.response()
    cid = completion_id()
    if parsed.stream:
        return StreamingResponse(
            _sse(completion_chunks(reply, extension, cid)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONResponse(completion(reply, extension, cid))


async def _answer(
    chat: ChatService, metrics: Metrics, earlier: list[str], question: str, base: str, links: ViewerLinks
) -> tuple[dict[str, Any], Reply]:
    started = time.perf_counter()
    try:
        reply = await run_in_threadpool(chat.chat_history, earlier, question)
    except QAError as exc:
        # OpenAI answers every bad request with a 400; the service's code says which one.
        status = 400 if 400 <= exc.status < 500 else exc.status
        raise OpenAIError(status, exc.message, exc.code, "messages" if status == 400 else None) from exc
    result = reply.result
    metrics.observe_answer(
        "chat_completions", time.perf_counter() - started, result.abstained, bool(result.clarifications)
    )
    # Viewer links signed before the reply is rendered, so annotations and the extension agree.
    extension = links.sign_body({**result.to_dict(), "resolved_question": reply.resolved_question})
    return extension, render_reply(extension, base)


async def _sse(chunks: Iterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    yield b"data: [DONE]\n\n"


class OpenAIErrorShape:
    """Give every error on the OpenAI paths OpenAI's ``type`` and ``param`` fields.

    The 401 and 429 of the guards, the 413 of the body limit and the service's 404/405/500 are
    written in the service's ``{"error": {"code", "message"}}`` shape before they get here; the
    fields are added so OpenAI clients parse them like OpenAI's own errors.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_openai_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def send_shaped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_shaped(send, start, bytes(body))

        await self.app(scope, receive, send_shaped)


async def _send_shaped(send: Send, start: Message, body: bytes) -> None:
    try:
        data = json.loads(body)
        error = data["error"]
        error.setdefault("type", error_type(start["status"]))
        error.setdefault("param", None)
        body = json.dumps(data).encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # not the service's JSON error: leave it as it is
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
