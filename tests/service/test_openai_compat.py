"""`POST /v1/chat/completions` and `GET /v1/models`, driven with the official `openai` client.

The session's live server answers from the demo corpus; a second server has API keys and a rate
limit. Nothing is stood in for: the client speaks HTTP to uvicorn, which answers from a real index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest

from index import Index
from service.chat import ChatService
from service.config import Settings
from service.openai_format import render_reply
from tests.live_server import ServerURL, live_server

pytestmark = pytest.mark.integration

PUBLIC = "http://localhost:8000"  # DOCQA_PUBLIC_URL's default: the base of the viewer links
KEYS = ("oa-key-1", "oa-key-2")
RATE = 30


def _client(base: str, key: str = "unused", **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def oai(server_url: ServerURL) -> openai.OpenAI:
    return _client(server_url)


def _ask(client: openai.OpenAI, *messages: tuple[str, str]) -> Any:
    return client.chat.completions.create(
        model="docqa", messages=[{"role": role, "content": text} for role, text in messages]
    )


def test_models_lists_docqa(oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list()] == ["docqa"]
    assert oai.models.retrieve("docqa").id == "docqa"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("gpt-4o")


def test_cited_answer_has_annotations_that_slice_the_markers(oai: openai.OpenAI) -> None:
    completion = _ask(oai, ("user", "Who reports to the COO?"))
    message = completion.choices[0].message
    content = message.content
    assert completion.object == "chat.completion" and completion.model == "docqa"
    assert completion.choices[0].finish_reason == "stop"
    assert content.startswith("Department heads and managers typically report to the COO. [1]")
    assert "\n\nSources:\n[1] " in content
    assert message.annotations, "every cited source is an annotation"
    for number, annotation in enumerate(message.annotations, start=1):
        cite = annotation.url_citation
        assert annotation.type == "url_citation"
        assert content[cite.start_index : cite.end_index] == f"[{number}]"
        assert cite.url.startswith(f"{PUBLIC}/documents/") and cite.title
    # The extension carries the full QueryResponse; citation [1] is the answer span itself.
    docqa = completion.model_extra["docqa"]
    answer = docqa["answer"]
    assert set(docqa) >= {"question", "answer", "abstained", "confidence", "passages", "clarifications"}
    assert docqa["abstained"] is False and docqa["resolved_question"] == "Who reports to the COO?"
    first = message.annotations[0].url_citation.url
    assert first == f"{PUBLIC}/documents/{answer['doc_id']}?start={answer['start']}&end={answer['end']}"


def test_cited_url_opens_the_viewer_at_the_span(oai: openai.OpenAI, client: httpx.Client) -> None:
    cite = _ask(oai, ("user", "What is a fractional COO?")).choices[0].message.annotations[0].url_citation
    page = client.get(cite.url.removeprefix(PUBLIC))
    assert page.status_code == 200 and 'id="cited"' in page.text


def test_follow_up_is_resolved_from_the_messages_history(oai: openai.OpenAI) -> None:
    completion = _ask(
        oai,
        ("system", "You are a helpful assistant."),
        ("user", "What does a chief revenue officer focus on?"),
        ("assistant", "Revenue growth, sales strategy and marketing ROI. [1]"),
        ("user", "Who do they report to?"),
    )
    docqa = completion.model_extra["docqa"]
    assert docqa["resolved_question"] == "Who does the chief revenue officer report to?"
    assert docqa["question"] == "Who do they report to?"
    assert "CEO" in completion.choices[0].message.content
    alone = _ask(oai, ("user", "Who do they report to?")).model_extra["docqa"]
    assert alone["resolved_question"] == "Who do they report to?"


def test_streamed_reply_reassembles_to_the_non_streamed_one(oai: openai.OpenAI) -> None:
    question = ("user", "What is the primary focus of a chief revenue officer?")
    plain = _ask(oai, question).choices[0].message
    stream = oai.chat.completions.create(
        model="docqa", messages=[{"role": question[0], "content": question[1]}], stream=True
    )
    pieces: list[str] = []
    annotations: list[dict[str, Any]] = []
    finish = None
    extension = None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk" and chunk.model == "docqa"
        choice = chunk.choices[0]
        pieces.append(choice.delta.content or "")
        annotations += (choice.delta.model_extra or {}).get("annotations") or []
        finish = choice.finish_reason or finish
        extension = (chunk.model_extra or {}).get("docqa") or extension
    assert len([p for p in pieces if p]) > 1, "the content arrives in several chunks"
    assert "".join(pieces) == plain.content
    assert annotations == [a.model_dump() for a in plain.annotations]
    assert finish == "stop" and extension is not None and extension["answer"] is not None


def test_stream_is_server_sent_events_ending_with_done(server_url: ServerURL) -> None:
    body = {
        "model": "docqa",
        "stream": True,
        "messages": [{"role": "user", "content": "Who reports to the COO?"}],
    }
    with httpx.stream("POST", f"{server_url}/v1/chat/completions", json=body, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_abstention_says_so_and_names_the_closest_sources(oai: openai.OpenAI) -> None:
    message = _ask(oai, ("user", "What is the boiling point of mercury in Kelvin?")).choices[0].message
    assert message.content.startswith("The documents don't answer this.")
    assert "The closest sources:\n[1] " in message.content
    for annotation in message.annotations:
        cite = annotation.url_citation
        assert cite.title in message.content
        assert message.content[cite.start_index : cite.end_index].startswith("[")


def test_ambiguous_acronym_shows_the_clarification(oai: openai.OpenAI) -> None:
    completion = _ask(oai, ("user", "What does CCO stand for?"))
    content = completion.choices[0].message.content
    assert "CCO means different things in these documents" in content
    assert "Chief Commercial Officer" in content and "Chief Customer Officer" in content
    assert [c["term"] for c in completion.model_extra["docqa"]["clarifications"]] == ["CCO"]
    # Answering the clarification re-asks with that meaning, from the history alone.
    picked = _ask(
        oai,
        ("user", "What does CCO stand for?"),
        ("assistant", content),
        ("user", "Chief Commercial Officer"),
    ).model_extra["docqa"]
    assert "Chief Commercial Officer" in picked["resolved_question"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_unsupported_parameters_are_refused_in_openai_shape(
    oai: openai.OpenAI, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model="docqa", messages=[{"role": "user", "content": "Who reports to the COO?"}], **extra
        )
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == param and error["code"] == "unsupported_parameter"
    assert error["type"] == "invalid_request_error" and error["message"]


def test_ignored_parameters_change_nothing(oai: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "Who reports to the COO?"}]
    plain = oai.chat.completions.create(model="docqa", messages=messages)
    tuned = oai.chat.completions.create(
        model="docqa", messages=messages, temperature=0.2, max_tokens=5, seed=1, user="u", n=1
    )
    assert tuned.choices[0].message.content == plain.choices[0].message.content


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "COO?"}]}, 404, "model_not_found"),
        ({"model": "docqa", "messages": []}, 400, "invalid_request"),
        ({"model": "docqa", "messages": [{"role": "assistant", "content": "Hi"}]}, 400, "invalid_request"),
        ({"model": "docqa", "messages": [{"role": "user", "content": "  "}]}, 400, "empty_question"),
        ({"model": "docqa", "messages": [{"role": "user", "content": "x" * 5000}]}, 400, "question_too_long"),
        ({"messages": [{"role": "user", "content": "COO?"}]}, 400, "invalid_request"),
        ({"model": "docqa", "messages": [{"role": "robot", "content": "COO?"}]}, 400, "invalid_request"),
        # The body limit answers before the route does; the error is reshaped on the way out.
        ({"model": "docqa", "messages": [{"role": "user", "content": "x" * 70_000}]}, 413, "body_too_large"),
    ],
)
def test_bad_requests_get_openai_shaped_errors(
    client: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code


def test_wrong_method_and_json_body_errors_are_openai_shaped(client: httpx.Client) -> None:
    wrong_method = client.get("/v1/chat/completions")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "invalid_request_error"
    not_json = client.post("/v1/chat/completions", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"


def test_text_content_parts_are_read(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="docqa",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Who reports to the COO?"}]}],
    )
    assert completion.model_extra["docqa"]["question"] == "Who reports to the COO?"


def test_markers_are_placed_not_searched_for() -> None:
    """A document's own "[1]" does not move the annotation off the marker that was added."""
    result = {
        "question": "q",
        "answer": {"text": "See note [1] here.", "doc_id": "d", "start": 5, "end": 23, "passage_rank": 1},
        "abstained": False,
        "confidence": 0.9,
        "passages": [{"rank": 1, "doc_id": "d", "title": "T [draft]", "section": "", "start": 0, "end": 40}],
        "clarifications": [],
    }
    reply = render_reply(result, "http://docs.example")
    cite = reply.annotations[0]["url_citation"]
    assert reply.content.startswith("See note [1] here. [1]")
    assert (cite["start_index"], cite["end_index"]) == (19, 22)
    assert "[T (draft)](http://docs.example/documents/d?start=5&end=23)" in reply.content


def test_chat_history_resolves_like_a_session(index: Index, caplog: pytest.LogCaptureFixture) -> None:
    """The stateless path gives what a stored session gives, whether it replays the earlier turns
    or starts from the state the previous request of the conversation left."""
    session_chat, stateless = ChatService(index, Settings()), ChatService(index, Settings())
    turns = ["What does a chief revenue officer focus on?", "Who do they report to?", "and the salary?"]
    first = session_chat.chat(None, turns[0])
    stateless.chat_history([], turns[0])
    for i, message in enumerate(turns[1:], start=1):
        in_session = session_chat.chat(first.session_id, message)
        with caplog.at_level("INFO", logger="service.chat"):
            caplog.clear()
            continued = stateless.chat_history(turns[:i], message)
        assert "replayed=False" in caplog.text
        replayed = ChatService(index, Settings()).chat_history(turns[:i], message)
        for reply in (continued, replayed):
            assert reply.resolved_question == in_session.resolved_question
            assert reply.result.to_dict() == in_session.result.to_dict()
    assert stateless.sessions.count() == len(turns)  # one kept state per request of the conversation


# -- keys and rate limit -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(service_env: dict[str, str]) -> Iterator[ServerURL]:
    env = service_env | {"DOCQA_API_KEYS": ",".join(KEYS), "DOCQA_RATE_LIMIT_PER_MINUTE": str(RATE)}
    with live_server(env) as url:
        yield url


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_key_raises_authentication_error(keyed: ServerURL, key: str | None) -> None:
    client = _client(keyed, key or "unused")
    # With no key, the request carries no Authorization header at all (`omit` drops the client's).
    headers: Any = {} if key else {"Authorization": openai.omit}
    messages: Any = [{"role": "user", "content": "Who reports to the COO?"}]
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="docqa", messages=messages, extra_headers=headers)
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "unauthorized"
    assert caught.value.body["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        client.models.list(extra_headers=headers)


def test_valid_key_is_answered(keyed: ServerURL) -> None:
    completion = _ask(_client(keyed, KEYS[0]), ("user", "Who reports to the COO?"))
    assert completion.choices[0].message.annotations


def test_rate_limit_raises_rate_limit_error(keyed: ServerURL) -> None:
    client = _client(keyed, KEYS[1])  # a key of its own: the other tests don't drain this bucket
    for _ in range(RATE):
        client.models.list()
    with pytest.raises(openai.RateLimitError) as caught:
        _ask(client, ("user", "Who reports to the COO?"))
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "rate_limited"
    assert caught.value.response.headers["retry-after"]


def test_cited_links_open_the_protected_viewer(keyed: ServerURL) -> None:
    """With API keys set the viewer is protected: the door's links carry a signature that opens it."""
    completion = _ask(_client(keyed, KEYS[0]), ("user", "Who reports to the COO?"))
    cited = urlsplit(completion.choices[0].message.annotations[0].url_citation.url)
    assert "sig=" in cited.query and "exp=" in cited.query
    assert httpx.get(f"{keyed}{cited.path}?{cited.query}", timeout=30).status_code == 200
    assert httpx.get(f"{keyed}{cited.path}", timeout=30).status_code == 401  # the bare link does not
