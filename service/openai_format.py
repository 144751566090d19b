"""An answer as OpenAI chat-completion text: words with [n] markers, a Sources list, url_citations.

Shared by `POST /v1/chat/completions` and the MCP `ask` tool. The citations are the ones the
Slack bot shows (`service.slack.render.citations`: the answer span first, then the best other
passages), with the same absolute viewer links; each ``[n]`` marker's offsets are recorded while
the text is built, never found by searching it (a document may itself contain "[1]").

Example:
    >>> reply = render_reply(result.to_dict(), "http://localhost:8000")      # doctest: +SKIP
    >>> a = reply.annotations[0]["url_citation"]
    >>> reply.content[a["start_index"] : a["end_index"]]
    '[1]'
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.slack.render import citations, shown_text

MODEL_ID = "docqa"
NO_ANSWER = "The documents don't answer this."
_CHUNK_CHARS = 48


@dataclass(frozen=True)
class Reply:
    """The rendered answer: `content` and one ``url_citation`` annotation per cited source."""

    content: str
    annotations: tuple[dict[str, Any], ...]


class _Builder:
    """Text under construction that remembers where each citation marker landed."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.markers: dict[int, tuple[int, int]] = {}

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def marker(self, number: int) -> None:
        text = f"[{number}]"
        self.markers.setdefault(number, (self.length, self.length + len(text)))
        self.add(text)


def _link_label(text: str) -> str:
    """A Markdown link label: brackets and newlines would end or break it."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def _source_line(builder: _Builder, number: int, cite: Mapping[str, Any]) -> None:
    builder.add("\n")
    builder.marker(number)
    builder.add(f" [{_link_label(str(cite['title']))}]({cite['url']})")
    details = [str(cite["place"])] if cite["place"] else []
    if cite["section"]:
        details.append(" ".join(str(cite["section"]).split()))
    if details:
        builder.add(" — " + " · ".join(details))


def _clarification_note(result: Mapping[str, Any]) -> str:
    notes = []
    for clarification in result.get("clarifications") or []:
        meanings = [str(m["expansion"]) for m in clarification["meanings"]]
        notes.append(
            f"Note: {clarification['term']} means different things in these documents: "
            f"{'; '.join(meanings)}. Reply with the one you mean (for example “{meanings[0]}”)."
        )
    return "\n".join(notes)


def render_reply(result: Mapping[str, Any], base_url: str) -> Reply:
    """Render a QueryResponse (or chat reply) dict as chat-completion content and annotations.

    Args:
        result: The QueryResponse dict (`QueryResult.to_dict()`).
        base_url: Base of the absolute viewer links (``DOCQA_PUBLIC_URL``).

    Returns:
        The content (the answer with ``[1]``, any clarification note, then "Sources:"; or, when
        the documents don't answer, that statement and the closest sources) and the annotations,
        whose ``start_index``/``end_index`` slice each ``[n]`` marker out of the content.
    """
    cited = citations(result, base_url)
    answer = result.get("answer")
    builder = _Builder()
    answered = bool(answer) and not result.get("abstained")
    if answered and answer:
        builder.add(" ".join(shown_text(answer).split()) + " ")
        builder.marker(1)
    else:
        builder.add(NO_ANSWER)
    note = _clarification_note(result)
    if note:
        builder.add("\n\n" + note)
    if cited:
        builder.add("\n\nSources:" if answered else "\n\nThe closest sources:")
    for number, cite in enumerate(cited, start=1):
        _source_line(builder, number, cite)
    annotations = tuple(
        {
            "type": "url_citation",
            "url_citation": {
                "start_index": builder.markers[number][0],
                "end_index": builder.markers[number][1],
                "url": cite["url"],
                "title": str(cite["title"]),
            },
        }
        for number, cite in enumerate(cited, start=1)
    )
    return Reply(content="".join(builder.parts), annotations=annotations)


def completion_id() -> str:
    """A fresh ``chatcmpl-…`` id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(reply: Reply, extension: Mapping[str, Any], completion_id: str) -> dict[str, Any]:
    """The ``chat.completion`` object of a non-streamed reply; `extension` rides under ``docqa``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.content,
                    "refusal": None,
                    "annotations": list(reply.annotations),
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "docqa": dict(extension),
    }


def _chunk(completion_id: str, created: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def split_content(content: str, size: int = _CHUNK_CHARS) -> list[str]:
    """Pieces of about `size` characters, cut after whitespace, that join back to `content`."""
    pieces: list[str] = []
    start = 0
    while start < len(content):
        end = min(len(content), start + size)
        if end < len(content):
            cut = max(content.rfind(" ", start, end), content.rfind("\n", start, end))
            end = cut + 1 if cut > start else end
        pieces.append(content[start:end])
        start = end
    return pieces


def completion_chunks(
    reply: Reply, extension: Mapping[str, Any], completion_id: str
) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order.

    The role comes first, then the content in pieces, then the annotations, then an empty delta
    with ``finish_reason: "stop"`` that also carries the ``docqa`` extension.
    """
    created = int(time.time())
    yield _chunk(completion_id, created, {"role": "assistant", "content": ""}, None)
    for piece in split_content(reply.content):
        yield _chunk(completion_id, created, {"content": piece}, None)
    if reply.annotations:
        yield _chunk(completion_id, created, {"annotations": list(reply.annotations)}, None)
    final = _chunk(completion_id, created, {}, "stop")
    final["docqa"] = dict(extension)
    yield final


def models_list(created: int) -> dict[str, Any]:
    """The ``GET /v1/models`` list: the one model, ``docqa``."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": created, "owned_by": "docqa"}],
    }


def error_body(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error JSON; `code` and `message` also make it the service's own error shape."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_type(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    kinds = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    return kinds.get(status, "server_error" if status >= 500 else "invalid_request_error")


def text_of(content: str | Sequence[Mapping[str, Any]] | None) -> str:
    """The text of a message's ``content``: a string, or the ``text`` parts of a list joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text") or "") for part in content if part.get("type") == "text")
