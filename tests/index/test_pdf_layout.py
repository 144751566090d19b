"""PDF blocks read from the page layout (`corpus.pdf_layout`), on a real PDF and on hand-made lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from corpus.models import Document
from corpus.pdf_layout import Line, layout_blocks
from index.answerer import _introduces_code, _Layout
from index.chunking import chunk_document, parse_structure
from index.structure import pdf_structure
from tests.corpus.makers import (
    LONG_PARAGRAPH,
    MANUAL_CODE,
    MANUAL_PARAGRAPHS,
    as_document,
    drawn_out_of_order_pdf,
    manual_pdf,
    page_break_pdf,
    two_column_pdf,
)


def _manual(tmp_path: Path) -> Document:
    return as_document(manual_pdf(tmp_path / "manual.pdf"), "Deploy Manual")


def test_wrapped_sentences_stay_whole_when_a_code_line_is_the_widest_line(tmp_path: Path) -> None:
    doc = _manual(tmp_path)
    units = [u.display for u in parse_structure(doc).units]
    # Every sentence of the wrapped paragraphs is one unit, never a line of it.
    assert "Rollbacks are logged in the release channel with the name of the failed check." in units
    first = MANUAL_PARAGRAPHS[0]
    assert first in units
    # Read by its lines alone (a PDF whose layout cannot be read), the code line, wider than any
    # prose line, is not taken for the full width either.
    assert first in [u.display for u in pdf_structure(doc.text, []).units]


def test_headings_get_levels_code_is_shown_but_never_a_unit_and_rows_are_units(tmp_path: Path) -> None:
    doc = _manual(tmp_path)
    structure = parse_structure(doc)
    headings = [(b.label, b.level) for b in structure.blocks if b.kind == "heading"]
    assert headings == [("Deploy Manual", 1), ("Rolling releases", 2)]
    units = [u.display for u in structure.units]
    assert not any("--dry-run" in u for u in units)
    assert any(v.code and MANUAL_CODE[1] in v.display for v in structure.views)
    assert "web 12 servers" in units and "batch 4 servers" in units
    chunks = chunk_document(doc)
    assert chunks[0].section == "Deploy Manual › Rolling releases"
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
    for unit in structure.units:
        assert " ".join(doc.text[unit.start : unit.end].split()) == unit.display


def _line(
    start: int, text: str, bottom: float, *, x1: float = 500.0, size: float = 10.0, page: int = 0
) -> Line:
    return Line(
        start, start + len(text), page, 50.0, x1, bottom + size, bottom, bottom, size, 0.0, 0.0, 0.3, text
    )


def test_spacing_superscripts_and_page_breaks_decide_paragraphs() -> None:
    lines = [
        _line(0, "First paragraph runs to the margin and", 700),
        _line(40, "ends here.", 688, x1=120),
        _line(51, "2", 692, x1=126, size=6),  # a superscript on the printed line above
        _line(53, "Second paragraph after a blank", 660),  # a wider gap than the line pitch
        _line(84, "goes on to the foot of the page", 648),
        _line(116, "and on to the next one.", 700, page=1),  # unfinished, goes on in lower case
        _line(140, "A new paragraph starts this page.", 700, page=2),  # after a finished one
    ]
    blocks = layout_blocks(lines)
    assert [(b.start, b.end, b.kind) for b in blocks] == [
        (0, 52, "para"),
        (53, 139, "para"),
        (140, 173, "para"),
    ]


def test_a_page_is_read_top_to_bottom_whatever_order_it_was_drawn_in(tmp_path: Path) -> None:
    doc = as_document(drawn_out_of_order_pdf(tmp_path / "rollback.pdf"), "Rollback")
    text = doc.text
    assert text.index("run this:") < text.index("deploy --rollback") < text.index("The previous release")
    kinds = [b.kind for b in parse_structure(doc).blocks]
    assert kinds == ["para", "code", "para"]


def test_a_lead_in_to_pdf_code_is_known_from_the_layout(tmp_path: Path) -> None:
    doc = as_document(drawn_out_of_order_pdf(tmp_path / "rollback.pdf"), "Rollback")
    layout = _Layout.of(doc)
    assert layout is not None
    lead = (0, doc.text.index("run this:") + len("run this:"))
    after = doc.text.index("The previous")
    assert _introduces_code(doc.text, *lead, layout)
    assert not _introduces_code(doc.text, after, len(doc.text), layout)
    # PDF text has no Markdown fences: by the text alone it would not be known.
    assert not _introduces_code(doc.text, *lead)


_PRINTED_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Access guide</title><style>
body { font-family: sans-serif; font-size: 12pt; width: 21em; }
pre { background: #eee; padding: 0.6em; position: relative; white-space: pre-wrap; }
</style></head><body>
<h1>Access guide</h1>
<h2>Signing in</h2>
<p>Every account that can reach production must have a second factor and two-factor authentication
turned on before its owner is given any of the deploy keys, and the check is repeated whenever a
key is rotated.</p>
<p>To turn it on from the command line, run this:</p>
<pre><code>access enable-2fa --user alice</code></pre>
<p>Accounts that lose their second factor are locked until the security team restores them.</p>
</body></html>"""


def test_a_page_printed_by_chromium_reads_as_written(tmp_path: Path) -> None:
    """A browser-printed page (real Chromium, real PDFium): the boxed code (a positioned box, as
    documentation themes set it) is drawn after the paragraph under it, and "two-factor" is broken
    at its hyphen (21em wide); sentences, order and the hyphen must come back as written."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    html = tmp_path / "guide.html"
    html.write_text(_PRINTED_PAGE, encoding="utf-8")
    pdf = tmp_path / "guide.pdf"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    doc = as_document(pdf, "Access guide")
    structure = parse_structure(doc)
    units = [u.display for u in structure.units]
    assert any(
        u.startswith("Every account that can reach production must have a second factor")
        and u.endswith("whenever a key is rotated.")
        for u in units
    )
    assert any("and two-factor authentication turned on" in u for u in units)
    assert "To turn it on from the command line, run this:" in units
    assert "Accounts that lose their second factor are locked until the security team restores them." in units
    assert not any("enable-2fa" in u for u in units)  # code is shown, never an answer
    text = doc.text
    assert text.index("this:") < text.index("enable-2fa") < text.index("Accounts that lose")
    headings = [(b.label, b.level) for b in structure.blocks if b.kind == "heading"]
    assert headings == [("Access guide", 1), ("Signing in", 2)]
    layout = _Layout.of(doc)
    lead = doc.text.index("To turn it on")
    assert _introduces_code(doc.text, lead, doc.text.index("this:") + len("this:"), layout)


def test_a_sentence_that_runs_on_to_the_next_page_is_one_unit_without_footer_and_header(
    tmp_path: Path,
) -> None:
    doc = as_document(page_break_pdf(tmp_path / "rules.pdf"), "Rules")
    assert len(doc.pages) >= 2
    structure = parse_structure(doc)
    units = {u.display: u for u in structure.units}
    assert set(LONG_PARAGRAPH) <= set(units)  # every sentence whole, the one cut by the page too
    across = [u for u in structure.units if "\f" in doc.text[u.start : u.end]]
    assert across, "the page break falls inside a sentence"
    for unit in across:  # its span is verbatim (footer and header included); what it shows is not
        assert "Confidential" in doc.text[unit.start : unit.end]
        assert "Confidential" not in unit.display and "Acme Travel Handbook" not in unit.display
    for chunk in chunk_document(doc):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert "Confidential" not in chunk.display


def test_a_page_set_in_two_columns_is_read_column_by_column(tmp_path: Path) -> None:
    doc = as_document(two_column_pdf(tmp_path / "columns.pdf"), "Columns")
    units = [u.display for u in parse_structure(doc).units]
    assert units == list(LONG_PARAGRAPH[:30])  # every sentence whole and in order
