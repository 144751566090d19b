"""Request and response models of the HTTP API (the contract's JSON names, with OpenAPI examples).

Routes return the index's own `to_dict()` output directly; these models document it in
`/openapi.json` and the contract tests validate real responses against them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

EXAMPLE_PASSAGE: dict[str, Any] = {
    "rank": 1,
    "score": 0.0328,
    "doc_id": "customer-officer-vs-coo",
    "title": "Chief Customer Officer vs Chief Operating Officer: The Differences",
    "source": "corpus/documents/002_0a07134e0e61bcb5.txt",
    "section": "FAQ › Who reports to the COO?",
    "start": 11730,
    "end": 11919,
    "text": "Department heads and managers typically report to the COO. This includes leaders of "
    "various operational departments such as production, marketing, human resources, and sales.",
    "display": "Department heads and managers typically report to the COO. This includes leaders of "
    "various operational departments such as production, marketing, human resources, and sales.",
    "url": "/documents/customer-officer-vs-coo?start=11730&end=11919",
    "page": None,
    "page_end": None,
    "slide": None,
}
EXAMPLE_ANSWER: dict[str, Any] = {
    "text": "Department heads and managers typically report to the COO.",
    "doc_id": "customer-officer-vs-coo",
    "start": 11730,
    "end": 11788,
    "passage_rank": 1,
    "display": "Department heads and managers typically report to the COO.",
    "url": "/documents/customer-officer-vs-coo?start=11730&end=11788",
    "page": None,
    "page_end": None,
    "slide": None,
}
EXAMPLE_CLARIFICATION: dict[str, Any] = {
    "term": "CCO",
    "meanings": [
        {"expansion": "Chief Commercial Officer", "doc_ids": ["cco-vs-coo", "cco-vs-cro"]},
        {"expansion": "Chief Customer Officer", "doc_ids": ["customer-officer-vs-coo"]},
    ],
}
EXAMPLE_QUERY_RESPONSE: dict[str, Any] = {
    "question": "Who reports to the COO?",
    "answer": EXAMPLE_ANSWER,
    "abstained": False,
    "confidence": 0.87,
    "passages": [EXAMPLE_PASSAGE],
    "clarifications": [],
}

_ANSWER_DISPLAY = (
    "The same span as `text`, as clean readable text for showing to people: Markdown markup and "
    "template tags removed, wrapped lines joined, a table row as `Header: cell · Header: cell`. "
    "Quote `text` (with the offsets) to cite; show `display`."
)
_PASSAGE_DISPLAY = (
    "The same span as `text`, as clean readable text: markup and template tags removed, wrapped "
    "lines joined, one line (`\\n`-separated) per paragraph, list item (`• item`) or table row "
    "(`Header: cell · Header: cell`)."
)
_PAGE = (
    "For a paged document (PDF): the 1-based page the span starts on, as the viewer shows it "
    '("page N of M"). Null for documents without pages.'
)
_PAGE_END = (
    "The page the span ends on, only when it crosses into a later page (the span covers pages "
    "`page`..`page_end`); null otherwise."
)
_SLIDE = "For a slide deck (PPTX): the 1-based slide the span is on. Null for other documents."
_PAGES = "Number of pages of a paged document (PDF); null for documents without pages."
_SLIDES = "Number of slides of a slide deck (PPTX); null for other documents."


def _page_field() -> Any:
    return Field(None, ge=1, description=_PAGE, examples=[2, None])


def _page_end_field() -> Any:
    return Field(None, ge=2, description=_PAGE_END, examples=[3, None])


def _slide_field() -> Any:
    return Field(None, ge=1, description=_SLIDE, examples=[4, None])


def _whole_number(value: object) -> object:
    """JSON Schema's ``integer`` includes ``6.0``: accept it as 6, as the schema promises (6.5 stays
    invalid, and so do strings and booleans)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TopK = Annotated[
    int,
    Field(ge=1, le=50, description="How many passages to return (1..50; an integer, `6.0` counts as 6)."),
    BeforeValidator(_whole_number),
]
_QUESTION_RULES = (
    "not empty or only white space, at most `DOCQA_MAX_QUESTION_CHARS` (default 4000) characters, "
    "valid Unicode (no lone UTF-16 surrogate such as `\\ud800`)"
)


class QueryRequest(BaseModel):
    """A standalone question.

    Types are strict: `top_k` must be a JSON integer (`6.0` counts as one), `question` a JSON string.
    """

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={"examples": [{"question": "Who reports to the COO?", "top_k": 5}]},
    )

    question: str = Field(
        description=f"The question: {_QUESTION_RULES}.", examples=["Who reports to the COO?"]
    )
    top_k: TopK = 5


class ChatRequest(BaseModel):
    """One message of a conversation; omit `session_id` to start a new one."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "examples": [
                {"message": "What does a chief revenue officer focus on?"},
                {"session_id": "3f2c9a1e5b7d4c0e8a6f1b2d3c4e5f60", "message": "Who do they report to?"},
            ]
        },
    )

    session_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Conversation id returned by an earlier call; a new one is issued when omitted. "
        "Ids are issued by the service only: one it did not issue, or that expired, "
        "gets 404 `unknown_session`.",
    )
    message: str = Field(description=f"The user's message (a question or a follow-up): {_QUESTION_RULES}.")
    top_k: TopK = 5


class AnswerOut(BaseModel):
    """The answering sentence, an exact span of one document."""

    text: str = Field(description="Equals `document.text[start:end]`.")
    doc_id: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    passage_rank: int = Field(ge=1, description="Rank of the passage the answer comes from.")
    display: str = Field(
        description=_ANSWER_DISPLAY,
        examples=["Bike type: Cargo bike · Monthly limit: 150 euros"],
    )
    url: str | None = Field(None, description="Citation viewer link for the answer span.")
    page: int | None = _page_field()
    page_end: int | None = _page_end_field()
    slide: int | None = _slide_field()


class PassageOut(BaseModel):
    """A retrieved passage with everything a citation needs."""

    rank: int = Field(ge=1)
    score: float
    doc_id: str
    title: str
    source: str
    section: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str = Field(description="Equals `document.text[start:end]`.")
    display: str = Field(
        description=_PASSAGE_DISPLAY,
        examples=["Permanent employees can join.\n• Helmets count as accessories."],
    )
    url: str = Field(description="Relative link to the citation viewer, span highlighted.")
    page: int | None = _page_field()
    page_end: int | None = _page_end_field()
    slide: int | None = _slide_field()


class MeaningOut(BaseModel):
    """One expansion of an ambiguous acronym and the documents that use it."""

    expansion: str
    doc_ids: list[str]


class ClarificationOut(BaseModel):
    """An acronym of the question that means different things in different documents."""

    term: str
    meanings: list[MeaningOut]


class QueryResponse(BaseModel):
    """The contract's QueryResponse."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_QUERY_RESPONSE]})

    question: str
    answer: AnswerOut | None = Field(description="Null when `abstained` is true.")
    abstained: bool = Field(description="True when the corpus does not answer the question.")
    confidence: float = Field(ge=0.0, le=1.0)
    passages: list[PassageOut] = Field(description="Ordered by rank, 1 = best.")
    clarifications: list[ClarificationOut] = Field(description="Ambiguous acronyms of the question.")


class ChatResponse(QueryResponse):
    """A QueryResponse plus the conversation id and the standalone question that was searched."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **EXAMPLE_QUERY_RESPONSE,
                    "question": "Who do they report to?",
                    "session_id": "3f2c9a1e5b7d4c0e8a6f1b2d3c4e5f60",
                    "resolved_question": "Who does the chief revenue officer report to?",
                }
            ]
        }
    )

    session_id: str
    resolved_question: str


class DocumentSummary(BaseModel):
    """One entry of `GET /v1/documents`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "cco-vs-cro",
                    "title": "What is the difference between CCO and CRO?",
                    "source": "corpus/documents/001_fd03dcd6d25ed936.txt",
                    "chars": 2853,
                    "pages": None,
                    "slides": None,
                },
                {
                    "doc_id": "travel-policy",
                    "title": "Travel policy",
                    "source": "handbook/travel-policy.pdf",
                    "chars": 18234,
                    "pages": 12,
                    "slides": None,
                },
            ]
        }
    )

    doc_id: str
    title: str
    source: str
    chars: int = Field(ge=0, description="Length of the document text in characters.")
    pages: int | None = Field(None, ge=1, description=_PAGES)
    slides: int | None = Field(None, ge=1, description=_SLIDES)


class DocumentOut(BaseModel):
    """A whole document; every citation offset points into `text`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "cco-vs-cro",
                    "title": "What is the difference between CCO and CRO?",
                    "source": "corpus/documents/001_fd03dcd6d25ed936.txt",
                    "text": "askvity\n\nWhat is the difference between CCO and CRO?\n…",
                    "pages": None,
                    "slides": None,
                    "page_starts": [],
                    "slide_starts": [],
                },
                {
                    "doc_id": "travel-policy",
                    "title": "Travel policy",
                    "source": "handbook/travel-policy.pdf",
                    "text": "Travel policy\n…\fBooking\n…\fExpenses\n…",
                    "pages": 3,
                    "slides": None,
                    "page_starts": [0, 1480, 3012],
                    "slide_starts": [],
                },
            ]
        }
    )

    doc_id: str
    title: str
    source: str
    text: str
    pages: int | None = Field(None, ge=1, description=_PAGES)
    slides: int | None = Field(None, ge=1, description=_SLIDES)
    page_starts: list[int] = Field(
        default_factory=list,
        description="Start offset in `text` of each page (page N is `text[page_starts[N-1]:page_starts[N]]`, "
        "pages joined by a form feed); empty for documents without pages.",
        examples=[[0, 1480, 3012]],
    )
    slide_starts: list[int] = Field(
        default_factory=list,
        description="Start offset in `text` of each slide of a deck; empty otherwise.",
        examples=[[0, 210, 655]],
    )


class ErrorDetail(BaseModel):
    """A stable machine-readable `code` and a human message saying what to do next."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """The one error shape of every non-2xx JSON response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": {"code": "empty_question", "message": "The question is empty."}}]
        }
    )

    error: ErrorDetail


class HealthOut(BaseModel):
    """Liveness or readiness status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok"}, {"status": "ready", "documents": 4, "generation": 1}]
        }
    )

    status: str = Field(examples=["ok", "ready"])
    documents: int | None = Field(None, description="Documents in the loaded index (readiness only).")
    generation: int | None = Field(None, description="How many times an index was loaded (readiness only).")


class ReloadRequest(BaseModel):
    """Options of a hot reload."""

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [{"rebuild": False}]})

    rebuild: bool = Field(
        False, description="Rebuild the index from `DOCQA_CORPUS_DIR` before loading it (slow)."
    )


class ReloadOut(BaseModel):
    """Outcome of a hot reload."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "reloaded", "documents": 4, "seconds": 1.92}]}
    )

    status: str
    documents: int
    seconds: float


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error shape for the given statuses."""
    described = {
        400: "Malformed JSON or a bad parameter.",
        401: "Missing or wrong API key.",
        403: "Not allowed from this client.",
        404: "Unknown document, or (chat) a session id this service did not issue or that expired.",
        409: "A reload is already running, or (chat) the session is busy with another message.",
        413: "Request body too large.",
        415: "The body is not sent as JSON.",
        422: "Validation error (empty or too long question, top_k out of range, wrong types).",
        429: "Rate limit exceeded; see `Retry-After`.",
        503: "The index is not loaded yet, or the shared state store (Redis) is unreachable.",
    }
    return {s: {"model": ErrorOut, "description": described[s]} for s in statuses}


class SkippedFile(BaseModel):
    """A file of the corpus folder that is not in the index, and why."""

    path: str = Field(description="Path relative to the corpus folder.", examples=["scans/receipt.pdf"])
    reason: str = Field(
        description="Why it was skipped.", examples=["no text layer (scanned? OCR is not supported)"]
    )


class IndexOut(BaseModel):
    """`GET /v1/index`: what the loaded index was built from, and the build's report."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "corpus_dir": "/srv/handbook",
                    "built_at": "2026-11-30T07:24:13Z",
                    "model": "all-MiniLM-L6-v2",
                    "documents": 57,
                    "chunks": 1079,
                    "answer_units": 5000,
                    "changes": {"added": 1, "changed": 0, "removed": 0, "unchanged": 56},
                    "embedded_texts": 42,
                    "cached_texts": 4958,
                    "skipped": [{"path": "scans/receipt.pdf", "reason": "no text layer (scanned?)"}],
                }
            ]
        }
    )

    corpus_dir: str | None = Field(description="The folder the index was built from (absolute).")
    built_at: str | None = Field(description="When the build finished (UTC, ISO 8601).")
    model: str | None = Field(description="The embedding model the index was built with.")
    documents: int = Field(description="Documents in the index.")
    chunks: int = Field(description="Passages (chunks) in the index.")
    answer_units: int | None = Field(description="Sentences, list items and table rows an answer can be.")
    changes: dict[str, int] = Field(
        description="Files added, changed, removed and unchanged since the previous build at this path."
    )
    embedded_texts: int | None = Field(description="Texts the build embedded (the rest came from the cache).")
    cached_texts: int | None = Field(description="Texts whose vectors came from the embedding cache.")
    skipped: list[SkippedFile] = Field(
        description="Files of the folder that are not in the index, with reasons."
    )
