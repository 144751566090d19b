"""Ingestion: ids, titles, formats, manifest, and the verbatim-text guarantee."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus import load_corpus
from corpus.ingest import CorpusLoadError


def test_default_corpus_has_readable_ids_and_titles(corpus_dir: Path) -> None:
    docs = {d.doc_id: d for d in load_corpus(corpus_dir)}
    assert set(docs) == {"cco-vs-coo", "cco-vs-cro", "customer-officer-vs-coo", "what-does-a-cco-do"}
    assert docs["cco-vs-cro"].title == "What is the difference between CCO and CRO?"
    assert docs["cco-vs-coo"].source.endswith("corpus/documents/000_6dfa2822c5d99558.txt")


def test_text_is_the_file_verbatim(corpus_dir: Path) -> None:
    for doc in load_corpus(corpus_dir):
        raw = (corpus_dir / Path(doc.source).name).read_text(encoding="utf-8")
        assert doc.text == raw


def test_title_from_first_heading_or_line_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "Team Handbook.md").write_text("# Working hours\n\nWe start at nine.\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("\n\nOn-call rota\nAlice then Bob.\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert docs["team-handbook"].title == "Working hours"
    assert docs["notes"].title == "On-call rota"


def test_html_is_stripped_to_visible_text(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><title>Policy</title><style>p{color:red}</style></head><body>"
        "<h1>Leave</h1><p>Staff get <b>25 days</b>.</p><script>alert(1)</script></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_corpus(tmp_path)
    assert doc.title == "Policy"
    assert "Staff get 25 days." in doc.text and "alert" not in doc.text and "color" not in doc.text


def test_duplicates_and_unsupported_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Same text here.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Same text here.", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")
    assert [d.doc_id for d in load_corpus(tmp_path)] == ["a"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no .txt/.md/.html documents"),
        (lambda p: (p / "manifest.json").write_text("{not json", encoding="utf-8"), "not valid JSON"),
        (
            lambda p: [
                (p / "a.txt").write_text("x y z", encoding="utf-8"),
                (p / "manifest.json").write_text('{"a.txt": {"doc_id": "../etc"}}', encoding="utf-8"),
            ],
            "must be lower-case",
        ),
    ],
)
def test_bad_corpus_folders_say_what_to_fix(tmp_path: Path, setup, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(CorpusLoadError, match=message):
        load_corpus(tmp_path)


def test_missing_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CorpusLoadError, match="DOCQA_CORPUS_DIR"):
        load_corpus(tmp_path / "nope")
