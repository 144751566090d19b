"""The loader registry: one table of formats, read by suffix in any case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import corpus
from corpus.loaders import UnreadableFile
from corpus.registry import FORMATS, SUPPORTED_SUFFIXES, format_for, load_file, supported_list


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.txt", "text"),
        ("a.MD", "markdown"),
        ("a.markdown", "markdown"),
        ("a.mdx", "markdown"),
        ("a.HTM", "html"),
        ("a.pdf", "pdf"),
        ("a.Docx", "docx"),
        ("a.pptx", "pptx"),
        ("a.rst", "rst"),
        ("a.xlsx", None),
        ("Makefile", None),
        # A text file named for a text format is read as that format (Sphinx's source copies).
        ("install.rst.txt", "rst"),
        ("notes.md.txt", "markdown"),
        ("report.pdf.txt", "text"),
        ("v1.2.txt", "text"),
        # A Markdown or text page kept as a site generator's template (Middleman, Jinja, Nunjucks).
        ("logging.html.md.erb", "markdown"),
        ("page.md.j2", "markdown"),
        ("notes.txt.njk", "text"),
        ("layout.html.erb", None),  # an HTML template: its tags are the page's markup
        ("helper.erb", None),
    ],
)
def test_formats_are_chosen_by_suffix_in_any_case(name: str, fmt: str | None) -> None:
    found = format_for(Path(name))
    assert (found.name if found else None) == fmt


def test_plain_formats_record_their_format(tmp_path: Path) -> None:
    (tmp_path / "a.mdx").write_text("# Title\r\n\r\nBody\r\n", encoding="utf-8")
    (tmp_path / "b.htm").write_text("<title>B</title><p>Body</p>", encoding="utf-8")
    assert load_file(tmp_path / "a.mdx").text == "# Title\n\nBody\n"
    assert load_file(tmp_path / "a.mdx").meta == {"format": "markdown"}
    assert (load_file(tmp_path / "b.htm").title, load_file(tmp_path / "b.htm").meta) == (
        "B",
        {"format": "markdown"},  # written as Markdown, read by the index's Markdown parser
    )


def test_an_unsupported_suffix_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^unsupported suffix \.xlsx$"):
        load_file(tmp_path / "sheet.xlsx")


def test_the_suffix_list_lives_only_in_the_registry() -> None:
    assert (
        supported_list() == ", ".join(s for f in FORMATS for s in f.suffixes) == ", ".join(SUPPORTED_SUFFIXES)
    )
    package = Path(corpus.__file__).parent
    quoted = re.compile("|".join(rf"[\"']\{s}[\"']" for s in SUPPORTED_SUFFIXES))
    offenders = [
        p.name for p in package.glob("*.py") if p.name != "registry.py" and quoted.search(p.read_text())
    ]
    assert offenders == []
