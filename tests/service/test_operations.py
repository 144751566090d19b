"""Operations against real servers: API keys, CORS, rate limit, concurrency, hot reload and SIGHUP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from index import build_index
from service.config import Settings
from tests.live_server import ServerURL, live_server

pytestmark = pytest.mark.integration

KEYS = ("test-key-1", "test-key-2")
ORIGIN = "http://widget.example"
RATE = 20
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "documents"


def _error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# -- API keys, CORS, rate limit ------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked(service_env: dict[str, str]) -> Iterator[ServerURL]:
    env = service_env | {
        "DOCQA_API_KEYS": ",".join(KEYS),
        "DOCQA_CORS_ORIGINS": ORIGIN,
        "DOCQA_RATE_LIMIT_PER_MINUTE": str(RATE),
    }
    with live_server(env) as url:
        yield url


def _auth(key: str = KEYS[0]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "test-key-1"},
        {"Authorization": "Basic dGVzdA=="},
    ],
)
def test_v1_needs_a_valid_bearer_key(locked: ServerURL, headers: dict[str, str]) -> None:
    for method, path in [
        ("POST", "/v1/query"),
        ("POST", "/v1/chat"),
        ("GET", "/v1/documents"),
        ("POST", "/v1/admin/reload"),
    ]:
        response = httpx.request(method, locked + path, json={"question": "COO?"}, headers=headers)
        assert response.status_code == 401, path
        assert _error_code(response) == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_valid_key_is_served(locked: ServerURL) -> None:
    response = httpx.post(
        locked + "/v1/query", json={"question": "Who reports to the COO?"}, headers=_auth(), timeout=60
    )
    assert response.status_code == 200
    assert response.json()["answer"] is not None


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
def test_health_and_openapi_stay_open(locked: ServerURL, path: str) -> None:
    # With keys, /metrics and the viewer need a key or a signed link (issue 11, test_hardening.py).
    assert httpx.get(locked + path, timeout=30).status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/documents/cco-vs-cro?start=0&end=7"])
def test_metrics_and_viewer_need_a_key_when_keys_are_set(locked: ServerURL, path: str) -> None:
    assert httpx.get(locked + path, timeout=30).status_code == 401
    assert httpx.get(locked + path, headers=_auth(), timeout=30).status_code == 200


def test_cors_allows_only_the_configured_origin(locked: ServerURL) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = httpx.options(locked + "/v1/query", headers=preflight)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    bad = httpx.options(locked + "/v1/query", headers=preflight | {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in bad.headers
    actual = httpx.post(
        locked + "/v1/query",
        json={"question": "What is a fractional COO?"},
        headers=_auth() | {"Origin": ORIGIN},
        timeout=60,
    )
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()
    # Errors reach the browser too, so the widget can show why (here: no key).
    refused = httpx.post(locked + "/v1/query", json={"question": "COO?"}, headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN


def test_rate_limit_answers_429_with_retry_after(locked: ServerURL) -> None:
    # A key of its own, so the other tests' requests do not count against this bucket.
    statuses = []
    last = None
    for _ in range(RATE + 5):
        last = httpx.get(locked + "/v1/documents", headers=_auth(KEYS[1]), timeout=30)
        statuses.append(last.status_code)
    assert statuses[:RATE] == [200] * RATE
    assert statuses[RATE:] == [429] * 5
    assert last is not None and _error_code(last) == "rate_limited"
    assert 1 <= int(last.headers["retry-after"]) <= 60
    # Other clients are not affected.
    assert httpx.get(locked + "/v1/documents", headers=_auth(KEYS[0]), timeout=30).status_code == 200


# -- concurrency ---------------------------------------------------------------------------------

EXPECTED = {
    "Who reports to the COO?": "Department heads and managers",
    "What is a fractional COO?": "part-time Chief Operating Officer",
    "What does a COO do in a law firm?": "non-legal operations",
    "What is the primary focus of a chief revenue officer?": "Revenue growth, sales strategy, marketing ROI",
    "how much does a coo make": "150,000",
    "What is a CCO in healthcare?": "patient satisfaction",
    "Is the customer officer a new kind of executive?": "relatively new",
    "What background does a chief commercial officer candidate need?": "executive experience",
}


def _check(base: str, question: str) -> str | None:
    response = httpx.post(base + "/v1/query", json={"question": question}, timeout=120)
    if response.status_code != 200:
        return f"{question!r}: HTTP {response.status_code} {response.text[:200]}"
    texts = " ".join(p["text"] for p in response.json()["passages"])
    return None if EXPECTED[question] in texts else f"{question!r}: {EXPECTED[question]!r} not in passages"


def test_32_parallel_queries_all_answer_correctly(server_url: ServerURL) -> None:
    questions = list(EXPECTED) * 4
    with ThreadPoolExecutor(max_workers=32) as pool:
        problems = [p for p in pool.map(lambda q: _check(server_url, q), questions) if p]
    assert problems == []
    assert httpx.get(server_url + "/healthz").status_code == 200


# -- hot reload ----------------------------------------------------------------------------------

NEW_DOC = (
    "The Chief Happiness Officer\n\n"
    "A Chief Happiness Officer (CHO) looks after employee wellbeing and workplace culture. "
    "The Chief Happiness Officer usually reports to the Chief People Officer.\n"
)
NEW_QUESTION = "Who does the chief happiness officer report to?"
# Builds are incremental, so adding one short document takes well under the half second after
# which the test sends a second reload; hundreds of new sentences to embed keep the rebuild busy.
FILLER_DOC = "Warehouse inventory\n\n" + "\n\n".join(
    f"Shelf {i} in aisle {i % 13} holds {i * 7 % 97} boxes of paper clips." for i in range(400)
)


@pytest.fixture(scope="module")
def reloadable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerURL, Path]]:
    """A server over a small private corpus that the tests change and rebuild."""
    root = tmp_path_factory.mktemp("reload")
    corpus, index_dir = root / "corpus", root / "index"
    corpus.mkdir()
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    keep = {k: v for k, v in manifest.items() if v["doc_id"] in ("cco-vs-cro", "what-does-a-cco-do")}
    for name in keep:
        shutil.copy(CORPUS / name, corpus / name)
    (corpus / "manifest.json").write_text(json.dumps(keep), encoding="utf-8")
    build_index(corpus, index_dir, Settings().model_path)
    # No DOCQA_CORPUS_DIR: the server finds the corpus through the index, which remembers its folder
    # (the server's working directory is the repository, whose demo corpus must not be used).
    env = {
        "DOCQA_INDEX_DIR": str(index_dir),
        "DOCQA_RATE_LIMIT_PER_MINUTE": "0",
        "DOCQA_API_KEYS": "",
    }
    saved = os.environ.pop("DOCQA_CORPUS_DIR", None)
    try:
        with live_server(env) as url:
            yield url, corpus
    finally:
        if saved is not None:
            os.environ["DOCQA_CORPUS_DIR"] = saved


def _generation(base: str) -> int:
    return int(httpx.get(base + "/readyz", timeout=30).json()["generation"])


def test_reload_swaps_in_a_rebuilt_index_without_dropping_requests(
    reloadable: tuple[ServerURL, Path],
) -> None:
    base, corpus = reloadable
    assert {d["doc_id"] for d in httpx.get(base + "/v1/documents").json()} == {
        "cco-vs-cro",
        "what-does-a-cco-do",
    }
    (corpus / "chief-happiness-officer.txt").write_text(NEW_DOC, encoding="utf-8")
    (corpus / "warehouse.txt").write_text(FILLER_DOC, encoding="utf-8")

    # The corpus changed but nothing was rebuilt: the reload is refused and the old index keeps serving.
    stale = httpx.post(base + "/v1/admin/reload", timeout=120)
    assert stale.status_code == 503 and _error_code(stale) == "index_not_ready"
    # The message names the folder and a command that rebuilds this index from it (never a bare
    # `docqa build`, which would index another folder), or the rebuild this endpoint offers.
    message = stale.json()["error"]["message"]
    assert f"the corpus in {corpus} changed since the index was built (added 2, changed 0" in message
    assert f"run `docqa build --corpus {corpus} --index " in message and '{"rebuild": true}' in message
    assert (
        httpx.post(base + "/v1/query", json={"question": "Who does a CRO report to?"}, timeout=60).status_code
        == 200
    )

    before = _generation(base)
    with ThreadPoolExecutor(max_workers=9) as pool:
        reload = pool.submit(httpx.post, base + "/v1/admin/reload", json={"rebuild": True}, timeout=300)
        time.sleep(0.5)
        second = pool.submit(httpx.post, base + "/v1/admin/reload", timeout=300)
        in_flight = [
            pool.submit(httpx.post, base + "/v1/query", json={"question": q}, timeout=300)
            for q in ["What does a CCO do?", "Who does a CRO report to?"] * 4
        ]
        statuses = [f.result().status_code for f in in_flight]
        assert reload.result().status_code == 200, reload.result().text
        assert reload.result().json()["documents"] == 4
        assert second.result().status_code == 409
    assert statuses == [200] * len(statuses)
    assert _generation(base) == before + 1
    body = httpx.post(base + "/v1/query", json={"question": NEW_QUESTION}, timeout=60).json()
    assert body["answer"] is not None and "Chief People Officer" in body["answer"]["text"]
    assert body["answer"]["doc_id"] == "chief-happiness-officer"
    metrics = httpx.get(base + "/metrics").text
    assert 'docqa_index_reloads_total{outcome="failed"} 1.0' in metrics


def test_sighup_reloads_the_index(reloadable: tuple[ServerURL, Path]) -> None:
    base, _ = reloadable
    before = _generation(base)
    os.kill(base.pid, signal.SIGHUP)
    deadline = time.monotonic() + 120
    while _generation(base) == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _generation(base) == before + 1
    assert "SIGHUP received" in base.log()
    assert (
        httpx.post(base + "/v1/query", json={"question": "Who does a CRO report to?"}, timeout=60).status_code
        == 200
    )


# A remote client behind a trusted reverse proxy may not reload without keys, and a forged
# X-Forwarded-For from an untrusted peer counts for nothing: tests/service/test_hardening.py (issue 11).
