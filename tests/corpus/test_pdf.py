"""PDF reading on real files made with fpdf2: pages, titles, boilerplate spans, and the skip reasons."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from corpus.loaders import Loaded, UnreadableFile
from corpus.pdf import CORRUPT, ENCRYPTED, NO_TEXT_LAYER
from corpus.registry import load_file
from tests.corpus.makers import FOOTER, PAGE_WORDS, encrypted_pdf, image_only_pdf, three_page_pdf


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    return load_file(three_page_pdf(tmp_path_factory.mktemp("pdf") / "handbook.pdf"))


def _page(loaded: Loaded, number: int) -> str:
    ends = [*loaded.pages[1:], len(loaded.text)]
    return loaded.text[loaded.pages[number - 1] : ends[number - 1]]


def test_pages_are_joined_by_form_feeds_and_their_starts_kept(handbook: Loaded) -> None:
    assert len(handbook.pages) == 3 and handbook.pages[0] == 0
    assert handbook.text.count("\f") == 2
    assert all(handbook.text[start - 1] == "\f" for start in handbook.pages[1:])
    for number, words in enumerate(PAGE_WORDS, 1):
        assert words in _page(handbook, number)
        assert all(words not in _page(handbook, other) for other in {1, 2, 3} - {number})
    assert handbook.meta["format"] == "pdf" and handbook.meta["page_count"] == "3"


def test_heading_and_table_text_are_kept_on_their_pages(handbook: Loaded) -> None:
    assert "Booking travel\n" in _page(handbook, 1)
    assert "City Nightly cap\nParis 180 EUR\nBerlin 150 EUR" in _page(handbook, 2)


def test_title_comes_from_the_metadata(handbook: Loaded) -> None:
    assert handbook.title == "Travel Policy"


def test_without_metadata_the_title_is_the_first_line_that_is_not_a_running_header(tmp_path: Path) -> None:
    loaded = load_file(three_page_pdf(tmp_path / "untitled.pdf", title=None))
    assert loaded.title == "Booking travel"


def test_running_headers_and_footers_are_kept_verbatim_and_their_spans_recorded(handbook: Loaded) -> None:
    spans = json.loads(handbook.meta["boilerplate_spans"])
    marked = [handbook.text[start:end] for start, end in spans]
    footers = [FOOTER.format(n=n) for n in (1, 2, 3)]
    assert marked == [text for n in range(3) for text in ("Acme Travel Handbook", footers[n])]
    for number, (start, end) in enumerate(spans[1::2], 1):
        assert (
            handbook.pages[number - 1]
            <= start
            < end
            <= handbook.pages[number - 1] + len(_page(handbook, number))
        )
    assert all(words not in text for words in PAGE_WORDS for text in marked)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (encrypted_pdf, ENCRYPTED),
        (image_only_pdf, NO_TEXT_LAYER),
        (lambda path: path.write_bytes(b"%PDF-1.7\nthis is not a PDF at all") and path, CORRUPT),
        (lambda path: path.write_bytes(b"") and path, CORRUPT),
    ],
    ids=["encrypted", "scanned", "garbage", "empty-file"],
)
def test_unreadable_pdfs_are_refused_with_their_reason(
    tmp_path: Path, make: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / "bad.pdf"
    make(path)
    with pytest.raises(UnreadableFile) as caught:
        load_file(path)
    assert caught.value.reason == reason


def test_a_tiny_time_limit_kills_the_parser_and_says_timeout(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^timeout \(parsing took longer than 0\.001 s\)$"):
        load_file(three_page_pdf(tmp_path / "slow.pdf"), timeout=0.001)
