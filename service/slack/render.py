"""Block Kit rendering of a chat answer for Slack.

Everything that comes from a document (answer sentence, titles, sections, passage text) goes
through :func:`escape_mrkdwn`, so a document cannot inject ``<!channel>`` or ``<@U123>``.
People see each span's ``display`` (markup removed, wrapped lines joined), never its raw
``text``; the verbatim ``text`` only travels in the feedback buttons' values, with its offsets.
Button values carry compact JSON that the action handlers in ``events.py`` decode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from index.pages import page_label

Block = dict[str, Any]
Message = dict[str, Any]

ACTION_CLARIFY = "docqa_clarify"
ACTION_FEEDBACK = "docqa_feedback"
ACTION_SHARE = "docqa_share"
MAX_CITATIONS = 3
MAX_CLARIFICATIONS = 5  # two blocks each; Slack allows 50 blocks a message
_SECTION_LIMIT = 2900  # Slack rejects section text over 3000 characters.
_BUTTON_TEXT_LIMIT = 75
_VALUE_LIMIT = 2000
_SNIPPET_CHARS = 220
NO_ANSWER = "The documents don't answer this."


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters so text shows literally.

    Args:
        text: Any text, typically taken from a document.

    Returns:
        The text with ``&``, ``<`` and ``>`` replaced by ``&amp;``, ``&lt;`` and ``&gt;``.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown_text(span: Mapping[str, Any]) -> str:
    """The readable form of an answer or passage: its ``display``, else its raw ``text``.

    Args:
        span: An answer or passage dict of a QueryResponse.

    Returns:
        The text to show people (not yet escaped); servers before ``display`` existed send only ``text``.
    """
    display = span.get("display")
    if isinstance(display, str) and display.strip():
        return display
    return str(span.get("text") or "")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def viewer_url(public_url: str, doc_id: str, start: int, end: int) -> str:
    """The absolute link to the citation viewer with ``[start, end)`` highlighted."""
    base = public_url.rstrip("/")
    return f"{base}/documents/{quote(doc_id, safe='')}?start={start}&end={end}"


def _absolute(public_url: str, url: object) -> str | None:
    """The span's own viewer link (signed when the viewer is protected) made absolute, if it has one."""
    if isinstance(url, str) and url.startswith("/documents/"):
        return public_url.rstrip("/") + url
    return None


def _link(url: str, label: str) -> str:
    # Inside <url|label>, Slack wants & < > escaped in both parts; "|" would end the URL early.
    return f"<{escape_mrkdwn(url)}|{escape_mrkdwn(label).replace('|', '¦')}>"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(text, _BUTTON_TEXT_LIMIT), "emoji": True},
        "action_id": action_id,
        "value": value[:_VALUE_LIMIT],
    }
    if style:
        button["style"] = style
    return button


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SECTION_LIMIT]}}


def citations(result: Mapping[str, Any], public_url: str) -> list[dict[str, Any]]:
    """Up to three citations: the answer span first, then the best other passages.

    Args:
        result: A QueryResponse (or ChatResult) dict.
        public_url: Base of the absolute viewer links.

    Returns:
        Dicts with ``doc_id``, ``title``, ``section``, ``start``, ``end``, ``url``, ``text``
        (the span's readable ``display``) and ``place`` ("p. 2", "pp. 2–3", "slide 4" or "").
    """
    passages: Sequence[Mapping[str, Any]] = result.get("passages") or []
    answer = result.get("answer")
    spans: list[Mapping[str, Any]] = []
    if answer:
        home = next((p for p in passages if p.get("rank") == answer.get("passage_rank")), None)
        home = home or next((p for p in passages if p.get("doc_id") == answer.get("doc_id")), {})
        spans.append({**answer, "title": home.get("title"), "section": home.get("section")})
    rest = [p for p in passages if not answer or p.get("rank") != answer.get("passage_rank")]
    return [_citation(span, public_url) for span in [*spans, *rest][:MAX_CITATIONS]]


def _citation(span: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    doc_id, start, end = str(span["doc_id"]), int(span["start"]), int(span["end"])
    return {
        "doc_id": doc_id,
        "title": span.get("title") or doc_id,
        "section": span.get("section") or "",
        "start": start,
        "end": end,
        "text": shown_text(span),
        "url": _absolute(public_url, span.get("url")) or viewer_url(public_url, doc_id, start, end),
        "place": place(span),
    }


def place(span: Mapping[str, Any]) -> str:
    """Where a cited span is, from its ``page``/``page_end``/``slide`` ("p. 2"; "" when unpaged).

    Args:
        span: An answer or passage dict; missing or malformed page fields are ignored.

    Returns:
        The label shown after the citation's title.
    """

    def number(key: str) -> int | None:
        value = span.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    return page_label(number("page"), number("page_end"), number("slide"))


def _citation_lines(cited: Sequence[Mapping[str, Any]], *, snippets: bool) -> str:
    lines = []
    for number, cite in enumerate(cited, start=1):
        line = f"{number}. {_link(cite['url'], _clip(cite['title'], 150))}"
        if cite["place"]:
            line += f" ({escape_mrkdwn(cite['place'])})"
        if cite["section"]:
            line += f" · _{escape_mrkdwn(_clip(cite['section'], 150))}_"
        if snippets and cite["text"]:
            line += f"\n> {escape_mrkdwn(_clip(cite['text'], _SNIPPET_CHARS))}"
        lines.append(line)
    return "\n".join(lines)


def rewrite_with_meaning(question: str, term: str, expansion: str) -> str:
    """The question with the acronym replaced by the chosen meaning (appended if absent).

    Args:
        question: The standalone question that was asked.
        term: The ambiguous acronym, e.g. ``CCO``.
        expansion: The meaning picked, e.g. ``Chief Customer Officer``.

    Returns:
        A question that no longer contains the ambiguous acronym.
    """
    pattern = re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE)
    if pattern.search(question):
        return pattern.sub(expansion, question)
    return f"{question.rstrip()} ({expansion})"


def _value(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def feedback_value(question: str, answer: str, cited: Sequence[Mapping[str, Any]]) -> str:
    """Compact JSON for the 👍/👎 buttons, kept under Slack's 2000-character value limit."""
    refs = [[c["doc_id"], c["start"], c["end"]] for c in cited]
    q_room = max(100, _VALUE_LIMIT - len(_value({"q": "", "a": "", "c": refs})) - 40)
    q = question[: min(len(question), q_room // 2)]
    a = answer[: q_room - len(q)]
    return _value({"q": q, "a": a, "c": refs})


def _clarification_blocks(result: Mapping[str, Any], session_id: str) -> list[Block]:
    blocks: list[Block] = []
    base = str(result.get("resolved_question") or result.get("question") or "")
    index = 0
    for clarification in (result.get("clarifications") or [])[:MAX_CLARIFICATIONS]:
        term = str(clarification["term"])
        meanings = ", ".join(escape_mrkdwn(m["expansion"]) for m in clarification["meanings"])
        blocks.append(
            _section(
                f"*{escape_mrkdwn(term)}* means different things in these documents "
                f"({meanings}). Which one do you mean?"
            )
        )
        buttons = []
        for meaning in clarification["meanings"][:5]:
            question = rewrite_with_meaning(base, term, str(meaning["expansion"]))
            buttons.append(
                _button(
                    str(meaning["expansion"]),
                    f"{ACTION_CLARIFY}_{index}",
                    _value({"q": question[:1500], "s": session_id[:300]}),
                )
            )
            index += 1
        blocks.append({"type": "actions", "block_id": f"docqa_clarify_{term}"[:255], "elements": buttons})
    return blocks


def render_answer(
    result: Mapping[str, Any],
    public_url: str,
    *,
    session_id: str = "",
    share: bool = False,
    shared_by: str | None = None,
) -> Message:
    """Build the Slack message (``text`` fallback plus ``blocks``) for one chat answer.

    Args:
        result: A ChatResult (or QueryResponse) dict, as the contract defines it.
        public_url: Base of the absolute citation links (``DOCQA_PUBLIC_URL``).
        session_id: The chat session the clarification buttons re-ask in.
        share: Add a "Share in channel" button (for ephemeral ``/ask`` answers).
        shared_by: Slack user id of whoever shared the answer into the channel.

    Returns:
        A dict with ``text`` and ``blocks``, ready for ``chat.postMessage`` or a response_url.
    """
    cited = citations(result, public_url)
    question = str(result.get("resolved_question") or result.get("question") or "")
    answer = result.get("answer")
    abstained = bool(result.get("abstained")) or not answer
    # People read the answer's `display`; the feedback record keeps the verbatim span (`text`).
    shown = "" if abstained or not answer else shown_text(answer)
    verbatim = "" if abstained or not answer else str(answer.get("text") or "")
    blocks: list[Block] = []
    if abstained:
        blocks.append(_section(NO_ANSWER + (" The closest passages:" if cited else "")))
        if cited:
            blocks.append(_section(_citation_lines(cited, snippets=True)))
    else:
        blocks.append(_section(f"{escape_mrkdwn(_clip(shown, 2500))} [1]"))
        blocks.append(_section("*Sources*\n" + _citation_lines(cited, snippets=False)))
    blocks.extend(_clarification_blocks(result, session_id))
    context = f"Confidence {float(result.get('confidence') or 0.0):.2f}"
    if shared_by:
        context += f" · shared by <@{re.sub(r'[^A-Z0-9]', '', shared_by.upper())}>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    blocks.append(_feedback_actions(question, verbatim, cited, share=share))
    headline = NO_ANSWER if abstained else shown
    return {"text": _fallback(headline, cited, abstained=abstained), "blocks": blocks}


def _feedback_actions(
    question: str, answer: str, cited: Sequence[Mapping[str, Any]], *, share: bool
) -> Block:
    value = feedback_value(question, answer, cited)
    elements = [
        _button("👍 Helpful", f"{ACTION_FEEDBACK}_up", value),
        _button("👎 Not helpful", f"{ACTION_FEEDBACK}_down", value),
    ]
    if share:
        elements.append(_button("Share in channel", ACTION_SHARE, _value({"q": question[:1900]}), "primary"))
    return {"type": "actions", "block_id": "docqa_feedback", "elements": elements}


def _fallback(headline: str, cited: Sequence[Mapping[str, Any]], *, abstained: bool) -> str:
    sources = "; ".join(
        f"[{n}] {c['title']}{', ' + c['place'] if c['place'] else ''} ({c['url']})"
        for n, c in enumerate(cited, start=1)
    )
    label = "Closest passages" if abstained else "Sources"
    text = headline + (f" {label}: {sources}" if sources else "")
    return escape_mrkdwn(_clip(text, 3500))


def render_notice(text: str) -> Message:
    """A one-section message for help, errors and acknowledgements (text is escaped)."""
    escaped = escape_mrkdwn(text)
    return {"text": escaped, "blocks": [_section(escaped)]}
