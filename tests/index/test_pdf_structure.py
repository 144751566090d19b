"""PDF text read by its lines: paragraphs re-joined, running headers and footers left out."""

from __future__ import annotations

from pathlib import Path

from corpus.models import Document
from index.chunking import chunk_document, parse_structure
from tests.corpus.makers import FOOTER, as_document, three_page_pdf


def _document(tmp_path: Path) -> Document:
    return as_document(three_page_pdf(tmp_path / "travel.pdf"), "Travel Policy")


def test_running_headers_footers_and_page_numbers_stay_out_of_chunks_and_units(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    structure = parse_structure(doc)
    shown = [u.display for u in structure.units] + [c.display for c in chunk_document(doc)]
    assert not any("Acme Travel Handbook" in s or "Confidential" in s for s in shown)
    assert FOOTER.format(n=2) in doc.text  # the verbatim text keeps them: citations point into it
    for chunk in chunk_document(doc):
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_sentences_headings_and_table_lines_of_a_pdf(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    structure = parse_structure(doc)
    units = [u.display for u in structure.units]
    assert "Employees book flights through the travel desk." in units
    assert "Paris 180 EUR" in units  # a table line is one unit
    headings = [b.label for b in structure.blocks if b.kind == "heading"]
    assert headings == ["Booking travel"]
    assert [c.section for c in chunk_document(doc)][0] == "Booking travel"
