"""Incremental builds, counted: what a rebuild embeds, reuses and reports; stale build folders;
the corpus check's listing shortcut. Real model, real indexes, tiny corpora in tmp_path."""

from __future__ import annotations

import ast
import fcntl
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import index.manifest
import index.store
from index import IndexNotReady, build_index, load_index
from index.builds import builds_dir, clean_stale_builds, live_build
from index.embedder import _VectorCache
from index.incremental import READER_MODULES
from index.store import check_corpus_unchanged, read_manifest

pytestmark = pytest.mark.model

DOCS = {
    "leave.md": "# Leave policy\n\nEvery employee gets 25 days of paid leave a year. Unused days expire.\n",
    "oncall.md": "# On-call\n\nThe on-call engineer answers pages within 15 minutes, day and night.\n",
    "guides/travel.md": "# Travel\n\nTrains are booked for trips under 500 km. Flights need approval.\n",
}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def _age(folder: Path, seconds: float = 60.0) -> None:
    """Date every file back, as files edited a while ago are (the listing shortcut skips fresh ones)."""
    past = time.time() - seconds
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (past, past))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    _write(folder, DOCS)
    return folder


def _embedded(index_dir: Path, doc_id: str | None = None) -> set[str]:
    """The distinct texts a build embeds (one call), of every document or of one: answer-unit
    texts, one heading text (title, section path) per chunk, and the text of a chunk without units."""
    lines = (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    chunks = [json.loads(line) for line in lines]
    docs = _jsonl(index_dir / "documents.jsonl")
    titles = {d["doc_id"]: d["title"] for d in docs}
    units = np.load(index_dir / "units.npy")
    unit_texts = json.loads((index_dir / "unit_texts.json").read_text(encoding="utf-8"))
    ids = {c["chunk_id"] for c in chunks if doc_id is None or c["doc_id"] == doc_id}
    with_units = {int(chunk_id) for chunk_id in units[:, 0]}
    pairs = zip(units[:, 0].tolist(), unit_texts, strict=True)
    texts = {text for chunk_id, text in pairs if chunk_id in ids}
    for c in chunks:
        if c["chunk_id"] in ids:
            title = titles[c["doc_id"]]
            texts.add(f"{title}\n{c['section']}".strip() if c["section"] else title.strip())
            if c["chunk_id"] not in with_units:
                texts.add(c["embed_text"])
    return texts


def _calls(index_dir: Path) -> int:
    """How many distinct texts the build's one embedding call looks up."""
    return len(_embedded(index_dir))


def test_unchanged_rebuild_embeds_nothing(corpus: Path, tmp_path: Path, model_path: str) -> None:
    index_dir = tmp_path / "index"
    first = build_index(corpus, index_dir, model_path)
    assert first["embedded_texts"] == len(_embedded(index_dir)) and first["cached_texts"] == 0
    assert first["changes"]["added"] == 3 and first["corpus_dir"] == str(corpus.absolute())
    assert set(first["files"]) == set(DOCS) and len(first["files"]["oncall.md"]["sha256"]) == 64
    built_at = first["built_at"]

    again = build_index(corpus, index_dir, model_path)
    assert again["up_to_date"] is True and again["embedded_texts"] == 0
    assert (again["changes"]["unchanged"], again["changes"]["changed"]) == (3, 0)
    assert read_manifest(index_dir, model_path)["built_at"] == built_at  # nothing was rewritten

    forced = build_index(corpus, index_dir, model_path, force=True)
    assert forced["embedded_texts"] == 0 and forced["cached_texts"] == _calls(index_dir)


def test_one_changed_file_embeds_only_its_new_texts(corpus: Path, tmp_path: Path, model_path: str) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model_path)
    before = _embedded(index_dir)
    (corpus / "oncall.md").write_text(
        "# On-call\n\nThe on-call engineer answers pages within 30 minutes. Escalate after an hour.\n",
        encoding="utf-8",
    )
    result = build_index(corpus, index_dir, model_path)
    new_texts = _embedded(index_dir, "oncall") - before
    assert new_texts and result["embedded_texts"] == len(new_texts)
    assert result["embedded_texts"] + result["cached_texts"] == _calls(index_dir)
    assert result["reused_documents"] == 2
    assert result["changes"]["files"]["changed"] == ["oncall.md"] and result["changes"]["unchanged"] == 2
    # The changed file's new sentence is searchable (whether a three-document toy corpus answers it
    # or abstains is the confidence model's call, not the incremental build's).
    top = load_index(index_dir, model_path).query("When should I escalate a page?").passages[0]
    assert top.doc_id == "oncall" and "Escalate after an hour" in top.text


def test_added_and_removed_files_are_reported(corpus: Path, tmp_path: Path, model_path: str) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model_path)
    (corpus / "leave.md").unlink()
    _write(corpus, {"expenses.md": "# Expenses\n\nReceipts are due within 30 days of the purchase.\n"})
    result = build_index(corpus, index_dir, model_path)
    files = result["changes"]["files"]
    assert (files["added"], files["removed"], files["changed"]) == (["expenses.md"], ["leave.md"], [])
    assert result["changes"]["unchanged"] == 2 and result["reused_documents"] == 2
    assert {d.source for d in load_index(index_dir, model_path).documents.values()} == {
        "expenses.md",
        "oncall.md",
        "guides/travel.md",
    }


def test_incremental_build_equals_a_full_build(corpus: Path, tmp_path: Path, model_path: str) -> None:
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    build_index(corpus, incremental, model_path)
    _write(corpus, {"oncall.md": "# On-call\n\nPages are answered in 5 minutes.\n", "b.md": "# B\n\nBee.\n"})
    build_index(corpus, incremental, model_path)
    build_index(corpus, full, model_path, force=True)
    for name in ("chunks.jsonl", "documents.jsonl", "unit_texts.json", "acronyms.json"):
        assert (incremental / name).read_text(encoding="utf-8") == (full / name).read_text(encoding="utf-8")
    assert np.array_equal(np.load(incremental / "units.npy"), np.load(full / "units.npy"))
    assert np.array_equal(np.load(incremental / "unit_vectors.npy"), np.load(full / "unit_vectors.npy"))


def test_edited_reader_code_rechunks_every_document(
    corpus: Path, tmp_path: Path, model_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model_path)
    monkeypatch.setattr(index.store, "reader_code", lambda: "an-edited-chunker")
    result = build_index(corpus, index_dir, model_path)
    assert not result.get("up_to_date") and result["reused_documents"] == 0
    assert result["embedded_texts"] == 0 and result["reader_code"] == "an-edited-chunker"


def _index_imports(module: str) -> set[str]:
    """The `index.*` modules and the `corpus` package a module of the repo imports."""
    path = Path(__file__).resolve().parents[2] / (module.replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found.update(
            n if n.startswith("index.") else "corpus" for n in names if n.startswith(("index.", "corpus"))
        )
    return found


def test_every_module_that_reads_documents_marks_the_reader_code() -> None:
    # A reader module left out of the hash would let an edit to it keep chunks of the old code.
    seen, todo = set(), ["index.chunking"]
    while todo:
        module = todo.pop()
        if module in seen or module == "corpus":
            seen.add(module)
            continue
        seen.add(module)
        todo.extend(_index_imports(module))
    assert seen <= set(READER_MODULES), sorted(seen - set(READER_MODULES))
    assert "index.tokenize" in READER_MODULES  # BM25's tokens are made at build time


def test_stale_build_folders_are_removed_at_the_next_build(
    corpus: Path, tmp_path: Path, model_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model_path)
    live = live_build(index_dir)
    builds = builds_dir(index_dir)
    killed = builds / "20200101T000000-111-1"  # what a build killed while writing leaves behind
    killed.mkdir()
    (killed / ".lock").touch()
    (killed / "chunks.jsonl").write_text('{"chunk_id": 0', encoding="utf-8")
    old_unlocked = builds / "legacy-20200101T000000-222-2"
    old_unlocked.mkdir()
    _age(old_unlocked)
    in_progress = builds / "20991231T000000-333-3"  # another build, still writing: holds its lock
    in_progress.mkdir()
    fd = os.open(in_progress / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    (tmp_path / ".index.link-20200101T000000-111-1").symlink_to(killed)
    try:
        with caplog.at_level(logging.INFO, logger="index.builds"):
            removed = clean_stale_builds(index_dir)
        assert {b.path for b in removed} == {killed, old_unlocked}
        assert f"removed stale index build {killed}" in caplog.text
        assert in_progress.is_dir() and live is not None and live.is_dir()
        assert not (tmp_path / ".index.link-20200101T000000-111-1").is_symlink()
    finally:
        os.close(fd)
    killed.mkdir()
    (killed / ".lock").touch()
    (corpus / "leave.md").write_text("# Leave policy\n\nNow 30 days.\n", encoding="utf-8")
    build_index(corpus, index_dir, model_path)  # the build cleans at its start, and after its swap
    assert sorted(p.name for p in builds.iterdir()) == [live_build(index_dir).name]  # type: ignore[union-attr]


def test_a_reader_keeps_its_build_until_it_has_read_it(corpus: Path, tmp_path: Path, model_path: str) -> None:
    from index.builds import reading

    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model_path)
    with reading(index_dir) as folder:
        (corpus / "leave.md").write_text("# Leave policy\n\nNow 30 days.\n", encoding="utf-8")
        build_index(corpus, index_dir, model_path)
        assert folder.is_dir() and folder != live_build(index_dir)  # replaced, but not removed
    assert [b.path for b in clean_stale_builds(index_dir)] == [folder]


def test_check_skips_reading_an_unchanged_folder(
    corpus: Path, tmp_path: Path, model_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    fresh = build_index(corpus, index_dir, model_path)
    assert fresh["corpus_signature"] is None  # files written a moment ago: their listing is not trusted
    _age(corpus)
    assert build_index(corpus, index_dir, model_path)["up_to_date"] is True  # and records the listing
    manifest = read_manifest(index_dir, model_path)
    assert manifest["corpus_signature"]

    def no_reading(folder: Path) -> None:
        raise AssertionError(f"read {folder}")

    monkeypatch.setattr(index.manifest, "load_corpus", no_reading)
    check_corpus_unchanged(manifest, corpus)
    monkeypatch.undo()
    (corpus / "oncall.md").write_text("# On-call\n\nAnswered within 16 minutes.\n", encoding="utf-8")
    with pytest.raises(IndexNotReady, match=r"changed 1, removed 0, unchanged 2 files.*--corpus"):
        check_corpus_unchanged(manifest, corpus)


def test_embedding_cache_merges_shards_and_keeps_every_vector(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cache = _VectorCache(tmp_path / "cache")
    keys = [os.urandom(32) for _ in range(_VectorCache.MAX_SHARDS + 3)]
    vectors = rng.random((len(keys), 8), dtype=np.float32)
    for key, vector in zip(keys, vectors, strict=True):
        cache.add([key], vector[None, :])
    assert len(list((tmp_path / "cache").glob("*.keys.npy"))) < _VectorCache.MAX_SHARDS
    found = _VectorCache(tmp_path / "cache").lookup(keys)
    assert all(np.array_equal(found[k], v) for k, v in zip(keys, vectors, strict=True))
