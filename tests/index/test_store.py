"""The on-disk bundle: atomic builds (survive SIGKILL), manifest checks, corrupt and stale indexes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from index import IndexNotReady, build_index, index_exists, load_index
from index.store import check_corpus_unchanged, read_manifest

pytestmark = pytest.mark.model


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# Leave policy\n\nEvery employee gets 25 days of paid leave a year. Unused days expire in March.\n",
        encoding="utf-8",
    )
    (folder / "oncall.md").write_text(
        "# On-call\n\nThe on-call engineer answers pages within 15 minutes, day and night.\n",
        encoding="utf-8",
    )
    return folder


def test_manifest_records_model_dimension_corpus_and_counts(built_index_dir: Path, model_path: str) -> None:
    manifest = read_manifest(built_index_dir, model_path)
    assert manifest["dimension"] == 384 and manifest["normalized"] is True
    assert manifest["documents"] == 4 and manifest["chunks"] > 50
    assert manifest["chunker"] == {"min_words": 40, "max_words": 200}
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["format_version"] == 3
    assert {"documents.jsonl", "units.npy", "dense/dense.faiss"} <= set(manifest["checksums"])


def test_missing_index_names_the_fix(tmp_path: Path, model_path: str) -> None:
    assert not index_exists(tmp_path / "none")
    with pytest.raises(IndexNotReady, match="docqa build"):
        load_index(tmp_path / "none", model_path)


def test_other_model_is_refused(built_index_dir: Path) -> None:
    with pytest.raises(IndexNotReady, match="built with model"):
        read_manifest(built_index_dir, "some-other-model")


def test_corrupt_index_fails_with_a_clear_message(
    built_index_dir: Path, tmp_path: Path, model_path: str
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(built_index_dir.resolve(), copy)
    (copy / "chunks.jsonl").write_text("{broken", encoding="utf-8")
    with pytest.raises(IndexNotReady, match="corrupt.*docqa build"):
        load_index(copy, model_path)
    (copy / "manifest.json").write_text("nope", encoding="utf-8")
    with pytest.raises(IndexNotReady, match="unreadable"):
        load_index(copy, model_path)


def test_changed_corpus_is_detected(small_corpus: Path, tmp_path: Path, model_path: str) -> None:
    index_dir = tmp_path / "index"
    build_index(small_corpus, index_dir, model_path)
    check_corpus_unchanged(read_manifest(index_dir, model_path), small_corpus)
    (small_corpus / "leave.md").write_text("# Leave policy\n\nNow 30 days.\n", encoding="utf-8")
    with pytest.raises(IndexNotReady, match="changed since the index was built"):
        load_index(index_dir, model_path, corpus_dir=small_corpus)


def test_rebuild_swaps_in_place_and_reports_progress(
    small_corpus: Path, tmp_path: Path, model_path: str
) -> None:
    index_dir = tmp_path / "index"
    stages: list[str] = []
    first = build_index(small_corpus, index_dir, model_path, progress=lambda s, d, t: stages.append(s))
    assert {"chunking", "embedding", "indexing"} <= set(stages)
    (small_corpus / "new.md").write_text(
        "# Travel\n\nBook trains, not planes, under 500 km.\n", encoding="utf-8"
    )
    second = build_index(small_corpus, index_dir, model_path)
    assert second["documents"] == first["documents"] + 1
    assert index_dir.is_symlink() and len(list((tmp_path / ".index.builds").iterdir())) == 1
    assert "Travel" in {d.title for d in load_index(index_dir, model_path).documents.values()}


def test_build_killed_halfway_leaves_the_previous_index(
    small_corpus: Path, tmp_path: Path, model_path: str
) -> None:
    index_dir = tmp_path / "index"
    before = build_index(small_corpus, index_dir, model_path)
    for i in range(30):  # a bigger corpus, so the kill lands during embedding
        (small_corpus / f"extra{i}.md").write_text(
            f"# Extra {i}\n\n" + "Filler sentence here. " * 200, encoding="utf-8"
        )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "build", "--corpus", str(small_corpus), "--index", str(index_dir)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("chunking"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert after == before
    assert load_index(index_dir, model_path).query("How many days of paid leave?").answer is not None
