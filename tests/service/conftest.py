"""Fixtures of the service tests: one real uvicorn server on a real index, shared by the session.

`server_url` is the base URL of that server (a `tests.live_server.ServerURL`: also `.log_path`,
`.pid`). Rate limiting is off on it; tests of limits, keys and CORS start their own server with
`live_server(service_env | {...})`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import ServerURL, live_server

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT / "corpus" / "documents"


@pytest.fixture(scope="session")
def service_corpus_dir(request: pytest.FixtureRequest) -> Path:
    """The corpus the service tests run on: the lead's `corpus_dir` fixture when there is one."""
    try:
        return Path(request.getfixturevalue("corpus_dir"))
    except pytest.FixtureLookupError:
        return DEFAULT_CORPUS


@pytest.fixture(scope="session")
def service_index_dir(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, service_corpus_dir: Path
) -> Path:
    """A built index of `service_corpus_dir`: the lead's `built_index_dir`, else built here once."""
    try:
        return Path(request.getfixturevalue("built_index_dir"))
    except pytest.FixtureLookupError:
        pass
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index import build_index
    from service.config import Settings

    index_dir = tmp_path_factory.mktemp("service-index") / "index"
    build_index(service_corpus_dir, index_dir, Settings().model_path)
    return index_dir


@pytest.fixture(scope="session")
def service_env(service_index_dir: Path, service_corpus_dir: Path) -> dict[str, str]:
    """Environment of a default server on the test index (no keys, no CORS, no rate limit)."""
    return {
        "DOCQA_INDEX_DIR": str(service_index_dir),
        "DOCQA_CORPUS_DIR": str(service_corpus_dir),
        "DOCQA_API_KEYS": "",
        "DOCQA_CORS_ORIGINS": "",
        "DOCQA_RATE_LIMIT_PER_MINUTE": "0",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
    }


@pytest.fixture(scope="session")
def server_url(service_env: dict[str, str]) -> Iterator[ServerURL]:
    """One real server for the whole session; yields its base URL."""
    with live_server(service_env) as url:
        yield url


@pytest.fixture
def client(server_url: ServerURL) -> Iterator[httpx.Client]:
    """An httpx client bound to the session's server."""
    with httpx.Client(base_url=server_url, timeout=60.0) as http:
        yield http
