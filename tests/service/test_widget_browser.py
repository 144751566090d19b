"""End-to-end tests of the chat widget in Debian's Chromium, against the real service (issue 4).

Every test drives the widget served by a real uvicorn process over a real index: the demo page
at `/`, the script at `/widget.js`, `POST /v1/chat` and the citation viewer. The only thing
the browser is made to do differently is fail one request on purpose (the Retry test).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.live_server import LiveServer, live_server

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
XSS_CORPUS = REPO / "tests" / "data" / "xss-corpus"
DEFAULT_CORPUS = REPO / "corpus" / "documents"
ARTIFACTS = REPO / "test-artifacts"
ANSWER_TIMEOUT_MS = 60_000
XSS_PAYLOAD = "<img src=x onerror=alert(1)>"
XSS_QUESTION = "What snippet did the legacy intranet editor store in the onboarding checklist?"
MARKUP = ("**", "](", "{{<", "| --- |")
# In the source this sentence is hard-wrapped after "optional"; the widget must show it joined.
WRAPPED_SENTENCE = "Every lease runs for twelve months and ends with an optional purchase at a small fee."

# Aggressive global CSS of a hostile host page: it must neither restyle nor hide the widget.
HOSTILE_CSS = """
* { color: red !important; font-size: 40px !important; font-family: serif !important;
    background: yellow !important; border: 6px dashed lime !important; margin: 25px !important;
    padding: 18px !important; line-height: 3 !important; letter-spacing: 4px !important;
    text-transform: uppercase !important; box-sizing: content-box !important; }
div, section, button, input, ol, li, p, a { display: inline !important; position: static !important;
    width: 50px !important; height: 20px !important; }
body > div { display: none !important; visibility: hidden !important; }
button { all: unset !important; }
"""
# A normal host page whose elements the widget's own styles must not touch.
PLAIN_CSS = "body { font: 16px Georgia, serif; }"
HOST_BODY = """
<h2 id="host-h2">Host page</h2>
<p id="host-p">Plain paragraph with a <a id="host-a" href="#x">link</a>.</p>
<button id="host-button" type="button">Host button</button>
<input id="host-input" type="text" value="host">
<ol id="host-ol"><li>one</li></ol>
<details id="host-details"><summary>More</summary><blockquote>quote</blockquote></details>
<div class="msg bot root panel launcher" id="host-div">a div with the widget's class names</div>
"""
ACCENT = 'data-accent="#0f766e"'
PROBED_STYLES = [
    "color",
    "fontSize",
    "fontFamily",
    "fontWeight",
    "backgroundColor",
    "borderTopWidth",
    "borderTopStyle",
    "marginTop",
    "paddingTop",
    "display",
    "position",
    "outlineStyle",
    "textDecorationLine",
    "borderRadius",
    "boxSizing",
    "lineHeight",
]


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class HostPages:
    """A static file server on another origin than the service: pages that embed the widget."""

    url: str
    root: Path

    def write(
        self, name: str, css: str, api: str, *, with_widget: bool, head: str = "", attrs: str = ACCENT
    ) -> str:
        """Write a host page with `css` (and the embed line when `with_widget`); return its URL."""
        script = f'<script src="{api}/widget.js" data-api="{api}" {attrs} defer></script>'
        style = f"<style>{css}</style>" if css else ""
        html = (
            f"<!doctype html><html><head><meta charset=utf-8>{head}{style}</head>"
            f"<body>{HOST_BODY}{script if with_widget else ''}</body></html>"
        )
        (self.root / name).write_text(html, encoding="utf-8")
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")
def host_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostPages]:
    """A plain static file server (another origin) holding the host pages of the CSS tests."""
    root = tmp_path_factory.mktemp("host-pages")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostPages(url=f"http://127.0.0.1:{server.server_address[1]}", root=root)
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture(scope="module")
def server(
    host_pages: HostPages,
    service_env: dict[str, str],
    corpus_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The real service over the default corpus (the issue's questions); host pages may call it."""
    env = {**service_env, "DOCQA_CORS_ORIGINS": host_pages.url}
    if corpus_dir.resolve() != DEFAULT_CORPUS.resolve():
        env["DOCQA_CORPUS_DIR"] = str(DEFAULT_CORPUS)
        env["DOCQA_INDEX_DIR"] = str(tmp_path_factory.mktemp("widget-index") / "index")
    with live_server(env) as srv:
        yield srv


@pytest.fixture(scope="module")
def xss_server(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second real service over the tiny XSS corpus (markup inside sentences and titles)."""
    index_dir = tmp_path_factory.mktemp("xss-index") / "index"
    with live_server(service_env, corpus_dir=XSS_CORPUS, index_dir=index_dir) as srv:
        yield srv


@pytest.fixture(scope="module")
def markdown_server(markdown_server_url: LiveServer) -> LiveServer:
    """The real service over the small Markdown corpus (bold, links, a shortcode, a wrapped line, a table)."""
    return markdown_server_url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh desktop-sized page whose JavaScript dialogs and errors are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    yield _recording_page(context)
    context.close()


def _recording_page(context: Any) -> Any:
    pg = context.new_page()
    pg.dialogs = []
    pg.errors = []

    def on_dialog(dialog: Any) -> None:
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    context.on("page", lambda popup: popup.on("dialog", on_dialog))
    return pg


# --------------------------------------------------------------------------- helpers


def widget(pg: Any, name: str) -> Any:
    """Locator of the widget's `data-docqa=name` elements (Playwright pierces the open shadow root)."""
    return pg.locator(f"#docqa-widget [data-docqa={name}]")


def shadow_eval(pg: Any, body: str) -> Any:
    """Evaluate `body` with `root` bound to the widget's shadow root."""
    return pg.evaluate(f"() => {{ const root = document.querySelector('#docqa-widget').shadowRoot; {body} }}")


def open_demo(pg: Any, base: str) -> None:
    pg.goto(base + "/")
    widget(pg, "launcher").wait_for(state="visible")


def ask(pg: Any, question: str) -> Any:
    """Type a question, send it with Enter and return the locator of the new reply."""
    before = widget(pg, "answer").count()
    box = widget(pg, "input")
    box.fill(question)
    box.press("Enter")
    reply = widget(pg, "answer").nth(before)
    reply.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    return reply


def offsets(href: str) -> tuple[str, int, int]:
    """doc_id, start and end of a viewer link."""
    url = urlparse(href)
    query = parse_qs(url.query)
    return url.path.rsplit("/", 1)[-1], int(query["start"][0]), int(query["end"][0])


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def document_text(base: str, doc_id: str) -> str:
    resp = httpx.get(f"{base}/v1/documents/{doc_id}", timeout=30)
    resp.raise_for_status()
    return str(resp.json()["text"])


def save_artifact(pg: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    pg.screenshot(path=str(path))
    return path


# --------------------------------------------------------------------------- HTTP


def test_widget_js_is_served_as_cached_javascript(server: LiveServer) -> None:
    resp = httpx.get(server.url + "/widget.js", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in resp.headers["cache-control"] and "public" in resp.headers["cache-control"]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert 5_000 < len(resp.content) < 60_000, "a few tens of KB at most"
    again = httpx.get(server.url + "/widget.js", headers={"If-None-Match": resp.headers["etag"]}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    assert "innerHTML" not in resp.text and "insertAdjacentHTML" not in resp.text


def test_demo_page_embeds_the_widget_with_the_readme_line(server: LiveServer) -> None:
    resp = httpx.get(server.url + "/", timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    # The page loads the widget from its own origin (never from the Host header, issue 11) and
    # shows the one-line snippet with the public URL.
    assert '<script src="/widget.js" defer></script>' in resp.text
    shown = '&lt;script src="http://localhost:8000/widget.js" data-api="http://localhost:8000" defer&gt;'
    assert shown in resp.text
    readme_snippet = '<script src="https://HOST/widget.js" data-api="https://HOST" defer></script>'
    assert readme_snippet in (REPO / "docs" / "widget.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- conversation


def test_answer_shows_citations_that_open_the_highlighted_span(server: LiveServer, page: Any) -> None:
    open_demo(page, server.url)
    widget(page, "launcher").click()
    reply = ask(page, "Who reports to the COO?")

    answer_text = squash(reply.locator(".answer-text").inner_text())
    assert "report" in answer_text.lower()
    citations = reply.locator("[data-docqa=citation]")
    assert citations.count() >= 2  # the answer's reference plus the numbered sources
    for i in range(citations.count()):
        link = citations.nth(i)
        assert link.get_attribute("href").startswith(server.url + "/documents/")
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in link.get_attribute("rel")
    # The answer sentence is the document's text at the offsets its reference links to.
    doc_id, start, end = offsets(reply.locator("a.ref").get_attribute("href"))
    assert squash(document_text(server.url, doc_id)[start:end]) in answer_text
    # Sources carry title and section; passages expand in place.
    source = reply.locator("ol.cites > li").first
    assert source.locator("[data-docqa=citation]").inner_text().strip()
    source.locator("summary").click()
    assert source.locator("blockquote").is_visible()
    save_artifact(page, "widget-answer.png")

    first_source = source.locator("[data-docqa=citation]")
    doc_id, start, end = offsets(first_source.get_attribute("href"))
    with page.context.expect_page() as popup_info:
        first_source.click()
    viewer = popup_info.value
    viewer.wait_for_load_state()
    assert viewer.url == first_source.get_attribute("href")
    highlight = viewer.locator("mark").first
    highlight.wait_for(state="visible")
    assert squash(highlight.inner_text()) == squash(document_text(server.url, doc_id)[start:end])
    assert highlight.is_visible() and _in_viewport(viewer, highlight)
    assert page.errors == []


def _in_viewport(pg: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    height = pg.viewport_size["height"] if pg.viewport_size else 10_000
    return box is not None and box["y"] < height and box["y"] + box["height"] > 0


def test_clarification_buttons_ask_again_with_the_chosen_meaning(server: LiveServer, page: Any) -> None:
    open_demo(page, server.url)
    widget(page, "launcher").click()
    reply = ask(page, "What does CCO stand for?")
    choices = reply.locator("[data-docqa=clarification]")
    labels = [choices.nth(i).inner_text().strip() for i in range(choices.count())]
    assert "Chief Customer Officer" in labels and "Chief Commercial Officer" in labels

    chosen = choices.nth(labels.index("Chief Customer Officer"))
    chosen.click()
    assert chosen.get_attribute("aria-pressed") == "true"
    follow_up = widget(page, "answer").nth(1)
    follow_up.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#docqa-widget .msg.user").last.inner_text().strip() == "Chief Customer Officer"
    text = follow_up.inner_text().lower()
    assert "customer" in text
    hrefs = [a.get_attribute("href") for a in follow_up.locator("[data-docqa=citation]").all()]
    assert any("/documents/customer-officer-vs-coo?" in h for h in hrefs)
    assert choices.first.is_disabled()  # a choice is made once


def test_off_topic_question_abstains_and_shows_related_passages(server: LiveServer, page: Any) -> None:
    open_demo(page, server.url)
    widget(page, "launcher").click()
    reply = ask(page, "What is the capital of France?")
    assert "documents don't answer" in reply.inner_text()
    assert reply.locator(".answer-text").count() == 0
    if reply.locator("[data-docqa=citation]").count():
        assert "Related passages" in (reply.text_content() or "")


def test_keyboard_only_flow(server: LiveServer, page: Any) -> None:
    open_demo(page, server.url)
    for _ in range(30):
        page.keyboard.press("Tab")
        if shadow_eval(page, "return root.activeElement && root.activeElement.dataset.docqa") == "launcher":
            break
    else:
        pytest.fail("Tab never reached the launcher")
    outline = shadow_eval(
        page, "const s = getComputedStyle(root.activeElement); return [s.outlineStyle, s.outlineWidth]"
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, "focus must be visible"

    page.keyboard.press("Enter")
    assert widget(page, "launcher").get_attribute("aria-expanded") == "true"
    assert shadow_eval(page, "return root.activeElement.dataset.docqa") == "input"
    dialog = page.locator("#docqa-widget [role=dialog]")
    assert dialog.is_visible() and dialog.get_attribute("aria-labelledby")
    log = page.locator("#docqa-widget [role=log]")
    assert log.get_attribute("aria-live") == "polite"
    assert shadow_eval(page, "return root.activeElement.labels.length") == 1

    page.keyboard.type("Who reports to the COO?")
    page.keyboard.press("Enter")
    widget(page, "answer").first.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    assert shadow_eval(page, "return root.activeElement && root.activeElement.dataset.docqa") == "input"

    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert shadow_eval(page, "return root.activeElement && root.activeElement.dataset.docqa") == "launcher"
    page.keyboard.press("Space")
    assert dialog.is_visible()
    # The conversation is still there, and Tab reaches a citation link from the input.
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if shadow_eval(page, "return root.activeElement && root.activeElement.dataset.docqa") == "citation":
            break
    else:
        pytest.fail("Shift+Tab never reached a citation")
    with page.context.expect_page() as viewer_info:
        page.keyboard.press("Enter")  # a citation link opens the viewer in a new tab, the chat stays
    viewer_info.value.wait_for_load_state()
    assert "/documents/" in viewer_info.value.url and dialog.is_visible()
    page.bring_to_front()
    page.keyboard.press("Escape")  # from a link inside the panel, too
    assert not dialog.is_visible()
    assert shadow_eval(page, "return root.activeElement && root.activeElement.dataset.docqa") == "launcher"


def test_narrow_screen_fits_320px(server: LiveServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    pg = _recording_page(context)
    try:
        open_demo(pg, server.url)
        widget(pg, "launcher").click()
        ask(pg, "Who reports to the COO?")
        panel = pg.locator("#docqa-widget [role=dialog]").bounding_box()
        assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 320
        for name in ("input", "send"):
            box = widget(pg, name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
            assert box["y"] + box["height"] <= 640
        assert shadow_eval(
            pg, "const l = root.querySelector('[role=log]'); return l.scrollWidth <= l.clientWidth"
        )
        save_artifact(pg, "widget-answer-320.png")
    finally:
        context.close()


def test_session_and_conversation_survive_a_reload(server: LiveServer, page: Any) -> None:
    open_demo(page, server.url)
    widget(page, "launcher").click()
    ask(page, "What does a chief revenue officer focus on?")
    session = page.evaluate("() => Object.entries(sessionStorage).find(([k]) => k.endsWith(':session'))")
    assert session and session[1]

    page.reload()
    widget(page, "answer").first.wait_for(state="visible")  # panel reopened with the history
    assert "chief revenue officer" in page.locator("#docqa-widget .msg.user").first.inner_text().lower()
    with page.expect_request(lambda r: r.url.endswith("/v1/chat")) as request_info:
        reply = ask(page, "Who do they report to?")
    assert request_info.value.post_data_json["session_id"] == session[1]
    assert "revenue officer" in reply.inner_text().lower()  # the service resolved "they" in that session

    page.locator("#docqa-widget .reset").click()  # "New chat" forgets the session and the messages
    assert widget(page, "answer").count() == 0
    assert shadow_eval(page, "return root.activeElement.dataset.docqa") == "input"
    with page.expect_request(lambda r: r.url.endswith("/v1/chat")) as request_info:
        ask(page, "Who do they report to?")
    assert "session_id" not in request_info.value.post_data_json
    page.reload()
    widget(page, "answer").first.wait_for(state="visible")
    assert widget(page, "answer").count() == 1


def test_an_expired_session_starts_a_new_one_instead_of_failing(server: LiveServer, page: Any) -> None:
    # The service refuses session ids it did not issue or that expired (404 unknown_session);
    # the widget then starts a new conversation rather than showing an error.
    open_demo(page, server.url)
    widget(page, "launcher").click()
    ask(page, "What does a chief revenue officer focus on?")
    key = page.evaluate("() => Object.keys(sessionStorage).find((k) => k.endsWith(':session'))")
    page.evaluate("([k]) => sessionStorage.setItem(k, 'expired-session-0001')", [key])
    reply = ask(page, "Who reports to the COO?")
    assert "something went wrong" not in reply.inner_text().lower()
    assert widget(page, "answer").count() == 2
    fresh = page.evaluate("([k]) => sessionStorage.getItem(k)", [key])
    assert fresh and fresh != "expired-session-0001"


def test_network_error_shows_retry_and_never_freezes(server: LiveServer, page: Any) -> None:
    failures = {"left": 1}

    def fail_once(route: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/v1/chat", fail_once)
    open_demo(page, server.url)
    widget(page, "launcher").click()
    widget(page, "input").fill("Who reports to the COO?")
    widget(page, "input").press("Enter")
    error = page.locator("#docqa-widget [role=alert]")
    error.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    assert "Retry" in error.inner_text()
    assert widget(page, "input").is_enabled() and widget(page, "send").is_enabled()
    error.get_by_role("button", name="Retry").click()
    widget(page, "answer").first.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    assert error.count() == 0


def _expand_all(reply: Any) -> None:
    """Open every collapsed part of a reply ("N more sources", then each "Show passage")."""
    for more in reply.locator("details.more > summary").all():
        more.click()
    for summary in reply.locator("ol.cites details > summary").all():
        summary.click()


def _assert_readable(shown: str) -> None:
    assert shown.strip()
    for mark in MARKUP:
        assert mark not in shown, (mark, shown)


def _passage_lines(reply: Any) -> list[str]:
    """The lines shown in every expanded passage, one per displayed line element."""
    return [squash(line) for line in reply.locator("blockquote > p").all_inner_texts()]


def test_markdown_is_shown_as_readable_text_not_markup(markdown_server: LiveServer, page: Any) -> None:
    open_demo(page, markdown_server.url)
    widget(page, "launcher").click()
    reply = ask(page, "How long does a bicycle lease run?")
    _expand_all(reply)

    answer = reply.locator(".answer-text")
    assert WRAPPED_SENTENCE in answer.inner_text()  # joined: one line, no hard break
    assert answer.evaluate("el => el.getClientRects().length") == 1
    quotes = reply.locator("blockquote")
    assert quotes.count() == reply.locator("ol.cites > li").count() >= 3
    for quote in quotes.all():
        assert quote.is_visible()
        _assert_readable(quote.inner_text())
    _assert_readable(reply.inner_text())
    lines = _passage_lines(reply)
    assert WRAPPED_SENTENCE in " ".join(lines) and any(WRAPPED_SENTENCE in line for line in lines)
    # A table passage: each row is its own line with its headers, list items keep their bullets.
    for line in (
        "Bike type: Cargo bike · Monthly limit: 150 euros",
        "• Helmets and locks count as accessories.",
    ):
        assert line in lines
    table = reply.locator("blockquote", has_text="Cargo bike")
    tops = [box["y"] for box in (p.bounding_box() for p in table.locator("p").all()) if box]
    assert len(tops) >= 4 and tops == sorted(set(tops)), "display lines are stacked, one per line"
    # The citation still opens the viewer on the verbatim span (markup and all).
    doc_id, start, end = offsets(reply.locator("a.ref").get_attribute("href"))
    assert squash(document_text(markdown_server.url, doc_id)[start:end]) == WRAPPED_SENTENCE
    save_artifact(page, "widget-markdown.png")

    page.reload()  # the stored conversation is re-rendered from display too
    restored = widget(page, "answer").first
    restored.wait_for(state="visible")
    _expand_all(restored)
    assert WRAPPED_SENTENCE in restored.locator(".answer-text").inner_text()
    assert _passage_lines(restored) == lines
    _assert_readable(restored.inner_text())
    assert page.errors == []


# --------------------------------------------------------------------------- safety and isolation


def test_markup_from_the_server_is_shown_as_text(xss_server: LiveServer, page: Any) -> None:
    open_demo(page, xss_server.url)
    widget(page, "launcher").click()
    reply = ask(page, XSS_QUESTION)
    for summary in reply.locator("summary").all():
        summary.click()
    page.wait_for_timeout(500)  # give any injected handler the chance to fire

    # Every sentence of the cited section carries the payload, so the answer itself does too.
    assert XSS_PAYLOAD in reply.locator(".answer-text").inner_text()
    assert XSS_PAYLOAD in reply.locator("blockquote").first.inner_text()
    assert "<img src=x onerror=alert('manifest')>" in reply.locator("ol.cites a").first.inner_text()
    assert "<script>alert('section')</script>" in (reply.text_content() or "")
    assert page.dialogs == []
    injected = shadow_eval(
        page, "return root.querySelectorAll('img, script, svg:not([aria-hidden]), b, iframe').length"
    )
    assert injected == 0
    assert page.locator("body img").count() == 0

    link = reply.locator("[data-docqa=citation]").first
    with page.context.expect_page() as popup_info:
        link.click()
    viewer = popup_info.value
    viewer.wait_for_load_state()
    viewer.wait_for_timeout(500)
    assert page.dialogs == [] and viewer.locator("img").count() == 0


def test_hostile_host_css_does_not_restyle_the_widget(
    server: LiveServer, host_pages: HostPages, page: Any
) -> None:
    page.goto(host_pages.write("hostile.html", HOSTILE_CSS, server.url, with_widget=True))
    launcher = widget(page, "launcher")
    launcher.wait_for(state="visible")
    style = shadow_eval(
        page,
        "const s = getComputedStyle(root.querySelector('[data-docqa=launcher]'));"
        "return {color: s.color, size: s.fontSize, bg: s.backgroundColor,"
        " pos: s.position, tt: s.textTransform};",
    )
    assert style == {
        "color": "rgb(255, 255, 255)",
        "size": "15px",
        "bg": "rgb(15, 118, 110)",
        "pos": "fixed",
        "tt": "none",
    }
    box = launcher.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 860

    launcher.click()
    reply = ask(page, "Who reports to the COO?")  # cross-origin: allowed by the service's CORS list
    answer_style = shadow_eval(
        page,
        "const s = getComputedStyle(root.querySelector('.answer-text'));"
        "return {color: s.color, size: s.fontSize, serif: /(^|, *)serif/.test(s.fontFamily)};",
    )
    assert answer_style == {"color": "rgb(17, 24, 39)", "size": "15px", "serif": False}
    panel = page.locator("#docqa-widget [role=dialog]").bounding_box()
    assert panel is not None and 300 <= panel["width"] <= 400 and panel["height"] > 300
    assert reply.locator("[data-docqa=citation]").count() >= 1
    save_artifact(page, "widget-hostile-host.png")


PROBE_HOST_STYLES = (
    "(props) => Object.fromEntries([...document.querySelectorAll('body *:not(script):not(#docqa-widget)')]"
    ".map((el, i) => [el.id || el.tagName + i,"
    " Object.fromEntries(props.map((p) => [p, getComputedStyle(el)[p]]))]))"
)
BODY_CHILDREN = (
    "() => [...document.body.children].filter((e) => e.tagName !== 'SCRIPT').map((e) => e.id || e.tagName)"
)


def test_widget_styles_do_not_leak_into_the_host_page(
    server: LiveServer, host_pages: HostPages, page: Any
) -> None:
    page.goto(host_pages.write("plain.html", PLAIN_CSS, server.url, with_widget=False))
    baseline = page.evaluate(PROBE_HOST_STYLES, PROBED_STYLES)
    children = page.evaluate(BODY_CHILDREN)
    sheets = page.evaluate("() => document.styleSheets.length")

    page.goto(host_pages.write("plain-widget.html", PLAIN_CSS, server.url, with_widget=True))
    widget(page, "launcher").click()
    ask(page, "Who reports to the COO?")
    assert page.evaluate(PROBE_HOST_STYLES, PROBED_STYLES) == baseline
    assert page.evaluate("() => document.styleSheets.length") == sheets
    assert page.evaluate(BODY_CHILDREN) == [*children, "docqa-widget"]


def test_widget_works_under_a_strict_content_security_policy(
    server: LiveServer, host_pages: HostPages, page: Any
) -> None:
    # No inline styles or scripts allowed: the widget may only load its script and call the API.
    csp = f"default-src 'none'; script-src {server.url}; connect-src {server.url}; style-src 'none'"
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    page.goto(host_pages.write("csp.html", "", server.url, with_widget=True, head=meta))
    widget(page, "launcher").click()
    reply = ask(page, "Who reports to the COO?")
    background = shadow_eval(page, "return getComputedStyle(root.querySelector('.head')).backgroundColor")
    assert background == "rgb(15, 118, 110)"  # styled, with the data-accent colour
    assert reply.locator("[data-docqa=citation]").count() >= 1
    assert violations == []


def test_optional_attributes_set_title_greeting_position_and_accent(
    server: LiveServer, host_pages: HostPages, page: Any
) -> None:
    attrs = (
        'data-title="HR &lt;handbook&gt;" data-greeting="Ask about leave." '
        'data-position="bottom-left" data-accent="red; background: url(x)"'
    )
    page.goto(host_pages.write("options.html", PLAIN_CSS, server.url, with_widget=True, attrs=attrs))
    launcher = widget(page, "launcher")
    launcher.wait_for(state="visible")
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 100  # bottom-left
    assert launcher.inner_text().strip() == "HR <handbook>"
    launcher.click()
    assert page.locator("#docqa-widget [role=dialog] h2").inner_text() == "HR <handbook>"
    assert "Ask about leave." in page.locator("#docqa-widget .greeting").inner_text()
    # An invalid colour falls back to the default accent instead of injecting CSS.
    background = shadow_eval(page, "return getComputedStyle(root.querySelector('.head')).backgroundColor")
    assert background == "rgb(29, 78, 216)"


# --------------------------------------------------------------------------- protected viewer (issue 11)

PROTECTED_KEY = "widget-browser-key-7d1f"


@pytest.fixture(scope="module")
def protected_server(
    host_pages: HostPages, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The real service with API keys: the viewer opens only with a key or a signed link."""
    env = {
        **service_env,
        "DOCQA_API_KEYS": PROTECTED_KEY,
        "DOCQA_CORS_ORIGINS": host_pages.url,
        "DOCQA_DATA_DIR": str(tmp_path_factory.mktemp("protected-widget-data")),
    }
    with live_server(env) as srv:
        yield srv


def test_citation_opens_the_protected_viewer_through_its_signed_link(
    protected_server: LiveServer, host_pages: HostPages, page: Any
) -> None:
    attrs = f'{ACCENT} data-api-key="{PROTECTED_KEY}"'
    page.goto(
        host_pages.write("protected.html", PLAIN_CSS, protected_server.url, with_widget=True, attrs=attrs)
    )
    widget(page, "launcher").click()
    reply = ask(page, "Who reports to the COO?")
    citation = reply.locator("[data-docqa=citation]").first
    href = citation.get_attribute("href")
    assert href.startswith(protected_server.url + "/documents/") and "&sig=" in href
    with page.context.expect_page() as popup_info:
        citation.click()
    viewer = popup_info.value
    viewer.wait_for_load_state()
    assert viewer.url == href
    viewer.locator("mark#cited").wait_for(state="visible")
    # The same document without the signature is refused: the link, not the browser, carries access.
    assert httpx.get(href.split("&exp=")[0], timeout=30).status_code == 401
    assert page.errors == []
