"""The served process runs the model on ONNX Runtime and never loads torch (issue 12)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live_server import ServerURL


def test_the_service_answers_without_loading_torch(server_url: ServerURL, client: httpx.Client) -> None:
    response = client.post("/v1/query", json={"question": "Who reports to the COO?"})
    assert response.status_code == 200
    assert "Department heads and managers" in response.json()["answer"]["text"]
    libraries = Path(f"/proc/{server_url.pid}/maps").read_text(encoding="utf-8")
    assert "onnxruntime" in libraries
    assert "libtorch" not in libraries
