"""Hostile question text and the published limits (issue 11, items 1 and 12), on the real server.

Bodies are sent as raw JSON text, so `\\ud800` reaches the server exactly as the probe sent it.
The OpenAPI document is read from the live server and every limit it states is tried at its
boundary: the schema says what the service enforces.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from index.question import NON_BLANK_PATTERN
from service.cli import cli
from tests.live_server import ServerURL, live_server

pytestmark = pytest.mark.integration

QUESTION = "Who reports to the COO?"
# (raw JSON string literal, as it appears in the body) -> expected error code
SURROGATES = {
    r"Who reports \ud800 to the COO?": "invalid_text",
    r"\udfff": "invalid_text",
    r"Who reports to the COO?\udc80": "invalid_text",
    r"\udc00\ud800 reversed pair": "invalid_text",
    r"high at the end \udbff": "invalid_text",
}
# White space to Python, to ECMA-262 (JSON Schema's `pattern`), or both: all refused alike.
BLANKS = ["", " ", "\\u001c", "\\u0085", "\\ufeff", "\\u2028\\u3000", " \\t\\n\\u00a0 "]


def _post(client: httpx.Client, path: str, raw: str) -> httpx.Response:
    return client.post(path, content=raw.encode("ascii"), headers={"content-type": "application/json"})


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body


@pytest.mark.parametrize("text", list(SURROGATES), ids=range(len(SURROGATES)))
@pytest.mark.parametrize(("path", "field"), [("/v1/query", "question"), ("/v1/chat", "message")])
def test_lone_surrogates_are_refused_with_422_not_500(
    client: httpx.Client, path: str, field: str, text: str
) -> None:
    body = _error(_post(client, path, f'{{"{field}": "{text}"}}'), 422, SURROGATES[text])
    assert "surrogate" in body["error"]["message"] and "U+D" in body["error"]["message"]


@pytest.mark.parametrize(("path", "field"), [("/v1/query", "question"), ("/v1/chat", "message")])
def test_a_proper_surrogate_pair_is_text(client: httpx.Client, path: str, field: str) -> None:
    response = _post(client, path, f'{{"{field}": "Who reports to the COO? \\ud83d\\ude00"}}')
    assert response.status_code == 200, response.text
    assert response.json()["question"] == "Who reports to the COO? \U0001f600"


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize(("path", "field"), [("/v1/query", "question"), ("/v1/chat", "message")])
def test_blank_questions_are_refused_as_the_schema_pattern_says(
    client: httpx.Client, path: str, field: str, blank: str
) -> None:
    _error(_post(client, path, f'{{"{field}": "{blank}"}}'), 422, "empty_question")


def _ecma_white_space() -> set[str]:
    """ECMA-262's WhiteSpace and LineTerminator: what `\\s` means in a JSON Schema pattern."""
    zs = {chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs"}
    return zs | set("\t\n\x0b\x0c\r\u2028\u2029\ufeff")


def test_the_published_pattern_means_the_same_in_python_and_json_schema() -> None:
    """A character is blank to the pattern exactly when it is white space to Python or to ECMA."""
    pattern = re.compile(NON_BLANK_PATTERN)
    ecma = _ecma_white_space()
    for code in range(0x3001):
        char = chr(code)
        blank = char.isspace() or char in ecma
        assert (pattern.search(char) is None) == blank, hex(code)
    assert pattern.search("\ufeff") is None


@pytest.fixture(scope="module")
def openapi(client_module: httpx.Client) -> dict[str, Any]:
    spec: dict[str, Any] = client_module.get("/openapi.json").json()
    return spec


@pytest.fixture(scope="module")
def client_module(server_url: ServerURL) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=60.0) as http:
        yield http


def _prop(spec: dict[str, Any], component: str, name: str) -> dict[str, Any]:
    prop: dict[str, Any] = spec["components"]["schemas"][component]["properties"][name]
    return prop


@pytest.mark.parametrize(
    ("component", "field", "path"),
    [("QueryRequest", "question", "/v1/query"), ("ChatRequest", "message", "/v1/chat")],
)
def test_openapi_question_limits_are_the_enforced_ones(
    openapi: dict[str, Any], client: httpx.Client, component: str, field: str, path: str
) -> None:
    prop = _prop(openapi, component, field)
    assert prop["minLength"] == 1 and prop["maxLength"] == 4000 and prop["pattern"] == NON_BLANK_PATTERN
    longest = QUESTION + " " + "x" * (prop["maxLength"] - len(QUESTION) - 1)
    assert len(longest) == prop["maxLength"]
    assert client.post(path, json={field: longest}).status_code == 200
    _error(client.post(path, json={field: longest + "x"}), 422, "question_too_long")
    _error(client.post(path, json={field: "x" * (prop["minLength"] - 1)}), 422, "empty_question")


@pytest.mark.parametrize(
    ("component", "field", "path"),
    [("QueryRequest", "question", "/v1/query"), ("ChatRequest", "message", "/v1/chat")],
)
def test_openapi_top_k_bounds_are_the_enforced_ones(
    openapi: dict[str, Any], client: httpx.Client, component: str, field: str, path: str
) -> None:
    top_k = _prop(openapi, component, "top_k")
    assert top_k["type"] == "integer" and (top_k["minimum"], top_k["maximum"]) == (1, 50)
    assert isinstance(top_k["minimum"], int) and isinstance(top_k["maximum"], int)
    for ok in (top_k["minimum"], top_k["maximum"]):
        assert client.post(path, json={field: QUESTION, "top_k": ok}).status_code == 200
    for bad in (top_k["minimum"] - 1, top_k["maximum"] + 1, 2.5, "5", True, None):
        _error(client.post(path, json={field: QUESTION, "top_k": bad}), 422, "invalid_request")


@pytest.mark.parametrize(("path", "field"), [("/v1/query", "question"), ("/v1/chat", "message")])
@pytest.mark.parametrize("raw", ["6.0", "6.00", "6e0", "0.6e1"])
def test_integer_valued_floats_count_as_integers_as_json_schema_says(
    client: httpx.Client, path: str, field: str, raw: str
) -> None:
    """JSON Schema's `integer` matches any number with a zero fractional part (6.0 is one)."""
    response = _post(client, path, f'{{"{field}": "What does a CCO do?", "top_k": {raw}}}')
    assert response.status_code == 200, response.text
    assert len(response.json()["passages"]) <= 6
    _error(_post(client, path, f'{{"{field}": "COO?", "top_k": 50.0000001}}'), 422, "invalid_request")
    _error(_post(client, path, f'{{"{field}": "COO?", "top_k": 51.0}}'), 422, "invalid_request")


def test_viewer_errors_are_documented_and_sent_as_json(openapi: dict[str, Any], client: httpx.Client) -> None:
    responses = openapi["paths"]["/documents/{doc_id}"]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["text/html"]
    for status in ("400", "404", "422"):
        assert list(responses[status]["content"]) == ["application/json"], status
    for url, status, code in [
        ("/documents/no-such-doc", 404, "unknown_document"),
        ("/documents/cco-vs-cro?start=5", 400, "invalid_range"),
        ("/documents/cco-vs-cro?start=-1&end=4", 422, "invalid_request"),
    ]:
        _error(client.get(url), status, code)
    for path, item in openapi["paths"].items():  # no error of any route is documented as non-JSON
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    assert set(response.get("content", {})) <= {"application/json"}, (path, status)


def test_a_configured_question_limit_is_the_published_one(
    service_env: dict[str, str], built_index_dir: Path
) -> None:
    with live_server({**service_env, "DOCQA_MAX_QUESTION_CHARS": "40"}) as url:
        spec = httpx.get(f"{url}/openapi.json").json()
        assert _prop(spec, "QueryRequest", "question")["maxLength"] == 40
        assert _prop(spec, "ChatRequest", "message")["maxLength"] == 40
        assert (
            httpx.post(f"{url}/v1/query", json={"question": QUESTION.ljust(40, "?")}, timeout=60).status_code
            == 200
        )
        _error(
            httpx.post(f"{url}/v1/query", json={"question": QUESTION.ljust(41, "?")}),
            422,
            "question_too_long",
        )


def test_docqa_ask_refuses_a_lone_surrogate_cleanly(built_index_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["ask", "Who reports \ud800 to the COO?", "--index", str(built_index_dir)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "lone UTF-16 surrogate (U+D800" in result.stderr


def test_docqa_ask_refuses_an_argument_that_is_not_utf8(built_index_dir: Path) -> None:
    """Python decodes argument bytes that are not UTF-8 to lone surrogates (U+DC80-U+DCFF)."""
    out = subprocess.run(
        [sys.executable.encode(), b"-m", b"service", b"ask", b"Who reports \xff to the COO?", b"--index"]
        + [str(built_index_dir).encode()],
        capture_output=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    stderr = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 1 and out.stdout == b""
    assert "U+DCFF" in stderr and "Traceback" not in stderr


def test_docqa_eval_refuses_a_question_file_with_a_lone_surrogate(
    built_index_dir: Path, tmp_path: Path
) -> None:
    questions = tmp_path / "bad.jsonl"
    questions.write_text(
        '{"kind": "fact", "question": "Who reports to the COO?", "expect_any": ["COO"]}\n'
        '{"kind": "chat", "turns": ["What is a CCO?", "And \\udc80?"], "expect_any": ["CCO"]}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["eval", str(questions), "--index", str(built_index_dir)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "bad.jsonl:2" in result.stderr and "surrogate (U+DC80" in result.stderr
