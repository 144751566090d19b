"""Smoke: the real server answers the README question over HTTP."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_query_answers_readme_question_over_http(client: httpx.Client) -> None:
    response = client.post("/v1/query", json={"question": "Who reports to the COO?"})
    assert response.status_code == 200
    body = response.json()
    assert body["abstained"] is False
    assert "Department heads and managers" in body["answer"]["text"]
    assert response.headers["x-request-id"]


def test_readyz_is_ready_and_healthz_alive(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
