"""The MCP server, driven with the official `mcp` client over stdio (`python -m service mcp`) and
over streamable HTTP (`/mcp` of the live service).

Each transport runs one conversation with the server (spawning the stdio server loads the model
once); the tests below check what it returned.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.live_server import REPO_ROOT, ServerURL, live_server

pytestmark = pytest.mark.integration

PUBLIC = "http://localhost:8000"
KEYS = ("mcp-key-1", "mcp-key-2")
RATE = 30
BAD_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "ask_top_k_zero": ("ask", {"question": "Who reports to the COO?", "top_k": 0}),
    "ask_empty": ("ask", {"question": "   "}),
    "ask_missing_question": ("ask", {}),
    "search_wrong_type": ("search", {"query": "COO", "top_k": "many"}),
    "unknown_document": ("get_document", {"doc_id": "no-such-doc"}),
    "path_like_document": ("get_document", {"doc_id": "../etc/passwd"}),
    "reversed_span": ("get_document", {"doc_id": "cco-vs-cro", "start": 50, "end": 10}),
    "span_past_end": ("get_document", {"doc_id": "cco-vs-cro", "start": 0, "end": 10**9}),
}


async def _converse(target: Any) -> dict[str, Any]:
    """List tools and resources, call every tool, and make each bad call, in one session."""
    out: dict[str, Any] = {}
    async with Client(target, read_timeout_seconds=120) as client:
        out["tools"] = (await client.list_tools()).tools
        out["search"] = await client.call_tool("search", {"query": "fractional COO", "top_k": 3})
        out["ask"] = await client.call_tool("ask", {"question": "Who reports to the COO?"})
        out["ask_abstain"] = await client.call_tool(
            "ask", {"question": "What is the boiling point of mercury?"}
        )
        out["ask_cco"] = await client.call_tool("ask", {"question": "What does CCO stand for?"})
        out["document"] = await client.call_tool("get_document", {"doc_id": "cco-vs-cro"})
        out["span"] = await client.call_tool("get_document", {"doc_id": "cco-vs-cro", "start": 9, "end": 52})
        for name, (tool, arguments) in BAD_CALLS.items():
            out[name] = await client.call_tool(tool, arguments)
        out["after_errors"] = await client.call_tool("search", {"query": "COO", "top_k": 1})
        out["resources"] = (await client.list_resources()).resources
        out["read"] = await client.read_resource("docqa://documents/cco-vs-cro")
    return out


@pytest.fixture(scope="module", params=["stdio", "http"])
def talk(request: pytest.FixtureRequest, built_index_dir: Path, corpus_dir: Path) -> dict[str, Any]:
    if request.param == "http":
        server_url: ServerURL = request.getfixturevalue("server_url")
        return asyncio.run(_converse(f"{server_url}/mcp"))
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service", "mcp", "--index", str(built_index_dir), "--corpus", str(corpus_dir)],
        env={"PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        cwd=str(REPO_ROOT),
    )
    return asyncio.run(_converse(params))


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def test_tools_are_listed_with_schemas(talk: dict[str, Any]) -> None:
    tools = {tool.name: tool for tool in talk["tools"]}
    assert set(tools) == {"search", "ask", "get_document"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["get_document"].input_schema["required"] == ["doc_id"]
    assert all(tool.annotations.read_only_hint for tool in tools.values())


def test_search_returns_passages_with_viewer_links(talk: dict[str, Any]) -> None:
    result = talk["search"]
    assert not result.is_error
    passages = result.structured_content["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert any("part-time Chief Operating Officer" in p["text"] for p in passages)
    for p in passages:
        assert p["url"] == f"{PUBLIC}/documents/{p['doc_id']}?start={p['start']}&end={p['end']}"
        assert p["url"] in _text(result)


def test_ask_returns_the_cited_answer(talk: dict[str, Any]) -> None:
    result = talk["ask"]
    body = result.structured_content
    assert not result.is_error and body["abstained"] is False and 0 <= body["confidence"] <= 1
    assert body["answer"]["text"] == "Department heads and managers typically report to the COO."
    text = _text(result)
    assert text.startswith("Department heads and managers typically report to the COO. [1]")
    assert "Sources:\n[1] " in text
    answer = body["answer"]
    assert body["citations"][0]["url"] == (
        f"{PUBLIC}/documents/{answer['doc_id']}?start={answer['start']}&end={answer['end']}"
    )


def test_ask_abstains_and_clarifies(talk: dict[str, Any]) -> None:
    abstained = talk["ask_abstain"]
    assert abstained.structured_content["abstained"] is True
    assert _text(abstained).startswith("The documents don't answer this.")
    cco = talk["ask_cco"]
    assert [c["term"] for c in cco.structured_content["clarifications"]] == ["CCO"]
    assert "CCO means different things in these documents" in _text(cco)


def test_get_document_reads_a_document_or_a_span(talk: dict[str, Any], index: Any) -> None:
    full = talk["document"].structured_content
    text = index.document("cco-vs-cro").text
    assert full["text"] == text and full["chars"] == len(text) and full["more"] is False
    span = talk["span"]
    assert _text(span) == text[9:52] == "What is the difference between CCO and CRO?"
    assert span.structured_content["url"] == f"{PUBLIC}/documents/cco-vs-cro?start=9&end=52"


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_arguments_are_tool_errors_not_crashes(talk: dict[str, Any], name: str) -> None:
    result = talk[name]
    assert result.is_error
    message = _text(result)
    assert message and "Traceback" not in message
    assert not talk["after_errors"].is_error, "the server keeps answering after the errors"


def test_bad_argument_messages_say_what_is_wrong(talk: dict[str, Any]) -> None:
    assert "top_k" in _text(talk["ask_top_k_zero"])
    assert "no-such-doc" in _text(talk["unknown_document"])
    assert "start <= end" in _text(talk["reversed_span"])
    assert "empty" in _text(talk["ask_empty"])


def test_documents_are_listed_as_resources(talk: dict[str, Any], index: Any) -> None:
    uris = {str(resource.uri) for resource in talk["resources"]}
    assert uris == {f"docqa://documents/{doc_id}" for doc_id in index.documents}
    assert talk["read"].contents[0].text == index.document("cco-vs-cro").text


# -- keys and rate limit on /mcp -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(service_env: dict[str, str]) -> Iterator[ServerURL]:
    env = service_env | {"DOCQA_API_KEYS": ",".join(KEYS), "DOCQA_RATE_LIMIT_PER_MINUTE": str(RATE)}
    with live_server(env) as url:
        yield url


_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
_ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEYS[0]}])
def test_mcp_needs_a_key_when_keys_are_set(keyed: ServerURL, headers: dict[str, str]) -> None:
    response = httpx.post(f"{keyed}/mcp", json=_INITIALIZE, headers=_ACCEPT | headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_mcp_client_with_a_key_is_served(keyed: ServerURL) -> None:
    async def tools() -> list[str]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEYS[0]}"}, timeout=120) as http:
            async with Client(streamable_http_client(f"{keyed}/mcp", http_client=http)) as client:
                return [tool.name for tool in (await client.list_tools()).tools]

    assert sorted(asyncio.run(tools())) == ["ask", "get_document", "search"]


def test_mcp_is_rate_limited(keyed: ServerURL) -> None:
    auth = {"Authorization": f"Bearer {KEYS[1]}"}  # a key of its own
    for _ in range(RATE):
        httpx.get(f"{keyed}/v1/documents", headers=auth, timeout=30).raise_for_status()
    response = httpx.post(f"{keyed}/mcp", json=_INITIALIZE, headers=_ACCEPT | auth)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited" and response.headers["retry-after"]


def test_stdio_server_keeps_stdout_for_the_protocol(built_index_dir: Path, corpus_dir: Path) -> None:
    """`docqa mcp` writes nothing but JSON-RPC to stdout: an initialize gets exactly one JSON line."""
    import json
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "mcp",
            "--index",
            str(built_index_dir),
            "--corpus",
            str(corpus_dir),
        ],
        input=json.dumps(_INITIALIZE) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=180,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    reply = json.loads(lines[0])
    assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "docqa"
    assert "serving MCP over stdio" in proc.stderr


def test_mcp_links_open_the_protected_viewer(keyed: ServerURL) -> None:
    """With API keys set the viewer is protected: search and ask give signed links that open it."""

    async def links() -> list[str]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEYS[0]}"}, timeout=120) as http:
            async with Client(streamable_http_client(f"{keyed}/mcp", http_client=http)) as client:
                found = await client.call_tool("search", {"query": "Who reports to the COO?", "top_k": 1})
                asked = await client.call_tool("ask", {"question": "Who reports to the COO?"})
        assert found.structured_content is not None and asked.structured_content is not None
        return [
            found.structured_content["passages"][0]["url"],
            asked.structured_content["citations"][0]["url"],
        ]

    for link in asyncio.run(links()):
        parts = urlsplit(link)
        assert "sig=" in parts.query
        assert httpx.get(f"{keyed}{parts.path}?{parts.query}", timeout=30).status_code == 200
