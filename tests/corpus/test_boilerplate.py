"""Running headers, footers and page numbers: found by span, never removed from the text."""

from __future__ import annotations

import pytest

from corpus.boilerplate import boilerplate_spans, is_page_number
from corpus.pdf import join_pages


@pytest.mark.parametrize(
    "line", ["7", " 12 ", "- 7 -", "— 3 —", "(12)", "Page 7", "page 7 of 12", "p. 3", "3 / 10", "vii", "XLII"]
)
def test_bare_page_numbers(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["Total 7", "Page", "mix", "dim", "civil", "Step 3 of the plan", ""])
def test_words_are_not_page_numbers(line: str) -> None:
    assert not is_page_number(line)


def _marked(pages: list[str]) -> list[str]:
    text, starts = join_pages(pages)
    return [text[start:end] for start, end in boilerplate_spans(text, starts)]


def test_lines_repeated_at_page_edges_are_marked_with_their_numbers_ignored() -> None:
    bodies = [("Leave", "Booked in the portal."), ("Sick days", "Need a note."), ("Holidays", "Carry over.")]
    pages = [
        f"ACME handbook\n{title}\nSee HR.\n{body}\nRev. 2024-05 · page {n}"
        for n, (title, body) in enumerate(bodies, 1)
    ]
    marked = [line for n in (1, 2, 3) for line in ("ACME handbook", f"Rev. 2024-05 · page {n}")]
    assert _marked(pages) == marked


def test_lines_repeated_in_the_middle_of_pages_or_at_different_edges_are_text() -> None:
    pages = [
        "Leave\nBooked in the portal.\nSee the table below.\nApproved by managers.\nPaid in full.",
        "Sick days\nNeed a note.\nSee the table below.\nFrom day three.\nSee HR.",
        "See HR.\nHolidays\nSee the table below.\nCarry over.\nUp to five days.",
    ]
    assert _marked(pages) == []


def test_a_line_on_only_one_page_in_four_is_text() -> None:
    pages = ["Summary\nfirst", "Details\nsecond", "Summary\nthird", "Annex\nfourth"]
    assert _marked(pages) == ["Summary", "Summary"]  # on half the pages: a running header
    assert _marked([*pages, "Index\nfifth"]) == []  # on two pages of five: a repeated heading


def test_a_single_page_keeps_its_page_number_marked() -> None:
    assert _marked(["Only page\nSome text.\n  1  "]) == ["1"]
