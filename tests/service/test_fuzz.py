"""Schemathesis against the live server's `/openapi.json`: no generated request may cause a 5xx.

One test per operation and generation mode (valid and invalid inputs), a few dozen examples
each to keep CI short; set `FUZZ_EXAMPLES` for a deeper run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from service.app import create_app
from service.config import Settings
from service.routes.openai_compat import is_openai_path
from service.schemas import ChatResponse, QueryResponse
from tests.live_server import ServerURL

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
# Reload is excluded: test_operations covers it, and each example would reload the model.
SKIP = {("POST", "/v1/admin/reload")}


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every documented operation; invalid input only where there is input."""
    spec: dict[str, Any] = create_app(Settings()).openapi()
    cases = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post") or (method.upper(), path) in SKIP:
                continue
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("requestBody") or any(_negatable(p) for p in operation.get("parameters", [])):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


def _negatable(parameter: dict[str, Any]) -> bool:
    """False for an unconstrained string parameter: there is no invalid value to generate."""
    schema = parameter.get("schema", {})
    return not (
        schema.get("type") == "string" and set(schema) <= {"type", "title", "description", "examples"}
    )


@pytest.fixture(scope="session")
def api_schema(server_url: ServerURL) -> Any:
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json")


def _check(case: Any, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=60)
    where = f"{case.method} {case.formatted_path} body={str(case.body)[:200]!r}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        # The OpenAI door adds OpenAI's `type` and `param` to the same code and message.
        shape = {"code", "message"} | ({"type", "param"} if is_openai_path(case.formatted_path) else set())
        assert set(body) == {"error"} and set(body["error"]) == shape, (where, body)
    elif case.path == "/v1/query":
        QueryResponse.model_validate(response.json())
    elif case.path == "/v1/chat":
        ChatResponse.model_validate(response.json())


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_no_generated_request_gets_a_server_error(
    api_schema: Any, server_url: ServerURL, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        _check(case, str(server_url))

    run()
