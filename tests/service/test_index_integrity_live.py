"""A damaged index through the real service (issue 11): `docqa serve` starts but is not ready (503,
the message naming `docqa build`, no traceback), and a reload onto a damaged index keeps serving
the old one. The damages are the probe's (tests/index/corruption.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.index.corruption import CORRUPTIONS
from tests.live_server import ServerURL, free_port, live_server

pytestmark = [pytest.mark.model, pytest.mark.integration]


def _serve(index_dir: Path, corpus_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), "--index", str(index_dir)]
        + ["--corpus", str(corpus_dir)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "DOCQA_RATE_LIMIT_PER_MINUTE": "0", "DOCQA_API_KEYS": ""},
    )
    return proc, f"http://127.0.0.1:{port}"


def _readyz(proc: subprocess.Popen[bytes], url: str, log: Path) -> httpx.Response:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if response.status_code == 200 or response.json().get("status") == "failed":
            return response
        time.sleep(0.2)
    raise AssertionError(f"no readiness answer: {log.read_text(errors='replace')}")


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_docqa_serve_on_a_damaged_index_is_not_ready_and_names_the_fix(
    built_index_dir: Path, corpus_dir: Path, tmp_path: Path, damage: str
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index_dir.resolve(), index_dir)
    CORRUPTIONS[damage](index_dir)
    log = tmp_path / "serve.log"
    proc, url = _serve(index_dir, corpus_dir, log)
    try:
        ready = _readyz(proc, url, log)
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert ready.json()["error"]["code"] == "index_not_ready"
        assert "docqa build --force" in ready.json()["error"]["message"]
        query = httpx.post(f"{url}/v1/query", json={"question": "Who reports to the COO?"}, timeout=30)
        assert query.status_code == 503 and query.json()["error"]["code"] == "index_not_ready"
        assert "docqa build --force" in query.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "building it now" not in output  # refused, not rebuilt over


@pytest.fixture(scope="module")
def reloadable(
    built_index_dir: Path,
    corpus_dir: Path,
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerURL, Path, Path]]:
    """A live server on a private copy of the index; yields (url, its index folder, a pristine copy)."""
    root = tmp_path_factory.mktemp("integrity-reload")
    pristine, index_dir = root / "pristine", root / "index"
    shutil.copytree(built_index_dir.resolve(), pristine)
    shutil.copytree(pristine, index_dir)
    with live_server(service_env, corpus_dir=corpus_dir, index_dir=index_dir) as url:
        yield url, index_dir, pristine


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_reload_onto_a_damaged_index_keeps_serving_the_old_one(
    reloadable: tuple[ServerURL, Path, Path], damage: str
) -> None:
    url, index_dir, pristine = reloadable
    shutil.copytree(pristine, index_dir, dirs_exist_ok=True)
    CORRUPTIONS[damage](index_dir)
    try:
        refused = httpx.post(f"{url}/v1/admin/reload", json={}, timeout=120)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "index_not_ready"
        assert "docqa build --force" in refused.json()["error"]["message"]
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        answer = httpx.post(f"{url}/v1/query", json={"question": "Who reports to the COO?"}, timeout=60)
        assert answer.status_code == 200 and "report to the COO" in answer.json()["answer"]["text"]
    finally:
        shutil.copytree(pristine, index_dir, dirs_exist_ok=True)
    assert "Traceback" not in url.log()
