"""Page and slide citations through every door (issue 10): JSON, the viewer, the widget, Slack, the CLI.

A real uvicorn server runs over a real index of `tests/data/paged/`: a three-page guide (pages
joined by form feeds), a three-slide deck and a document without pages. The corpus loader reads
those files as plain text; the test adds the page and slide starts a PDF or PPTX loader would
record, and builds the index from those documents. The server checks its index against the
folder (same ids, sources, titles and texts), so it loads that index instead of rebuilding it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from click.testing import CliRunner

from corpus import load_corpus
from index import build_index_from_documents
from service.cli import cli
from service.schemas import DocumentOut, DocumentSummary, QueryResponse
from service.slack.render import render_answer
from tests.index.test_pages import DECK, GUIDE, PAGED_DIR, PLAIN, with_page_starts
from tests.live_server import REPO_ROOT, LiveServer, live_server

# Short enough that the guide does not fit: the viewer has to scroll to reach page 2.
VIEWPORT = {"width": 1000, "height": 420}
PAGE_2_QUESTION = "Where are bookings for the refractor telescope made?"
ACROSS_QUESTION = "Who staffs the small reflectors on the roof terrace?"


@pytest.fixture(scope="module")
def paged_index_dir(tmp_path_factory: pytest.TempPathFactory, model_path: str) -> Path:
    """The paged fixture corpus, read by the corpus loader as the server will, with page starts added."""
    # Sources are recorded relative to the working directory; the server runs in the repo root.
    with contextlib.chdir(REPO_ROOT):
        documents = with_page_starts(load_corpus(PAGED_DIR))
    index_dir = tmp_path_factory.mktemp("paged-door-index") / "index"
    build_index_from_documents(documents, index_dir, model_path)
    return index_dir


@pytest.fixture(scope="module")
def server(paged_index_dir: Path) -> Iterator[LiveServer]:
    env = {
        "DOCQA_API_KEYS": "",
        "DOCQA_CORS_ORIGINS": "",
        "DOCQA_RATE_LIMIT_PER_MINUTE": "0",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
    }
    with live_server(env, corpus_dir=PAGED_DIR, index_dir=paged_index_dir) as url:
        yield url


def query(server: LiveServer, question: str) -> dict[str, Any]:
    resp = httpx.post(f"{server}/v1/query", json={"question": question, "top_k": 4}, timeout=60)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    QueryResponse.model_validate(body)
    return body


def viewer(server: LiveServer, url: str) -> httpx.Response:
    resp = httpx.get(server + url, timeout=30)
    resp.raise_for_status()
    return resp


def section_of_mark(page_html: str, mark_id: str = "cited") -> str | None:
    """The id of the `<section>` holding the mark `mark_id` (sections are not nested)."""
    at = page_html.index(f'<mark id="{mark_id}"')
    opened = list(re.finditer(r'<section class="page[^"]*" id="([a-z]+-\d+)"', page_html[:at]))
    if not opened or "</section>" in page_html[opened[-1].end() : at]:
        return None
    return opened[-1].group(1)


# --------------------------------------------------------------------------- JSON


@pytest.mark.integration
def test_query_json_carries_page_fields(server: LiveServer) -> None:
    body = query(server, PAGE_2_QUESTION)
    answer = body["answer"]
    assert answer["doc_id"] == GUIDE and "Lantern desk" in answer["text"]
    assert (answer["page"], answer["page_end"], answer["slide"]) == (2, None, None)
    for passage in body["passages"]:
        assert {"page", "page_end", "slide"} <= set(passage)
        assert (passage["page"] is not None) == (passage["doc_id"] == GUIDE)
        assert (passage["slide"] is not None) == (passage["doc_id"] == DECK)

    across = query(server, ACROSS_QUESTION)["answer"]
    assert (across["page"], across["page_end"]) == (2, 3)
    deck = query(server, "When are the aprons washed?")["answer"]
    assert (deck["doc_id"], deck["slide"], deck["page"]) == (DECK, 3, None)
    plain = query(server, "What soup does the canteen serve?")["answer"]
    assert plain["doc_id"] == PLAIN and plain["page"] is None and plain["slide"] is None


@pytest.mark.integration
def test_document_json_gives_page_and_slide_counts(server: LiveServer) -> None:
    listed = {d["doc_id"]: d for d in httpx.get(f"{server}/v1/documents", timeout=30).json()}
    for entry in listed.values():
        DocumentSummary.model_validate(entry)
    assert (listed[GUIDE]["pages"], listed[DECK]["slides"], listed[PLAIN]["pages"]) == (3, 3, None)
    guide = httpx.get(f"{server}/v1/documents/{GUIDE}", timeout=30).json()
    DocumentOut.model_validate(guide)
    assert guide["pages"] == 3 and guide["slides"] is None and len(guide["page_starts"]) == 3
    assert all(guide["text"][s - 1] == "\f" for s in guide["page_starts"][1:])


# --------------------------------------------------------------------------- viewer


@pytest.mark.integration
def test_viewer_opens_a_page_2_citation_on_page_2_of_3(server: LiveServer) -> None:
    answer = query(server, PAGE_2_QUESTION)["answer"]
    resp = viewer(server, answer["url"])
    page_html = resp.text
    assert "page 2 of 3" in page_html
    assert section_of_mark(page_html) == "page-2"
    assert page_html.count('<section class="page') == 3
    assert '<section class="page cited" id="page-2"' in page_html
    assert "\f" not in page_html
    assert f">{answer['text']}</mark>" in page_html
    assert "script-src 'nonce-" in resp.headers["content-security-policy"]


@pytest.mark.integration
def test_viewer_marks_a_span_across_pages_on_both(server: LiveServer) -> None:
    answer = query(server, ACROSS_QUESTION)["answer"]
    page_html = viewer(server, answer["url"]).text
    assert "pages 2–3 of 3" in page_html
    assert section_of_mark(page_html) == "page-2"
    rest = page_html[page_html.index('id="page-3"') :]
    assert rest.index('<mark class="cited-more">') < rest.index("</section>")
    shown = re.sub(r"<[^>]+>", "", page_html[page_html.index('<mark id="cited"') :])
    assert "roof terrace, which" in shown and "need no booking" in shown


@pytest.mark.integration
def test_viewer_names_the_slide_of_a_deck(server: LiveServer) -> None:
    answer = query(server, "When are the aprons washed?")["answer"]
    page_html = viewer(server, answer["url"]).text
    header = page_html[page_html.index("<header>") : page_html.index("</header>")]
    assert "slide 3 of 3" in header and " of 3 ·" not in header.replace("slide 3 of 3 ·", "")
    assert section_of_mark(page_html) == "slide-3"


# --------------------------------------------------------------------------- browser


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A fresh page; `.errors` collects the JavaScript errors of it and of every page it opens."""
    context = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    context.on("page", lambda opened: opened.on("pageerror", lambda exc: errors.append(str(exc))))
    page = context.new_page()
    page.errors = errors
    yield page
    context.close()


@pytest.mark.browser
@pytest.mark.integration
def test_widget_shows_the_page_and_its_link_opens_the_viewer_there(server: LiveServer, tab: Any) -> None:
    tab.goto(server + "/")
    widget = tab.locator("#docqa-widget")
    widget.locator("[data-docqa=launcher]").click()
    widget.locator("[data-docqa=input]").fill(PAGE_2_QUESTION)
    widget.locator("[data-docqa=input]").press("Enter")
    reply = widget.locator("[data-docqa=answer]").first
    reply.wait_for(state="visible", timeout=60_000)
    assert reply.locator(".answer-text [data-docqa=place]").inner_text() == "p. 2"
    places = [p.strip() for p in reply.locator("ol.cites [data-docqa=place]").all_inner_texts()]
    assert "p. 2" in places

    href = reply.locator("a.ref").get_attribute("href")
    query_args = parse_qs(urlparse(href).query)
    with tab.context.expect_page() as popup:
        reply.locator("a.ref").click()
    page = popup.value
    page.wait_for_load_state()
    mark = page.locator("mark#cited")
    mark.wait_for(state="visible")
    # Scrolled to the span: the mark is in the viewport, inside the section of page 2.
    page.wait_for_function("() => window.scrollY > 0")
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= VIEWPORT["height"]
    assert mark.evaluate("m => m.closest('section').id") == "page-2"
    assert mark.get_attribute("data-start") == query_args["start"][0]
    assert "page 2 of 3" in page.locator("header").inner_text()
    assert tab.errors == []


# --------------------------------------------------------------------------- Slack and CLI


def _slack_result() -> dict[str, Any]:
    passage = {
        "rank": 1,
        "score": 0.4,
        "doc_id": GUIDE,
        "title": "Visitor guide",
        "section": "",
        "start": 533,
        "end": 978,
        "text": "Bookings …",
        "page": 2,
        "page_end": None,
        "slide": None,
    }
    return {
        "question": "Where do I book?",
        "answer": {
            "text": "Bookings …",
            "doc_id": GUIDE,
            "start": 533,
            "end": 626,
            "passage_rank": 1,
            "page": 2,
        },
        "abstained": False,
        "confidence": 0.9,
        "passages": [
            passage,
            {**passage, "rank": 2, "start": 980, "end": 1163, "page_end": 3},
            {**passage, "rank": 3, "doc_id": DECK, "title": "Deck", "page": None, "slide": 3},
        ],
        "clarifications": [],
    }


def test_slack_citations_say_p_pp_and_slide() -> None:
    message = render_answer(_slack_result(), "https://docqa.example.com")
    sources = next(b["text"]["text"] for b in message["blocks"] if b["text"]["text"].startswith("*Sources*"))
    lines = sources.splitlines()[1:]
    assert lines[0].endswith("|Visitor guide> (p. 2)")
    assert lines[1].endswith("|Visitor guide> (pp. 2–3)")
    assert lines[2].endswith("|Deck> (slide 3)")
    assert "[1] Visitor guide, p. 2 (" in message["text"]


def test_slack_citations_without_pages_say_nothing_extra() -> None:
    result = _slack_result()
    for span in [result["answer"], *result["passages"]]:
        for key in ("page", "page_end", "slide"):
            span.pop(key, None)
    result["passages"][0]["page"] = "2"  # malformed: ignored
    message = render_answer(result, "https://docqa.example.com")
    assert "p. " not in message["text"] and "slide" not in message["text"]


@pytest.mark.model
def test_cli_ask_shows_the_page_of_answer_and_passages(paged_index_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["ask", ACROSS_QUESTION, "--index", str(paged_index_dir), "--top-k", "3"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("  [1] pp. 2–3 · confidence ")
    assert any(" · pp. 2–3 · score " in line for line in lines)
    assert any(" · p. 2 · score " in line for line in lines)
