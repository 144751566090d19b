"""The reStructuredText reader: sections, readable displays and verbatim offsets of a Sphinx page.

The fixture (tests/data/rst/pager-guide.rst) is a made-up team's guide that uses the constructs
Sphinx documentation is written with: a leading field list, comments and link targets, over- and
underlined section titles, hard-wrapped paragraphs with roles, literals, links and footnote marks,
bullet, nested and auto-numbered lists, admonitions, literal blocks, ``code-block``, a doctest,
grid, simple and list tables, a definition list, an object directive, ``toctree``, a substitution
definition, a transition and an image.
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
from index.chunking import chunk_document, parse_structure
from index.rst import clean_rst, parse_rst
from index.structure import Structure
from index.types import Chunk
from service.evaluation import evaluate

GUIDE = Path(__file__).resolve().parent.parent / "data" / "rst" / "pager-guide.rst"
# Markup no reader should see: roles, literals, link targets, footnote marks, directive and
# comment lines, adornments, table borders.
_MARKUP = re.compile(r"``|:\w+:`|`_|\[#\]|^\.\. |::$|^[=~-]{3,}$|\+-{3,}|\|product\|", re.M)


@pytest.fixture(scope="module")
def text() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def structure(text: str) -> Structure:
    return parse_rst(text)


@pytest.fixture(scope="module")
def chunks(text: str) -> list[Chunk]:
    return chunk_document(Document(doc_id="guide", title="Pager Agent Guide", source="guide.rst", text=text))


def _displays(structure: Structure) -> list[str]:
    return [u.display for u in structure.units]


def test_rst_files_are_read_verbatim_and_parsed_as_rst(text: str) -> None:
    loaded = load_file(GUIDE)
    assert loaded.text == text and loaded.meta["format"] == "rst"
    document = Document(doc_id="guide", title="", source="x", text=text, meta={"format": "rst"})
    assert parse_structure(document) == parse_rst(text)


def test_title_and_section_levels_follow_the_adornment_styles(structure: Structure) -> None:
    assert structure.title == "Pager Agent Guide"
    headings = [(b.level, b.label) for b in structure.blocks if b.kind == "heading" and b.level <= 6]
    assert headings == [
        (1, "Pager Agent Guide"),
        (2, "Installing"),
        (3, "Configuring"),
        (4, "Escalation timeouts"),
    ]


def test_section_paths_of_chunks(chunks: list[Chunk]) -> None:
    by_words = {c.section for c in chunks if "150 MB" in c.display or "refuses to start" in c.display}
    assert by_words == {"Pager Agent Guide", "Pager Agent Guide › Installing"}
    table = next(c for c in chunks if "SEV1" in c.display)
    assert table.section.endswith("Configuring › Escalation timeouts")


def test_a_hard_wrapped_sentence_is_one_unit_with_its_markup_removed(structure: Structure) -> None:
    displays = _displays(structure)
    first = "The pager agent runs on every on-call laptop and forwards alerts from the gateway to your phone."
    assert first in displays
    assert (
        "Install the agent with pipx from the internal index, then check the version with pager --version."
        in displays
    )
    assert "See the upgrade notes and the release page for what changed." in displays


def test_every_span_is_verbatim_and_no_display_carries_markup(text: str, structure: Structure) -> None:
    for span in [*structure.blocks, *structure.units, *structure.views]:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == text[span.start : span.end].strip()
    for unit in [*structure.units, *(v for v in structure.views if not v.code)]:
        assert not _MARKUP.search(unit.display), unit.display


def test_metadata_comments_targets_and_navigation_are_not_read(structure: Structure) -> None:
    shown = " ".join(v.display for v in structure.views)
    hidden_words = (
        "orphan",
        "tocdepth",
        "pager-guide",
        "docs team",
        "On this page",
        "maxdepth",
        "faq",
        "agent.png",
        "banner",
        "Beta",
    )
    for hidden in hidden_words:
        assert hidden not in shown
    assert all(b.kind != "para" or "toctree" not in b.label for b in structure.blocks)


def test_lists_keep_their_lead_in_and_items_are_units(text: str, structure: Structure) -> None:
    displays = _displays(structure)
    items = ("the VPN client is connected;", "split tunnelling is turned off.", "Run it as an administrator.")
    for item in items:
        assert item in displays
    lists = [b for b in structure.blocks if b.kind == "list"]
    assert len(lists) == 1 and text[lists[0].start :].startswith("Before you install, make sure that:")
    for before, after in zip(structure.blocks, structure.blocks[1:], strict=False):
        assert before.end <= after.start, "blocks overlap"


def test_admonition_text_is_prose(structure: Structure) -> None:
    displays = _displays(structure)
    assert "The agent refuses to start while the VPN client is disconnected." in displays
    assert any(d.startswith("Never install the agent on a shared machine") for d in displays)


def test_code_is_shown_but_never_an_answer_unit(structure: Structure, chunks: list[Chunk]) -> None:
    code = [v.display for v in structure.views if v.code]
    assert code == [
        '[agent]\ngateway = "https://pager.example.com"\nquiet_hours = "22:00-07:00"',
        "$ pager configure --token XYZ",
        ">>> import pager\n>>> pager.ping()\n'pong'",
    ]
    code_words = ("gateway =", "configure --token", "ping()")
    assert not any(w in d for d in _displays(structure) for w in code_words)
    assert "A minimal file looks like this:" in _displays(structure)
    assert not any("configure --token" in c.embed_text for c in chunks)


def test_table_rows_name_their_columns(structure: Structure) -> None:
    displays = _displays(structure)
    assert "Severity: SEV2 · First responder: primary on-call · Escalates after: 30 minutes" in displays
    assert (
        "Severity: SEV3 · First responder: secondary on-call · Escalates after: the next business day"
        in displays
    )
    assert "Tier: Basic · Quiet hours: 22:00-07:00 · Paging mode: push only" in displays
    assert "Record: Audit log · Kept for: 400 days" in displays
    assert not any(d.startswith(("Severity |", "Tier |", "Record |")) for d in displays)


def test_definition_terms_and_object_signatures_head_their_text(chunks: list[Chunk]) -> None:
    term = next(c for c in chunks if "only SEV1 alerts ring through" in c.display)
    assert term.section.endswith("› quiet_hours")
    snooze = next(c for c in chunks if "at most 120" in c.display)
    assert snooze.section.endswith("› pager.snooze(minutes)")


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (":class:`~pager.agent.Agent` objects", "Agent objects"),
        (":doc:`Install guide </install>`", "Install guide"),
        (":data:`.current_app` and :attr:`!name`", "current_app and name"),
        ("Use ``--quiet``.", "Use --quiet."),
        ("See `docs`_ and `home <https://x.y>`__.", "See docs and home."),
        ("Read the FAQ_ first [1]_.", "Read the FAQ first."),
        ("It is **always** *on*.", "It is always on."),
        ("Copy |product| files\\*.", "Copy product files*."),
        ('Match ``up{job="<name>"}`` or ``a *b* c\\d``.', 'Match up{job="<name>"} or a *b* c\\d.'),
        ("An escaped \\*star\\* and \\`tick\\`.", "An escaped *star* and `tick`."),
        ("as follows::", "as follows:"),
        ("as follows ::", "as follows"),
    ],
)
def test_inline_markup_is_cleaned(source: str, shown: str) -> None:
    assert clean_rst(source) == shown


def test_a_paragraph_ending_in_double_colon_introduces_code_only_when_indented() -> None:
    text = "Run this::\n\n    make all\n\nThen read the log.\n"
    structure = parse_rst(text)
    assert [v.display for v in structure.views if v.code] == ["make all"]
    assert [u.display for u in structure.units] == ["Run this:", "Then read the log."]


def test_an_rst_folder_answers_with_verbatim_citations(tmp_path: Path, model_path: str, text: str) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "pager-guide.rst").write_text(text, encoding="utf-8")
    build_index(corpus, tmp_path / "index", model_path)
    index = load_index(tmp_path / "index", model_path)
    result = index.query("How long is the audit log kept?")
    assert result.answer is not None and "400 days" in result.answer.display
    document = index.documents[result.answer.doc_id]
    assert document.text[result.answer.start : result.answer.end] == result.answer.text
    assert document.title == "Pager Agent Guide"
    snooze = index.query("What is the longest I can snooze the agent?")
    assert snooze.answer is not None and "at most 120" in snooze.answer.display
    # A phrase wrapped over the lines of a grid table's cell is whole in what the passage shows:
    # `docqa eval` counts that passage as a hit, as it grades the answer.
    question = {"id": "q", "kind": "fact", "question": "When does a SEV3 alert escalate?"}
    report = evaluate(index, [{**question, "expect_any": ["the next business day"]}], top_k=5)
    outcome = report.questions[0]
    assert outcome.answer_correct and outcome.hit_rank is not None


# --- property test: generated reStructuredText keeps the invariants --------------------------------

_WORDS = st.sampled_from(
    "the pager alert shift rota gateway SEV1 30 minutes on-call ``cfg`` :ref:`x` *note*".split()
)
_SNIPPETS = st.sampled_from(
    [
        "Title\n=====",
        "=====\nTitle\n=====",
        "Sub\n---",
        ".. note:: Keep it short.",
        ".. warning::\n\n   Drain first.\n   Then stop.",
        ".. code-block:: bash\n\n   make all",
        "Run::\n\n    make all",
        "* a\n* b\n\n  - c",
        "#. one\n#. two",
        "+---+---+\n| a | b |\n+===+===+\n| 1 | 2 |\n+---+---+",
        "==  ==\na   b\n==  ==\n1   2\n==  ==",
        ".. list-table::\n   :header-rows: 1\n\n   * - a\n     - b\n   * - 1\n     - 2",
        "term\n    Its definition.",
        ".. _target:",
        ".. a comment",
        ":field: value",
        ">>> 1 + 1\n2",
        "----",
        "   An indented quote.",
    ]
)


@st.composite
def _paragraph(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, min_size=1, max_size=20))
    text = " ".join(words) + draw(st.sampled_from([".", "", "::", ":"]))
    return re.sub(r"((?:\S+ ){5})", r"\1\n", text).replace(" \n", "\n")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_paragraph(), _SNIPPETS), min_size=1, max_size=10))
def test_generated_rst_keeps_every_span_verbatim(blocks: list[str]) -> None:
    text = "\n\n".join(blocks) + "\n"
    structure = parse_rst(text)
    for span in [*structure.blocks, *structure.units, *structure.views]:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == text[span.start : span.end].strip()
    starts = [b.start for b in structure.blocks]
    assert starts == sorted(starts)
    for before, after in zip(structure.blocks, structure.blocks[1:], strict=False):
        assert before.end <= after.start, "blocks overlap"
    chunk_document(Document(doc_id="g", title="G", source="g.rst", text=text), structure=structure)
