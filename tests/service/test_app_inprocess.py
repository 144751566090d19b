"""The app in-process (TestClient runs the lifespan): failure paths that a healthy server never shows."""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from corpus.models import Document
from service.app import create_app
from service.config import Settings
from service.routes.documents import render_viewer


@pytest.fixture
def no_index_app(tmp_path: Path) -> TestClient:
    settings = Settings(index_dir=tmp_path / "missing", corpus_dir=tmp_path, rate_limit_per_minute=0)
    app = create_app(settings)

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    return TestClient(app, raise_server_exceptions=False)


def test_without_an_index_readyz_and_v1_answer_503_naming_docqa_build(no_index_app: TestClient) -> None:
    with no_index_app as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "failed"
        assert ready.json()["error"]["code"] == "index_not_ready"
        assert "docqa build" in ready.json()["error"]["message"]
        assert client.get("/healthz").status_code == 200
        query = client.post("/v1/query", json={"question": "Who reports to the COO?"})
        assert query.status_code == 503
        assert query.json()["error"]["code"] == "index_not_ready"
        assert client.post("/v1/chat", json={"message": "hi"}).status_code == 503


def test_unexpected_error_is_a_logged_json_500_without_traceback(
    no_index_app: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with no_index_app as client, caplog.at_level(logging.ERROR):
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "Internal error; it has been logged with request id boom-1.",
        }
    }
    assert "secret internal detail" not in response.text
    logged = [r for r in caplog.records if "boom-1" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_two_apps_in_one_process_have_their_own_metrics(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "missing", corpus_dir=tmp_path)
    first, second = create_app(settings), create_app(settings)
    assert first.state.metrics.registry is not second.state.metrics.registry


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.marked = ""
        self.in_mark = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.in_mark = self.in_mark or tag == "mark"

    def handle_endtag(self, tag: str) -> None:
        self.in_mark = self.in_mark and tag != "mark"

    def handle_data(self, data: str) -> None:
        if self.in_mark:
            self.marked += data


def test_viewer_escapes_every_piece_of_document_text() -> None:
    text = 'Intro <script>alert(1)</script> and <img src=x onerror="alert(2)"> & "quotes" end.'
    doc = Document(
        doc_id="x",
        title="<b>Title</b>",
        source="corpus/<i>x</i>.txt",
        text=text,
        url="javascript:alert(3)",
    )
    start = text.index("<img")
    end = text.index(" & ")
    page = render_viewer(doc, (start, end), nonce="n0nce")
    parser = _Text()
    parser.feed(page)
    assert parser.marked == text[start:end]
    assert set(parser.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "p",
        "main",
        "mark",
        "script",
    }
    assert parser.tags.count("script") == 1 and 'nonce="n0nce"' in page
    assert "javascript:" not in page
