"""The AsciiDoc reader: sections, readable displays and verbatim offsets of an Asciidoctor page.

The fixture (tests/data/asciidoc/pager-guide.adoc) is a made-up team's guide with the constructs
AsciiDoc documentation is written with: a header with attribute entries, comments, sections,
hard-wrapped paragraphs with attribute references, footnotes, cross references and links,
nested and numbered lists, an admonition paragraph and an admonition block, a source listing, a
literal paragraph, a titled table with multi-line cells, a table with a header option, a
description list, include and image lines, a passthrough and a comment block.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.models import Document
from corpus.registry import load_file
from index import build_index, load_index
from index.asciidoc import clean_adoc, parse_asciidoc
from index.chunking import chunk_document, parse_structure
from index.structure import Structure
from index.types import Chunk

GUIDE = Path(__file__).resolve().parent.parent / "data" / "asciidoc" / "pager-guide.adoc"
# Markup no reader should see: formatting marks, macros, attribute references, delimiters.
_MARKUP = re.compile(r"`|\*\*|xref:|footnote:|\{product\}|^\[|^//|^----|^\|===|::", re.M)


@pytest.fixture(scope="module")
def text() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def structure(text: str) -> Structure:
    return parse_asciidoc(text)


@pytest.fixture(scope="module")
def chunks(text: str) -> list[Chunk]:
    return chunk_document(Document(doc_id="guide", title="Pager Agent Guide", source="guide.adoc", text=text))


def _displays(structure: Structure) -> list[str]:
    return [u.display for u in structure.units]


def test_adoc_files_are_read_verbatim_and_parsed_as_asciidoc(text: str) -> None:
    loaded = load_file(GUIDE)
    assert loaded.text == text and loaded.meta["format"] == "asciidoc" and loaded.title == "Pager Agent Guide"
    document = Document(doc_id="guide", title="", source="x", text=text, meta={"format": "asciidoc"})
    assert parse_structure(document) == parse_asciidoc(text)


def test_title_and_section_levels(structure: Structure) -> None:
    assert structure.title == "Pager Agent Guide"
    headings = [(b.level, b.label) for b in structure.blocks if b.kind == "heading"]
    assert headings == [
        (1, "Pager Agent Guide"),
        (2, "Installing"),
        (3, "Configuring"),
        (7, "Escalation timeouts"),
    ]


def test_section_paths_of_chunks(chunks: list[Chunk]) -> None:
    admonition = next(c for c in chunks if "refuses to start" in c.display)
    assert admonition.section == "Pager Agent Guide › Installing"
    table = next(c for c in chunks if "SEV1" in c.display)
    assert table.section.endswith("Configuring › Escalation timeouts")


def test_sentences_are_whole_with_attributes_resolved_and_markup_removed(structure: Structure) -> None:
    displays = _displays(structure)
    assert (
        "The Pager Agent runs on every on-call laptop and forwards alerts from the gateway to your phone."
        in displays
    )
    assert "It needs about 150 MB of memory and starts at login." in displays
    assert (
        "Install the agent with pipx from the internal index, then check the version "
        "(see the upgrade notes and the release page)." in displays
    )


def test_every_span_is_verbatim_and_no_display_carries_markup(text: str, structure: Structure) -> None:
    for span in [*structure.blocks, *structure.units, *structure.views]:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == text[span.start : span.end].strip()
    for before, after in zip(structure.blocks, structure.blocks[1:], strict=False):
        assert before.end <= after.start, "blocks overlap"
    for unit in [*structure.units, *(v for v in structure.views if not v.code)]:
        assert not _MARKUP.search(unit.display), unit.display


def test_header_comments_macros_and_passthrough_are_not_read(structure: Structure) -> None:
    shown = " ".join(v.display for v in structure.views)
    for hidden in (
        "toc",
        "How to install and run",
        "docs team",
        "footer",
        "agent.png",
        "banner",
        "Beta",
        "block comment",
    ):
        assert hidden not in shown


def test_lists_admonitions_and_description_items(text: str, structure: Structure) -> None:
    displays = _displays(structure)
    for item in (
        "the VPN client is connected;",
        "split tunnelling is turned off.",
        "Run it as an administrator.",
    ):
        assert item in displays
    assert any(text[b.start :].startswith("Before you install, make sure that:") for b in structure.blocks)
    assert "NOTE: The agent refuses to start while the VPN client is disconnected." in displays
    assert any(d.startswith("Never install the agent on a shared machine") for d in displays)
    assert "quiet_hours: A time range during which only SEV1 alerts ring through." in displays
    assert "snooze limit: The agent can be silenced for at most 120 minutes." in displays


def test_code_is_shown_but_never_an_answer_unit(structure: Structure) -> None:
    code = [v.display for v in structure.views if v.code]
    assert code == ['[agent]\ngateway = "https://pager.example.com"', "$ pager configure --token XYZ"]
    assert not any("gateway =" in d or "--token" in d for d in _displays(structure))


def test_table_rows_name_their_columns(structure: Structure) -> None:
    displays = _displays(structure)
    assert "Severity: SEV1 · First responder: primary on-call · Escalates after: 5 minutes" in displays
    assert "Severity: SEV2 · First responder: primary on-call · Escalates after: 30 minutes" in displays
    assert (
        "Severity: SEV3 · First responder: secondary on-call · Escalates after: the next business day"
        in displays
    )
    assert "Record: Audit log · Kept for: 400 days" in displays
    assert not any(d.startswith(("Severity |", "Record |")) for d in displays)


def test_the_header_under_the_title_is_metadata_not_text() -> None:
    # The author and revision lines under "= Title" describe the page; an attribute name may hold
    # a space (":man manual:", referenced as {manmanual}). None of it is a paragraph.
    source = (
        "= pager(1)\nDan Allen; Sarah White\nv2.1, 2024-01-01\n:doctype: manpage\n"
        ":man manual: Pager Manual\n\n== Name\n\npager - forwards alerts ({manmanual}).\n"
    )
    structure = parse_asciidoc(source)
    assert structure.title == "pager(1)"
    assert [u.display for u in structure.units] == ["pager - forwards alerts (Pager Manual)."]


def test_an_escaped_separator_in_a_cell_is_text() -> None:
    # "\\|" writes the cell separator as a character ("do |item|"); it divides no cells.
    source = "= Templates\n\n|===\n|Name |Example\n\n|items\n|- items.each do \\|item\\|\n|===\n"
    displays = [u.display for u in parse_asciidoc(source).units]
    assert "Name: items · Example: - items.each do |item|" in displays


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("See xref:install.adoc[the install guide].", "See the install guide."),
        ("See xref:cli:index.adoc[] first.", "See index first."),
        ("Read <<limits,the limits>> and <<faq>>.", "Read the limits and faq."),
        ("Press kbd:[Ctrl+C] then btn:[Save].", "Press Ctrl+C then Save."),
        ("It is *always* _on_ and `fast` +", "It is always on and fast"),
        ("Call GET /users/{id} on {host}.", "Call GET /users/{id} on pager.example."),
        ("An index term((pager)) here.", "An index termpager here."),
        ("Use arr[0] and https://x.y/a[the\nrelease page].", "Use arr[0] and the release page."),
        ("Needs {url-ruby}[Ruby^] &#8805; 2.7.", "Needs Ruby ≥ 2.7."),
        ("A gem named {url-gems}/asciidoctor[asciidoctor^].", "A gem named asciidoctor."),
    ],
)
def test_inline_markup_is_cleaned(source: str, shown: str) -> None:
    assert clean_adoc(source, {"host": "pager.example"}) == shown


def test_an_asciidoc_folder_answers_with_verbatim_citations(
    tmp_path: Path, model_path: str, text: str
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "pager-guide.adoc").write_text(text, encoding="utf-8")
    build_index(corpus, tmp_path / "index", model_path)
    index = load_index(tmp_path / "index", model_path)
    result = index.query("How long is the audit log kept?")
    assert result.answer is not None and "400 days" in result.answer.display
    document = index.documents[result.answer.doc_id]
    assert document.text[result.answer.start : result.answer.end] == result.answer.text
    assert document.title == "Pager Agent Guide"
    sev3 = index.query("When does a SEV3 alert escalate?")
    assert sev3.answer is not None and "the next business day" in sev3.answer.display


# --- property test: generated AsciiDoc keeps the invariants -----------------------------------------

_WORDS = st.sampled_from(
    "the pager alert shift rota gateway SEV1 30 minutes on-call `cfg` *note* {product}".split()
)
_SNIPPETS = st.sampled_from(
    [
        "= Title",
        "== Section",
        ":product: Pager",
        "// a comment",
        "NOTE: Keep it short.",
        "[WARNING]\n====\nDrain first.\nThen stop.\n====",
        "[source,bash]\n----\nmake all\n----",
        "....\nliteral\n....",
        " indented literal",
        "* a\n* b\n** c",
        ". one\n. two",
        "term:: its definition",
        "|===\n|a |b\n\n|1 |2\n|===",
        '[cols="2*",options="header"]\n|===\n|a\n|b\n|1\n|2\n|===',
        ".A title",
        "include::x.adoc[]",
        "////\nhidden\n////",
        "* item\n+\n----\ncode\n----",
    ]
)


@st.composite
def _paragraph(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, min_size=1, max_size=20))
    text = " ".join(words) + draw(st.sampled_from([".", "", ":"]))
    return re.sub(r"((?:\S+ ){5})", r"\1\n", text).replace(" \n", "\n")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_paragraph(), _SNIPPETS), min_size=1, max_size=10))
def test_generated_asciidoc_keeps_every_span_verbatim(blocks: list[str]) -> None:
    text = "\n\n".join(blocks) + "\n"
    structure = parse_asciidoc(text)
    for span in [*structure.blocks, *structure.units, *structure.views]:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == text[span.start : span.end].strip()
    for before, after in zip(structure.blocks, structure.blocks[1:], strict=False):
        assert before.end <= after.start, "blocks overlap"
    chunk_document(Document(doc_id="g", title="G", source="g.adoc", text=text), structure=structure)
