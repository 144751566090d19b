"""Contract tests of the HTTP API against the real server: every field, invariant and status code."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.schemas import ChatResponse, DocumentOut, DocumentSummary, QueryResponse
from tests.live_server import ServerURL

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
DOC_IDS = {"cco-vs-coo", "cco-vs-cro", "customer-officer-vs-coo", "what-does-a-cco-do"}
MARKUP = ("**", "](", "{{<", "| --- |")
# In the source this sentence is hard-wrapped after "optional"; `display` joins it.
WRAPPED_SENTENCE = "Every lease runs for twelve months and ends with an optional purchase at a small fee."


def _document_text(client: httpx.Client, doc_id: str) -> str:
    response = client.get(f"/v1/documents/{doc_id}")
    assert response.status_code == 200
    return str(response.json()["text"])


def _assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.text


# -- POST /v1/query ------------------------------------------------------------------------------


def test_query_response_has_every_contract_field_and_invariant(client: httpx.Client) -> None:
    response = client.post("/v1/query", json={"question": "Who reports to the COO?", "top_k": 5})
    assert response.status_code == 200
    body = response.json()
    QueryResponse.model_validate(body)
    assert body["question"] == "Who reports to the COO?"
    assert body["abstained"] is False
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["clarifications"] == []
    passages = body["passages"]
    assert 1 <= len(passages) <= 5
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    texts: dict[str, str] = {}
    for p in passages:
        assert p["doc_id"] in DOC_IDS
        text = texts.setdefault(p["doc_id"], _document_text(client, p["doc_id"]))
        assert text[p["start"] : p["end"]] == p["text"]
        assert p["display"].strip()
        assert p["url"] == f"/documents/{p['doc_id']}?start={p['start']}&end={p['end']}"
        assert p["source"].endswith(".txt") and p["title"]
    answer = body["answer"]
    assert "Department heads and managers" in answer["text"]
    doc_text = texts.get(answer["doc_id"]) or _document_text(client, answer["doc_id"])
    assert doc_text[answer["start"] : answer["end"]] == answer["text"]
    assert answer["display"] == " ".join(answer["text"].split())  # plain text: only whitespace differs
    assert 1 <= answer["passage_rank"] <= len(passages)
    # The answer's passage leads (passages are re-ordered by what the answer stage found in them)
    # and holds the answer; scores stay non-increasing down the list.
    home = passages[answer["passage_rank"] - 1]
    assert answer["passage_rank"] == 1
    assert (
        home["doc_id"] == answer["doc_id"]
        and home["start"] <= answer["start"] <= answer["end"] <= home["end"]
    )
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)


@pytest.fixture
def markdown_client(markdown_server_url: str) -> Iterator[httpx.Client]:
    """A client of the real server over the small Markdown corpus (bold, links, a shortcode, a table)."""
    with httpx.Client(base_url=markdown_server_url, timeout=60.0) as http:
        yield http


def _assert_readable(shown: str) -> None:
    assert shown.strip()
    for mark in MARKUP:
        assert mark not in shown, (mark, shown)


def test_markdown_spans_carry_verbatim_text_and_readable_display(markdown_client: httpx.Client) -> None:
    response = markdown_client.post(
        "/v1/query", json={"question": "How long does a bicycle lease run?", "top_k": 5}
    )
    assert response.status_code == 200
    body = response.json()
    QueryResponse.model_validate(body)
    answer = body["answer"]
    assert answer["display"] == WRAPPED_SENTENCE
    assert "\n" in answer["text"] and " ".join(answer["text"].split()) == WRAPPED_SENTENCE
    raw = "\n".join(p["text"] for p in body["passages"])
    assert all(mark in raw for mark in MARKUP)  # the corpus really has every kind of markup...
    for p in body["passages"]:
        doc = _document_text(markdown_client, p["doc_id"])
        assert doc[p["start"] : p["end"]] == p["text"]  # ...`text` stays verbatim for citations
        _assert_readable(p["display"])  # ...and `display` has none of it
    lines = [line for p in body["passages"] for line in p["display"].split("\n")]
    assert any(WRAPPED_SENTENCE in line for line in lines)
    assert "Bike type: Cargo bike · Monthly limit: 150 euros" in lines
    assert "• Helmets and locks count as accessories." in lines
    assert "Applications close on the last Friday of each quarter." in lines


def test_markdown_answer_display_drops_bold_and_links(markdown_client: httpx.Client) -> None:
    body = markdown_client.post("/v1/chat", json={"message": "When should I not open the kiln?"}).json()
    ChatResponse.model_validate(body)
    answer = body["answer"]
    assert "**200 degrees**" in answer["text"] and "](https://x.example/kiln)" in answer["text"]
    assert answer["display"] == "Never open the kiln above 200 degrees; see the safety sheet for details."
    for p in body["passages"]:
        _assert_readable(p["display"])


def test_top_k_limits_the_passages(client: httpx.Client) -> None:
    body = client.post("/v1/query", json={"question": "What does a COO do?", "top_k": 2}).json()
    assert len(body["passages"]) == 2
    assert len(client.post("/v1/query", json={"question": "What does a COO do?"}).json()["passages"]) == 5


def test_off_topic_question_abstains_with_null_answer(client: httpx.Client) -> None:
    body = client.post("/v1/query", json={"question": "What is the capital of France?"}).json()
    QueryResponse.model_validate(body)
    assert body["abstained"] is True
    assert body["answer"] is None


def test_ambiguous_acronym_lists_both_meanings(client: httpx.Client) -> None:
    body = client.post("/v1/query", json={"question": "What does CCO stand for?"}).json()
    [clarification] = [c for c in body["clarifications"] if c["term"] == "CCO"]
    expansions = {m["expansion"]: set(m["doc_ids"]) for m in clarification["meanings"]}
    assert expansions["Chief Customer Officer"] == {"customer-officer-vs-coo"}
    assert "cco-vs-coo" in expansions["Chief Commercial Officer"]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        ('{"question": "Who reports', 400, "invalid_json"),
        ("not json at all", 400, "invalid_json"),
        ("[]", 422, "invalid_request"),
        ('"Who reports to the COO?"', 422, "invalid_request"),
        ("{}", 422, "invalid_request"),
        ('{"question": null}', 422, "invalid_request"),
        ('{"question": 42}', 422, "invalid_request"),
        ('{"question": ["a"]}', 422, "invalid_request"),
        ('{"question": ""}', 422, "empty_question"),
        ('{"question": "   \\n\\t "}', 422, "empty_question"),
        ('{"question": "COO?", "top_k": 0}', 422, "invalid_request"),
        ('{"question": "COO?", "top_k": 51}', 422, "invalid_request"),
        ('{"question": "COO?", "top_k": -3}', 422, "invalid_request"),
        ('{"question": "COO?", "top_k": "5"}', 422, "invalid_request"),
        ('{"question": "COO?", "top_k": 2.5}', 422, "invalid_request"),
        ('{"question": "COO?", "top_k": true}', 422, "invalid_request"),
    ],
)
def test_bad_query_bodies_get_json_4xx(client: httpx.Client, content: str, status: int, code: str) -> None:
    response = client.post("/v1/query", content=content, headers={"content-type": "application/json"})
    _assert_error(response, status, code)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_json_sent_as_another_media_type_is_415(client: httpx.Client, content_type: str) -> None:
    response = client.post(
        "/v1/query", content='{"question": "Who reports to the COO?"}', headers={"content-type": content_type}
    )
    _assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in response.json()["error"]["message"]


def test_validation_error_names_the_field(client: httpx.Client) -> None:
    response = client.post("/v1/query", json={"question": "COO?", "top_k": 99})
    _assert_error(response, 422, "invalid_request")
    assert "top_k" in response.json()["error"]["message"]


def test_question_length_limit(client: httpx.Client) -> None:
    ok = client.post("/v1/query", json={"question": "Who reports to the COO? " + "x" * 3970})
    assert ok.status_code == 200
    _assert_error(client.post("/v1/query", json={"question": "x" * 4001}), 422, "question_too_long")


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    body = json.dumps({"question": "COO?", "padding": "x" * 70_000})
    _assert_error(client.post("/v1/query", content=body), 413, "body_too_large")


def test_chunked_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "COO?", "padding": "'
        for _ in range(20):
            yield b"x" * 8192
        yield b'"}'

    response = client.post("/v1/query", content=chunks(), headers={"content-type": "application/json"})
    _assert_error(response, 413, "body_too_large")


def test_wrong_method_and_unknown_path(client: httpx.Client) -> None:
    _assert_error(client.get("/v1/query"), 405, "method_not_allowed")
    _assert_error(client.get("/v1/nothing-here"), 404, "not_found")


# -- POST /v1/chat -------------------------------------------------------------------------------


def test_chat_issues_a_session_and_returns_resolved_question(client: httpx.Client) -> None:
    body = client.post("/v1/chat", json={"message": "Who reports to the COO?"}).json()
    ChatResponse.model_validate(body)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", body["session_id"])
    assert body["resolved_question"] == "Who reports to the COO?"
    assert body["question"] == "Who reports to the COO?"
    again = client.post("/v1/chat", json={"message": "Who reports to the COO?"}).json()
    assert again["session_id"] != body["session_id"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"message": ""}, "empty_question"),
        ({"message": "  "}, "empty_question"),
        ({"message": "x" * 4001}, "question_too_long"),
        ({}, "invalid_request"),
        ({"message": 3}, "invalid_request"),
        ({"message": "COO?", "session_id": "../../etc/passwd"}, "invalid_request"),
        ({"message": "COO?", "session_id": ""}, "invalid_request"),
        ({"message": "COO?", "session_id": "s" * 129}, "invalid_request"),
        ({"message": "COO?", "top_k": 0}, "invalid_request"),
    ],
)
def test_bad_chat_bodies_get_json_422(client: httpx.Client, payload: dict[str, object], code: str) -> None:
    _assert_error(client.post("/v1/chat", json=payload), 422, code)


# -- documents and the viewer --------------------------------------------------------------------


def test_documents_list_and_fetch(client: httpx.Client) -> None:
    listing = client.get("/v1/documents").json()
    for entry in listing:
        DocumentSummary.model_validate(entry)
    assert {d["doc_id"] for d in listing} == DOC_IDS
    for entry in listing:
        doc = client.get(f"/v1/documents/{entry['doc_id']}").json()
        DocumentOut.model_validate(doc)
        assert len(doc["text"]) == entry["chars"]
        assert (doc["title"], doc["source"]) == (entry["title"], entry["source"])


@pytest.mark.parametrize(
    "doc_id", ["nope", "cco-vs-coo.txt", "...", "..%2f", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "a" * 300]
)
def test_unknown_or_path_like_document_ids_are_404(client: httpx.Client, doc_id: str) -> None:
    _assert_error(client.get(f"/v1/documents/{doc_id}"), 404)
    _assert_error(client.get(f"/documents/{doc_id}"), 404)


class _Marks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.marked: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "mark":
            self.depth += 1
            self.marked.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.marked[-1] += data


def test_every_url_of_a_response_opens_the_viewer_on_that_span(client: httpx.Client) -> None:
    body = client.post("/v1/query", json={"question": "Who reports to the COO?"}).json()
    for url, doc_id, start, end in [
        (p["url"], p["doc_id"], p["start"], p["end"]) for p in body["passages"]
    ] + [(body["answer"]["url"], body["answer"]["doc_id"], body["answer"]["start"], body["answer"]["end"])]:
        page = client.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        parser = _Marks()
        parser.feed(page.text)
        assert parser.marked == [_document_text(client, doc_id)[start:end]]
        assert "scrollIntoView" in page.text
        assert "script-src 'nonce-" in page.headers["content-security-policy"]


def test_viewer_without_offsets_shows_the_whole_document(client: httpx.Client) -> None:
    page = client.get("/documents/cco-vs-cro")
    assert page.status_code == 200
    assert "<mark" not in page.text
    assert "What is the difference between CCO and CRO?" in page.text


@pytest.mark.parametrize(
    "query",
    [
        "start=5",
        "end=5",
        "start=10&end=5",
        "start=5&end=5",
        "start=0&end=999999",
        "start=-1&end=4",
        "start=a&end=4",
    ],
)
def test_bad_viewer_offsets_are_4xx_json(client: httpx.Client, query: str) -> None:
    response = client.get(f"/documents/cco-vs-cro?{query}")
    assert response.status_code in (400, 422)
    _assert_error(response, response.status_code)


# -- operations ----------------------------------------------------------------------------------


def test_request_id_is_echoed_or_issued(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    issued = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", issued)


def test_one_structured_access_log_line_per_request(client: httpx.Client, server_url: ServerURL) -> None:
    rid = "access-log-probe-1"
    client.post("/v1/query", json={"question": ""}, headers={"X-Request-ID": rid})
    # The line is written once the response has gone out, so it may land a moment after we read it.
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in server_url.log().splitlines() if f"request_id={rid}" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lines) == 1
    assert "path=/v1/query" in lines[0] and "status=422" in lines[0] and re.search(r"ms=\d", lines[0])


def test_metrics_expose_query_latency_and_abstentions(client: httpx.Client) -> None:
    client.post("/v1/query", json={"question": "How many legs does a spider have?"})
    text = client.get("/metrics").text
    assert 'docqa_query_latency_seconds_count{endpoint="query"}' in text
    abstained = re.search(r'^docqa_abstentions_total\{endpoint="query"\} (\S+)$', text, re.M)
    assert abstained and float(abstained.group(1)) >= 1
    assert 'docqa_http_requests_total{method="POST",route="/v1/query",status="200"}' in text
    assert "docqa_index_documents 4.0" in text


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return bool(ref and schemas[ref.rsplit("/", 1)[1]].get("examples"))


def test_openapi_documents_every_endpoint_with_examples(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    for path in [
        "/v1/query",
        "/v1/chat",
        "/v1/documents",
        "/v1/documents/{doc_id}",
        "/documents/{doc_id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/admin/reload",
    ]:
        assert path in paths, path
        for method, operation in paths[path].items():
            bodies = operation.get("requestBody", {}).get("content", {}).values()
            assert all(_has_example(media, schemas) for media in bodies), (method, path)
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    assert _has_example(media, schemas), (method, path, status)
    for path in ["/v1/query", "/v1/chat"]:
        assert set(paths[path]["post"]["responses"]) >= {"200", "400", "413", "422", "429", "503"}
    for name in ("PassageOut", "AnswerOut"):
        display = schemas[name]["properties"]["display"]
        assert display["type"] == "string" and display["description"] and display["examples"]
        assert "display" in schemas[name]["required"]
    example = schemas["QueryResponse"]["examples"][0]
    assert example["answer"]["display"] and all(p["display"] for p in example["passages"])
    # Validation errors are documented (and sent) in our shape, never FastAPI's default body.
    assert "HTTPValidationError" not in schemas
    assert client.get("/docs").status_code == 200


def test_readme_curl_line_works_as_written(server_url: ServerURL) -> None:
    lines = [line.strip() for line in README.read_text(encoding="utf-8").splitlines()]
    [line] = [ln for ln in lines if ln.startswith("curl ") and "/v1/query" in ln]
    argv = shlex.split(line)
    port = server_url.rsplit(":", 1)[1]
    argv = [a.replace("localhost:8000", f"localhost:{port}") for a in argv]
    assert any(f"localhost:{port}" in a for a in argv), line
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    body = json.loads(done.stdout)
    QueryResponse.model_validate(body)
    assert "Department heads and managers" in body["answer"]["text"]
