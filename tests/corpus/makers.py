"""Real PDF, Word and PowerPoint files for the loader tests (fpdf2, python-docx, python-pptx)."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.shared import Pt
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

from corpus.models import Document
from corpus.registry import load_file

PAGE_WORDS = ("flights through the travel desk", "Hotel rates are capped", "Expense claims are due")
FOOTER = "Acme Corp - Confidential - Page {n} of 3"


class _FooterPDF(FPDF):
    def header(self) -> None:
        self.set_font("helvetica", size=9)
        self.cell(0, 8, "Acme Travel Handbook", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=9)
        self.cell(0, 10, FOOTER.format(n=self.page_no()), align="C")


def three_page_pdf(path: Path, *, title: str | None = "Travel Policy") -> Path:
    """Page 1: heading and prose; page 2: prose and a table; page 3: prose. Header and footer on each."""
    pdf = _FooterPDF()
    if title:
        pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, "Booking travel", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, f"Employees book {PAGE_WORDS[0]}. Economy class applies to short trips.")
    pdf.add_page()
    pdf.multi_cell(0, 8, f"{PAGE_WORDS[1]} per city.", new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:
        for cells in (("City", "Nightly cap"), ("Paris", "180 EUR"), ("Berlin", "150 EUR")):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.add_page()
    pdf.multi_cell(0, 8, f"{PAGE_WORDS[2]} within thirty days of return.")
    pdf.output(str(path))
    return path


MANUAL_PARAGRAPHS = (
    "The deploy tool copies the build to every server in the pool and restarts the service one"
    " server at a time, so that the site stays up while a release goes out to all of them.",
    "A release that fails its health check is rolled back on that server before the next one is"
    " touched. Rollbacks are logged in the release channel with the name of the failed check.",
)
MANUAL_CODE = (
    "deploy --pool web --release 2024.06.1 --health-check /status --timeout 300 --rollback-on-failure"
    " --notify release-channel",
    "deploy --pool web --dry-run",
)


def manual_pdf(path: Path) -> Path:
    """A manual as documentation sites print it: a large title, a smaller section heading, wrapped
    paragraphs set apart by spacing, a code block in Courier wider than any prose line, and a table
    whose columns are set apart by blank space."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 22)
    pdf.cell(0, 12, "Deploy Manual", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, "Rolling releases", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for paragraph in MANUAL_PARAGRAPHS:
        pdf.multi_cell(120, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.set_font("courier", size=7)
    for line in MANUAL_CODE:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(120, 6, "Each pool has its own limits:", new_x="LMARGIN", new_y="NEXT")
    for name, limit in (("web", "12 servers"), ("batch", "4 servers")):
        pdf.cell(40, 6, name)
        pdf.cell(40, 6, limit, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def drawn_out_of_order_pdf(path: Path) -> Path:
    """A page whose code box is drawn after the paragraph printed below it, as browsers print
    boxed code: the drawing order is lead-in, paragraph, code; the reading order lead-in, code,
    paragraph."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.set_xy(10, 20)
    pdf.cell(0, 6, "To roll back a release, run this:")
    pdf.set_xy(10, 50)
    pdf.cell(0, 6, "The previous release is then live on every server.")
    pdf.set_font("courier", size=10)
    pdf.set_xy(14, 32)
    pdf.cell(0, 6, "deploy --rollback")
    pdf.output(str(path))
    return path


_WHO = ("the desk", "a manager", "finance", "the traveller", "an assistant", "the team lead")
_WHAT = ("hotel", "flight", "train ticket", "taxi", "meal", "conference fee", "rental car")
LONG_PARAGRAPH = tuple(
    f"Expense {n} is checked by {_WHO[n % 6]} against the receipt for the {_WHAT[n % 7]}"
    f"{' and the invoice' * (n % 3)} before it is paid."
    for n in range(1, 41)
)


def page_break_pdf(path: Path) -> Path:
    """One long paragraph that runs over a page break, with the running header and footer of
    `three_page_pdf` on every page (so a sentence is cut by the footer and the next header)."""
    pdf = _FooterPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, " ".join(LONG_PARAGRAPH))
    pdf.output(str(path))
    return path


def two_column_pdf(path: Path) -> Path:
    """Two paragraphs set in two columns, the second running from the first column into the next."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    with pdf.text_columns(ncols=2, gutter=10) as columns:
        columns.write(" ".join(LONG_PARAGRAPH[:12]))
        columns.ln()
        columns.write(" ".join(LONG_PARAGRAPH[12:30]))
    pdf.output(str(path))
    return path


def as_document(path: Path, title: str) -> Document:
    """A file read by its loader (in a child process, as a build reads it) as an index Document."""
    loaded = load_file(path)
    return Document(path.stem, title, path.name, loaded.text, meta=loaded.meta, pages=loaded.pages)


def encrypted_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Salaries for next year")
    pdf.set_encryption(owner_password="owner", user_password="user", encryption_method=EncryptionMethod.RC4)
    pdf.output(str(path))
    return path


def image_only_pdf(path: Path) -> Path:
    """A "scanned" page: a picture and no text layer."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (300, 200), "lightgray"), x=10, y=10, w=120)
    pdf.output(str(path))
    return path


def word_document(path: Path, *, title: str | None = None) -> Path:
    """Heading, paragraph, table (header row + 2 rows), second heading, list items."""
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading("Expense policy", level=1)
    document.add_paragraph("Claims are paid monthly. Receipts are required for every claim.")
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(
        table.rows, (("Item", "Limit"), ("Meals", "40 EUR"), ("Taxi", "60 EUR")), strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("Approvals", level=2)
    document.add_paragraph("Managers approve claims", style="List Bullet")
    document.add_paragraph("Finance pays them", style="List Bullet")
    document.save(str(path))
    return path


def hand_set_word_document(path: Path) -> Path:
    """A Word file formatted by hand, as many are: no heading styles, a 20 pt bold title, a bold
    sub-heading at body size, a bold sentence (emphasis, not a heading), code in Courier New."""
    document = docx.Document()

    def paragraph(text: str, *, size: float = 11, bold: bool = False, font: str | None = None) -> None:
        run = document.add_paragraph().add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
        if font:
            run.font.name = font

    paragraph("Travel Handbook", size=20, bold=True)
    paragraph("Staff book trips through the travel desk, which holds the company's rates.")
    paragraph("Booking flights", bold=True)
    paragraph("Always book economy for flights under six hours.", bold=True)
    paragraph("To see your bookings, run this:")
    paragraph("travel bookings --mine", font="Courier New")
    paragraph("travel bookings --mine --json", font="Courier New")
    paragraph("Bookings older than a year are archived.")
    document.save(str(path))
    return path


def slide_deck(path: Path) -> Path:
    """Slide 1: title, bullets and a table; slide 2: title, a group of two text boxes, speaker notes."""
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly results"
    body = first.placeholders[1].text_frame
    body.text = "Revenue grew 12 percent"
    body.add_paragraph().text = "Churn fell to 3 percent"
    rows = (("Region", "Sales"), ("North", "120"), ("South", "95"))
    table = first.shapes.add_table(3, 2, Inches(1), Inches(4), Inches(6), Inches(1.5)).table
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Next steps"
    group = second.shapes.add_group_shape()
    group.shapes.add_textbox(
        Inches(1), Inches(2), Inches(4), Inches(1)
    ).text_frame.text = "Hire two engineers"
    group.shapes.add_textbox(
        Inches(1), Inches(3), Inches(4), Inches(1)
    ).text_frame.text = "Open the Lyon office"
    second.notes_slide.notes_text_frame.text = "Mention the budget freeze."
    deck.save(str(path))
    return path
