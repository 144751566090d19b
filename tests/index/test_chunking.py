"""Chunking along structure, with the verbatim-span invariant property-tested."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus import Document, load_corpus
from index.chunking import ChunkerConfig, chunk_document
from index.sentences import split_sentences
from index.store import answer_units


def _doc(text: str) -> Document:
    return Document(doc_id="d", title="T", source="corpus/d.txt", text=text)


@pytest.fixture(scope="module")
def seed_chunks(corpus_dir: Path) -> dict[str, list]:
    return {d.doc_id: chunk_document(d) for d in load_corpus(corpus_dir)}


def test_every_chunk_is_a_verbatim_span_of_its_document(corpus_dir: Path, seed_chunks) -> None:
    for doc in load_corpus(corpus_dir):
        for chunk in seed_chunks[doc.doc_id]:
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_faq_question_stays_with_its_answer(seed_chunks) -> None:
    faq = [
        c
        for c in seed_chunks["customer-officer-vs-coo"]
        if c.section == "FAQ Segment › Who reports to the COO?"
    ]
    assert len(faq) == 1
    assert faq[0].text.startswith("Who reports to the COO?")
    assert "Department heads and managers typically report to the COO." in faq[0].text


def test_list_stays_with_its_introducing_sentence(seed_chunks) -> None:
    chunk = next(
        c for c in seed_chunks["customer-officer-vs-coo"] if c.text.startswith("Primary Responsibilities:")
    )
    assert chunk.text.count("•") == 6


def test_flattened_table_stays_whole(seed_chunks) -> None:
    table = next(c for c in seed_chunks["cco-vs-cro"] if "Feature Chief Commercial Officer" in c.text)
    assert "Reporting Lines Typically reports to the CEO." in table.text and "Perspective Broad" in table.text
    assert table.section == "Key Differences Between CCO and CRO"


@pytest.mark.parametrize(
    "boilerplate",
    [
        "Scroll Image",
        "hq-logo",
        "blog-banner",
        "Never Miss The Updates",
        "Soujanya Varada",
        "Related: COO vs. Executive Director",
        "Published on November 2nd, 2023",
        "Stay On Top Of Everything In HR",
    ],
)
def test_scraped_boilerplate_is_kept_out_of_chunks(seed_chunks, boilerplate: str) -> None:
    assert not any(boilerplate in c.text for chunks in seed_chunks.values() for c in chunks)


def test_chunk_sizes_stay_in_the_target_range(seed_chunks) -> None:
    sizes = [len(c.text.split()) for chunks in seed_chunks.values() for c in chunks]
    assert max(sizes) <= 200
    assert sorted(sizes)[len(sizes) // 2] >= 30  # the median chunk is a real passage, not a fragment


def test_markdown_headings_become_the_section_path() -> None:
    text = (
        "# Handbook\n\nIntro line for everyone here.\n\n## Leave\nStaff get 25 days of paid leave a year.\n"
    )
    chunks = chunk_document(_doc(text))
    assert [c.section for c in chunks] == ["Handbook", "Handbook › Leave"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "naïve café — “quoted” 😀 text.",
        "x" * 5000,
        "word " * 1000,
        "One.\n\n\n\nTwo.\r\nThree.",
    ],
)
def test_edge_cases_keep_the_invariant(text: str) -> None:
    for chunk in chunk_document(_doc(text), ChunkerConfig(min_words=5, max_words=50)):
        assert text[chunk.start : chunk.end] == chunk.text and chunk.text.strip()


def test_long_block_is_split_at_sentence_boundaries() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    chunks = chunk_document(_doc(text), ChunkerConfig(min_words=10, max_words=50))
    assert len(chunks) > 1 and all(c.text.endswith(".") for c in chunks)


def test_config_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="min_words"):
        ChunkerConfig(min_words=100, max_words=10)


_line = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.sampled_from(
        ["# Title", "What is X?", "  • item one.", "Related: spam", "Key Points:", "", "A. B. C."]
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_line, max_size=40), st.sampled_from(["\n", "\n\n", "\r\n"]))
def test_generated_documents_keep_exact_offsets(lines: list[str], sep: str) -> None:
    text = sep.join(lines)
    doc = _doc(text)
    for chunk in chunk_document(doc, ChunkerConfig(min_words=3, max_words=30)):
        assert doc.text[chunk.start : chunk.end] == chunk.text
    for start, end in answer_units(doc):
        assert 0 <= start < end <= len(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_sentence_spans_are_inside_the_text_and_ordered(text: str) -> None:
    spans = split_sentences(text)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_number_alone_after_a_sentence_stays_with_it(wrapped: bool) -> None:
    # Hypothesis found "The. 30.": the tail "30." looks like a list marker and is no sentence.
    text = "The fee rose. 30.\n"
    assert [text[s:e] for s, e in split_sentences(text, wrapped=wrapped)] == ["The fee rose. 30."]
    listed = "Steps:\n1. Install the agent.\n"
    assert [listed[s:e] for s, e in split_sentences(listed)] == ["Steps:", "Install the agent."]


def test_sentence_splitter_respects_abbreviations() -> None:
    text = "Dr. Smith (e.g. the CEO) earns $150,000. They report to the board."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Dr. Smith (e.g. the CEO) earns $150,000.",
        "They report to the board.",
    ]


@pytest.mark.parametrize("source", ["deep.rst", "deep.md", "deep.adoc"])
def test_a_document_nested_too_deeply_for_its_reader_is_read_by_line_rules(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A generated or hostile file must not stop a build: past the reader's recursion limit it is
    read as plain text, every span still verbatim."""
    marker = {"deep.rst": "- ", "deep.md": "- ", "deep.adoc": "* "}[source]
    text = "Title\n=====\n\n" + "".join(" " * i + f"{marker}item {i}\n" for i in range(3000))
    doc = Document(doc_id="deep", title="Deep", source=source, text=text)
    with caplog.at_level("WARNING", logger="index.chunking"):
        chunks = chunk_document(doc)
    assert chunks and all(c.text == text[c.start : c.end] for c in chunks)
    # markdown-it caps nesting itself and AsciiDoc nests by marker, not indentation: only the
    # reStructuredText reader recurses this deep, and falls back to the line rules.
    if source == "deep.rst":
        assert "item 2999" in chunks[-1].display
        assert "nested too deeply" in caplog.text
