"""`POST /v1/query` (one standalone question) and `POST /v1/chat` (a conversation)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.chat import validate_question
from service.deps import ChatDep, IndexDep, LinksDep, MetricsDep, SettingsDep
from service.schemas import ChatRequest, ChatResponse, QueryRequest, QueryResponse, error_responses

router = APIRouter(prefix="/v1", tags=["questions"])

_ERRORS = error_responses(400, 401, 413, 415, 422, 429, 503)

_QUERY_EXAMPLES: dict[str, Any] = {
    "fact": {"summary": "A question the corpus answers", "value": {"question": "Who reports to the COO?"}},
    "top_k": {
        "summary": "Fewer passages",
        "value": {"question": "What is the primary focus of a chief revenue officer?", "top_k": 3},
    },
    "ambiguous": {
        "summary": "An ambiguous acronym (returns clarifications)",
        "value": {"question": "What does CCO stand for?"},
    },
}
_CHAT_EXAMPLES: dict[str, Any] = {
    "new": {
        "summary": "Start a conversation",
        "value": {"message": "What does a chief revenue officer focus on?"},
    },
    "follow_up": {
        "summary": "A follow-up in the same session",
        "value": {"session_id": "3f2c9a1e5b7d4c0e8a6f1b2d3c4e5f60", "message": "Who do they report to?"},
    },
}


@router.post("/query", response_model=QueryResponse, responses=_ERRORS)
async def query(
    request: Annotated[QueryRequest, Body(openapi_examples=_QUERY_EXAMPLES)],
    index: IndexDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    links: LinksDep,
) -> JSONResponse:
    """Answer one question from the documents, with exact-offset citations.

    `answer` is the sentence that answers it (null when `abstained`); `passages` are the
    supporting spans, best first; `clarifications` lists acronyms that mean different things in
    different documents. Each `url` opens the citation viewer with the span highlighted.
    """
    validate_question(request.question, settings.max_question_chars)
    started = time.perf_counter()
    result = await run_in_threadpool(
        index.query, request.question, request.top_k, max_chars=settings.max_question_chars
    )
    metrics.observe_answer(
        "query", time.perf_counter() - started, result.abstained, bool(result.clarifications)
    )
    return JSONResponse(links.sign_body(result.to_dict()))


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses=error_responses(400, 401, 404, 409, 413, 415, 422, 429, 503),
)
async def chat(
    request: Annotated[ChatRequest, Body(openapi_examples=_CHAT_EXAMPLES)],
    chat_service: ChatDep,
    metrics: MetricsDep,
    links: LinksDep,
) -> JSONResponse:
    """Answer a message of a conversation, resolving follow-ups against the session's turns.

    Omit `session_id` to start a conversation and send the returned one with later messages; an
    id the service did not issue, or one that expired, is refused with 404 `unknown_session`.
    "Who do they report to?" after a question about the chief revenue officer is searched as
    the CRO's reporting line; `resolved_question` shows the standalone question that was searched.
    Answering an offered clarification ("Chief Customer Officer") re-asks with that meaning.
    """
    started = time.perf_counter()
    reply = await run_in_threadpool(chat_service.chat, request.session_id, request.message, request.top_k)
    metrics.observe_answer(
        "chat", time.perf_counter() - started, reply.result.abstained, bool(reply.result.clarifications)
    )
    metrics.sessions.set(await run_in_threadpool(chat_service.sessions.count))
    return JSONResponse(links.sign_body(reply.to_dict()))
