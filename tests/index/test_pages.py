"""Page and slide numbers on passages and answers (issue 10), on a real index of paged documents.

The documents are hand-made from the made-up texts in `tests/data/paged/`: a visitor guide of
three pages joined by form feeds (one sentence runs from page 2 onto page 3), a three-slide deck
and a document without pages. Expected pages are counted from the form feeds, independently of
`index.pages`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from corpus.models import Document
from index import build_index_from_documents, load_index
from index.pages import Location, locate, page_label, page_of
from index.types import AnswerSpan, Passage

PAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "paged"
GUIDE, DECK, PLAIN = "observatory-guide", "bakery-orientation", "canteen-notes"
PASSAGE_KEYS = {
    "rank",
    "score",
    "doc_id",
    "title",
    "source",
    "section",
    "start",
    "end",
    "text",
    "display",
    "url",
}
ANSWER_KEYS = {"text", "doc_id", "start", "end", "passage_rank", "display", "url"}
PAGE_KEYS = {"page", "page_end", "slide"}


def form_feed_starts(text: str) -> tuple[int, ...]:
    """Start offset of every page of a text whose pages are joined by form feeds."""
    return (0, *(i + 1 for i, char in enumerate(text) if char == "\f"))


def with_page_starts(documents: Iterable[Document]) -> list[Document]:
    """The fixture documents with the guide's `pages` and the deck's `slides` filled in."""
    out = []
    for doc in documents:
        if doc.doc_id == GUIDE:
            doc = dataclasses.replace(doc, pages=form_feed_starts(doc.text))
        elif doc.doc_id == DECK:
            doc = dataclasses.replace(doc, slides=form_feed_starts(doc.text))
        out.append(doc)
    return out


def hand_made_documents() -> list[Document]:
    """The three fixture documents, built by hand (no corpus loader involved)."""
    titles = {
        GUIDE: "Quillmoor Observatory visitor guide",
        DECK: "Kestrel Bakery orientation",
        PLAIN: "Canteen notes",
    }
    return with_page_starts(
        Document(
            doc_id=doc_id,
            title=title,
            source=f"paged/{doc_id}.txt",
            text=(PAGED_DIR / f"{doc_id}.txt").read_text(encoding="utf-8"),
        )
        for doc_id, title in titles.items()
    )


def expected(text: str, start: int, end: int) -> tuple[int, int]:
    """First and last page of the span's non-blank text, by counting form feeds before them."""
    span = text[start:end]
    first = start + len(span) - len(span.lstrip())
    last = end - (len(span) - len(span.rstrip())) - 1
    return text[:first].count("\f") + 1, text[: last + 1].count("\f") + 1


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {d.doc_id: d for d in hand_made_documents()}


@pytest.fixture(scope="module")
def paged_index(
    tmp_path_factory: pytest.TempPathFactory, documents: dict[str, Document], model_path: str
) -> Any:
    """A real index (MiniLM, FAISS, BM25) of the hand-made paged documents."""
    index_dir = tmp_path_factory.mktemp("paged-index") / "index"
    build_index_from_documents(list(documents.values()), index_dir, model_path)
    return load_index(index_dir, model_path)


def assert_located(span: Passage | AnswerSpan, documents: dict[str, Document]) -> None:
    """`page`/`page_end`/`slide` of a span agree with the form feeds of its document."""
    doc = documents[span.doc_id]
    first, last = expected(doc.text, span.start, span.end)
    if doc.pages:
        assert (span.page, span.page_end) == (first, last if last > first else None), span
    else:
        assert span.page is None and span.page_end is None, span
    assert span.slide == (first if doc.slides else None), span


# --------------------------------------------------------------------------- page_of, locate, page_label


@pytest.mark.parametrize(
    ("starts", "offset", "page"),
    [
        ((), 0, None),
        ((), 500, None),
        ((0,), 0, 1),
        ((0, 10, 20), 0, 1),
        ((0, 10, 20), 9, 1),  # the form feed closing page 1 belongs to page 1
        ((0, 10, 20), 10, 2),
        ((0, 10, 20), 19, 2),
        ((0, 10, 20), 20, 3),
        ((0, 10, 20), 10_000, 3),
        ((5, 10), 2, 1),  # text before the first start counts as page 1
    ],
)
def test_page_of_numbers_pages_from_one(starts: Sequence[int], offset: int, page: int | None) -> None:
    assert page_of(starts, offset) == page


@pytest.mark.parametrize(
    ("start", "end", "where"),
    [
        (0, 3, Location(page=1)),
        (4, 9, Location(page=2)),
        (0, 9, Location(page=1, page_end=2)),
        (2, 5, Location(page=1)),  # "c\n\f": the break at its end does not make it cross
        (3, 9, Location(page=2)),  # "\n\fdef\n\f": neither do breaks at its start
        (4, 12, Location(page=2, page_end=3)),
        (3, 5, Location(page=1)),  # only blanks: located by its first character
    ],
)
def test_locate_ignores_blanks_and_form_feeds_at_the_edges(start: int, end: int, where: Location) -> None:
    text = "abc\n\fdef\n\fgh"
    doc = Document("d", "D", "d.txt", text, pages=form_feed_starts(text))
    assert locate(doc, start, end) == where


def test_locate_gives_slides_and_nothing_for_documents_without_pages() -> None:
    text = "one\ftwo\fthree"
    deck = Document("d", "D", "d.pptx", text, slides=form_feed_starts(text))
    assert locate(deck, 4, 7) == Location(slide=2)
    assert locate(dataclasses.replace(deck, slides=()), 4, 7) == Location()


@pytest.mark.parametrize(
    ("page", "page_end", "slide", "label"),
    [
        (None, None, None, ""),
        (2, None, None, "p. 2"),
        (2, 3, None, "pp. 2–3"),
        (2, 2, None, "p. 2"),
        (None, None, 4, "slide 4"),
        (1, None, 4, "p. 1, slide 4"),
    ],
)
def test_page_label_says_p_pp_or_slide(
    page: int | None, page_end: int | None, slide: int | None, label: str
) -> None:
    assert page_label(page, page_end, slide) == label


# --------------------------------------------------------------------------- a real index


@pytest.mark.model
def test_answer_on_the_first_page_cites_page_1(paged_index: Any, documents: dict[str, Document]) -> None:
    result = paged_index.query("When does the observatory dome open?", 3)
    answer = result.answer
    assert answer is not None and "seven in the evening" in answer.text
    assert (answer.doc_id, answer.page, answer.page_end, answer.slide) == (GUIDE, 1, None, None)
    assert documents[GUIDE].text[answer.start : answer.end] == answer.text
    assert result.to_dict()["answer"]["page"] == 1
    for passage in result.passages:
        assert_located(passage, documents)


@pytest.mark.model
def test_answer_on_a_later_page_cites_that_page(paged_index: Any, documents: dict[str, Document]) -> None:
    result = paged_index.query("Where are lost lens caps kept?", 3)
    answer = result.answer
    assert answer is not None and "brass cabinet" in answer.text
    assert (answer.page, answer.page_end) == (3, None)
    home = next(p for p in result.passages if p.rank == answer.passage_rank)
    assert home.page == 3 and home.page_end is None
    assert_located(answer, documents)


@pytest.mark.model
def test_passage_across_a_page_break_has_page_end(paged_index: Any, documents: dict[str, Document]) -> None:
    result = paged_index.query("Who staffs the small reflectors on the roof terrace?", 5)
    crossing = next(p for p in result.passages if "roof terrace" in p.text)
    assert "\f" in crossing.text.strip()
    assert (crossing.page, crossing.page_end) == (2, 3)
    body = crossing.to_dict()
    assert (body["page"], body["page_end"], body["slide"]) == (2, 3, None)
    for passage in result.passages:
        assert_located(passage, documents)


@pytest.mark.model
def test_answer_sentence_across_a_page_break_has_page_end(
    paged_index: Any, documents: dict[str, Document]
) -> None:
    answer = paged_index.query("Who staffs the small reflectors on the roof terrace?", 5).answer
    assert answer is not None and "roof terrace" in answer.text and "volunteers" in answer.text
    assert (answer.page, answer.page_end, answer.slide) == (2, 3, None)
    assert answer.to_dict()["page_end"] == 3
    assert_located(answer, documents)


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "phrase", "slide"),
    [
        ("When are the aprons washed?", "Tuesdays", 3),
        ("Who lights the stone ovens?", "four in the morning", 2),
    ],
)
def test_answers_from_a_deck_cite_their_slide(
    paged_index: Any, documents: dict[str, Document], question: str, phrase: str, slide: int
) -> None:
    answer = paged_index.query(question, 3).answer
    assert answer is not None and phrase in answer.text
    assert (answer.doc_id, answer.slide, answer.page, answer.page_end) == (DECK, slide, None, None)
    assert_located(answer, documents)


@pytest.mark.model
def test_documents_without_pages_get_null_page_fields(paged_index: Any) -> None:
    result = paged_index.query("What soup does the canteen serve?", 3)
    assert result.answer is not None and result.answer.doc_id == PLAIN
    body = result.to_dict()
    assert set(body["answer"]) == ANSWER_KEYS | PAGE_KEYS
    assert all(body["answer"][key] is None for key in PAGE_KEYS)
    plain = [p for p in body["passages"] if p["doc_id"] == PLAIN]
    assert plain and all(p[key] is None for p in plain for key in PAGE_KEYS)
    assert all(set(p) == PASSAGE_KEYS | PAGE_KEYS for p in body["passages"])


@pytest.mark.model
def test_every_citation_of_many_questions_has_the_page_of_its_offsets(
    paged_index: Any, documents: dict[str, Document]
) -> None:
    questions = [
        "How long does each telescope booking last?",
        "Where are bookings for the refractor telescope made?",
        "When does the observatory close for maintenance?",
        "Where can I park?",
        "What do new bakers get?",
    ]
    for question in questions:
        result = paged_index.query(question, 6)
        for span in [*result.passages, *([result.answer] if result.answer else [])]:
            assert documents[span.doc_id].text[span.start : span.end] == span.text
            assert_located(span, documents)
