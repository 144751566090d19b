"""Word and PowerPoint reading on real files made with python-docx and python-pptx."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from pptx import Presentation
from pptx.util import Inches

from corpus.loaders import UnreadableFile
from corpus.models import Document
from corpus.office import CORRUPT_DOCX, CORRUPT_PPTX, ENCRYPTED, gfm_table
from corpus.registry import load_file
from index.chunking import parse_structure
from tests.corpus.makers import hand_set_word_document, slide_deck, word_document

WORD_TEXT = """\
# Expense policy

Claims are paid monthly. Receipts are required for every claim.

| Item | Limit |
| --- | --- |
| Meals | 40 EUR |
| Taxi | 60 EUR |

## Approvals

- Managers approve claims
- Finance pays them"""


def test_word_body_is_read_in_order_with_headings_and_a_table_with_its_header(tmp_path: Path) -> None:
    loaded = load_file(word_document(tmp_path / "policy.docx"))
    assert loaded.text == WORD_TEXT
    assert loaded.title == "Expense policy"
    assert loaded.meta == {"format": "markdown"}
    assert (loaded.pages, loaded.slides) == ((), ())


def test_word_headings_and_code_set_by_hand_are_read_as_such(tmp_path: Path) -> None:
    loaded = load_file(hand_set_word_document(tmp_path / "travel.docx"))
    text = loaded.text
    assert "# Travel Handbook\n" in text  # 20 pt bold over an 11 pt body: level 1
    assert "## Booking flights\n" in text  # bold at body size, not a sentence: the next level
    assert "\nAlways book economy for flights under six hours." in text  # a bold sentence stays text
    assert "```\ntravel bookings --mine\ntravel bookings --mine --json\n```" in text  # one code block
    assert loaded.title == "Travel Handbook"
    doc = Document("travel", "Travel Handbook", "travel.docx", text, meta=loaded.meta)
    structure = parse_structure(doc)
    assert [b.label for b in structure.blocks if b.kind == "heading"] == [
        "Travel Handbook",
        "Booking flights",
    ]
    units = [u.display for u in structure.units]
    assert not any("--json" in u for u in units)
    assert "Bookings older than a year are archived." in units


def test_word_title_comes_from_the_core_properties(tmp_path: Path) -> None:
    loaded = load_file(word_document(tmp_path / "policy.docx", title="Finance handbook"))
    assert loaded.title == "Finance handbook"


def test_word_table_cells_spanning_columns_are_written_once(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Travel | meals"
    table.cell(0, 2).text = "Cap"
    for cell, text in zip(table.rows[1].cells, ("Lunch", "Dinner", "40"), strict=True):
        cell.text = text
    document.save(str(tmp_path / "merged.docx"))
    text = load_file(tmp_path / "merged.docx").text
    assert text == "| Travel \\| meals |  | Cap |\n| --- | --- | --- |\n| Lunch | Dinner | 40 |"


def test_slides_start_with_their_titles_and_keep_tables_groups_and_notes(tmp_path: Path) -> None:
    loaded = load_file(slide_deck(tmp_path / "results.pptx"))
    first, second = loaded.text[loaded.slides[0] : loaded.slides[1]], loaded.text[loaded.slides[1] :]
    assert loaded.slides[0] == 0
    assert first == (
        "# Quarterly results\n\n- Revenue grew 12 percent\n- Churn fell to 3 percent\n\n"
        "| Region | Sales |\n| --- | --- |\n| North | 120 |\n| South | 95 |\n\n"
    )
    assert (
        second
        == "# Next steps\n\nHire two engineers\n\nOpen the Lyon office\n\nNotes: Mention the budget freeze."
    )
    assert loaded.title == "Quarterly results"
    assert loaded.meta == {"format": "markdown"}


def test_an_untitled_slide_is_named_by_its_number(tmp_path: Path) -> None:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])  # blank layout: no title placeholder
    slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = "Only a text box"
    deck.save(str(tmp_path / "blank.pptx"))
    loaded = load_file(tmp_path / "blank.pptx")
    assert (loaded.text, loaded.slides, loaded.title) == ("# Slide 1\n\nOnly a text box", (0,), None)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.docx", b"PK\x03\x04 not really a zip", CORRUPT_DOCX),
        ("broken.pptx", b"plain text", CORRUPT_PPTX),
        ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, ENCRYPTED),
    ],
)
def test_unreadable_office_files_are_refused_with_their_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableFile) as caught:
        load_file(tmp_path / name)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("rows", "table"),
    [
        ([["a", "b"], ["1"]], "| a | b |\n| --- | --- |\n| 1 |  |"),
        ([["only header"]], "| only header |\n| --- |"),
        ([["", ""], ["", " "]], ""),
        ([["multi\nline", "x|y"]], "| multi line | x\\|y |\n| --- | --- |"),
    ],
)
def test_gfm_tables(rows: list[list[str]], table: str) -> None:
    assert gfm_table(rows) == table
