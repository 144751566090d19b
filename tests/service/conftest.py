"""Fixtures of the service tests: one real uvicorn server on a real index, shared by the session.

`server_url` is the base URL of that server (a `tests.live_server.ServerURL`: also `.log_path`,
`.pid`). Rate limiting is off on it; tests of limits, keys and CORS start their own server with
`live_server(service_env | {...})`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import ServerURL, live_server


@pytest.fixture(scope="session")
def service_env(built_index_dir: Path, corpus_dir: Path) -> dict[str, str]:
    """Environment of a default server on the session's index (no keys, no CORS, no rate limit)."""
    return {
        "DOCQA_INDEX_DIR": str(built_index_dir),
        "DOCQA_CORPUS_DIR": str(corpus_dir),
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


@pytest.fixture(scope="session")
def service_corpus_dir(corpus_dir: Path) -> Path:
    """Alias of `corpus_dir` (earlier name; kept for tests written against it)."""
    return corpus_dir


@pytest.fixture(scope="session")
def markdown_server_url(
    service_env: dict[str, str], markdown_corpus_dir: Path, markdown_index_dir: Path
) -> Iterator[ServerURL]:
    """A second real server, over the small Markdown corpus (one for the whole session)."""
    with live_server(service_env, corpus_dir=markdown_corpus_dir, index_dir=markdown_index_dir) as url:
        yield url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
