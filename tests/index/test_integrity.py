"""Index integrity (issue 11): checksums and structural checks refuse a damaged index everywhere.

Each of the probe's damages is refused by `load_index`, by `docqa ask` (a clean message naming
`docqa build`, exit 1, no traceback) and — in tests/service/test_index_integrity_live.py — by the
live server. Structural checks catch what a re-sealed (checksums recomputed) index would hide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from index import IndexCorrupt, IndexNotReady, build_index, load_index
from index.integrity import CHECKSUMS, SEAL, file_checksums, sealed
from service.cli import cli
from tests.index.corruption import CORRUPTIONS, shift_chunk_offsets

pytestmark = pytest.mark.model


@pytest.fixture
def copy(built_index_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's index (a plain folder) to damage."""
    target = tmp_path / "index"
    shutil.copytree(built_index_dir.resolve(), target)
    return target


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_every_damage_is_refused_by_load_index(copy: Path, model_path: str, damage: str) -> None:
    CORRUPTIONS[damage](copy)
    with pytest.raises(IndexCorrupt, match="docqa build --force"):
        load_index(copy, model_path)


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_every_damage_is_refused_by_docqa_ask(copy: Path, damage: str) -> None:
    CORRUPTIONS[damage](copy)
    result = CliRunner().invoke(cli, ["ask", "Who reports to the COO?", "--index", str(copy)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert "docqa build --force" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "damage", ["non-UTF-8 byte in manifest.json", "zero-length units.npy", "damaged bm25_weights.npz"]
)
def test_installed_cli_reports_damage_on_stderr_without_traceback(copy: Path, damage: str) -> None:
    CORRUPTIONS[damage](copy)
    out = subprocess.run(
        [sys.executable, "-m", "service", "ask", "Who reports to the COO?", "--index", str(copy)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 1 and out.stdout == ""
    assert "Error:" in out.stderr and "docqa build --force" in out.stderr and "Traceback" not in out.stderr


def _reseal(folder: Path, **changes: object) -> None:
    """Recompute every checksum and the seal, as if the damage had been there at build time."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(changes)
    manifest[CHECKSUMS] = file_checksums(folder)
    (folder / "manifest.json").write_text(json.dumps(sealed(manifest)), encoding="utf-8")


def _units_outside_chunk(folder: Path) -> None:
    units = np.load(folder / "units.npy")
    units[0, 2] = 10**9
    np.save(folder / "units.npy", units)


def _drop_unit_texts(folder: Path) -> None:
    texts = json.loads((folder / "unit_texts.json").read_text(encoding="utf-8"))
    (folder / "unit_texts.json").write_text(json.dumps(texts[:-1]), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (shift_chunk_offsets, "chunk 3 of chunks.jsonl is not the span"),
        (_units_outside_chunk, "answer unit 0 of units.npy lies outside its chunk"),
        (_drop_unit_texts, "answer unit counts differ"),
        (CORRUPTIONS["empty documents.jsonl"], "documents.jsonl holds no documents"),
    ],
)
def test_structural_checks_catch_damage_the_checksums_were_recomputed_over(
    copy: Path, model_path: str, damage: Callable[[Path], None], problem: str
) -> None:
    damage(copy)
    _reseal(copy)
    with pytest.raises(IndexCorrupt, match=problem):
        load_index(copy, model_path)


def test_an_index_without_checksums_is_refused_then_rebuilt_by_docqa_build(
    built_index_dir: Path, corpus_dir: Path, tmp_path: Path, model_path: str
) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir, model_path)
    manifest_path = index_dir / "manifest.json"
    old = json.loads(manifest_path.read_text(encoding="utf-8"))
    for key in (SEAL, CHECKSUMS):
        old.pop(key)
    manifest_path.write_text(json.dumps({**old, "format_version": 2}), encoding="utf-8")  # as before
    with pytest.raises(IndexNotReady, match="format 2.*no file checksums.*docqa build"):
        load_index(index_dir, model_path)
    old.pop("format_version")
    manifest_path.write_text(json.dumps({**old, "format_version": 3}), encoding="utf-8")  # seal lost
    with pytest.raises(IndexCorrupt, match="has no checksums"):
        load_index(index_dir, model_path)
    result = CliRunner().invoke(cli, ["build", "--corpus", str(corpus_dir), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert load_index(index_dir, model_path).query("Who reports to the COO?").answer is not None


def test_incremental_rebuild_rewrites_checksums_and_never_reuses_damaged_chunks(
    tmp_path: Path, model_path: str
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("leave", "oncall", "travel"):
        (corpus / f"{name}.md").write_text(
            f"# {name.title()} policy\n\nThe {name} rules: 25 days, 15 minutes, 500 km. Ask HR for help.\n",
            encoding="utf-8",
        )
    index_dir = tmp_path / "index"
    first = build_index(corpus, index_dir, model_path)
    shift_chunk_offsets_of_any(index_dir.resolve())
    (corpus / "travel.md").write_text("# Travel policy\n\nTrains under 800 km.\n", encoding="utf-8")
    second = build_index(corpus, index_dir, model_path)
    assert second["reused_documents"] == 0  # the damaged build's chunks were not carried over
    assert second[CHECKSUMS] != first[CHECKSUMS] and second[SEAL] != first[SEAL]
    loaded = load_index(index_dir, model_path)  # checksums and structure both pass
    assert all(loaded.documents[c.doc_id].text[c.start : c.end] == c.text for c in loaded.chunks)
    (corpus / "leave.md").write_text("# Leave policy\n\nNow 30 days.\n", encoding="utf-8")
    third = build_index(corpus, index_dir, model_path)
    assert third["reused_documents"] == 2  # an intact build is reused as before
    load_index(index_dir, model_path)


def shift_chunk_offsets_of_any(folder: Path) -> None:
    """Shift the first chunk's offsets (small indexes have fewer than four chunks)."""
    path = folder / "chunks.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = json.loads(lines[0])
    row["start"] += 1
    lines[0] = json.dumps(row) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_force_rebuild_repairs_a_damaged_index(corpus_dir: Path, tmp_path: Path, model_path: str) -> None:
    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir, model_path)
    CORRUPTIONS["permuted unit_vectors.npy rows"](index_dir.resolve())
    with pytest.raises(IndexCorrupt) as refused:
        load_index(index_dir, model_path)
    command = refused.value.message.split("run `")[1].split("`")[0]
    assert command.startswith("docqa build --force --corpus")
    result = CliRunner().invoke(cli, command.split()[1:])  # the command exactly as the message gives it
    assert result.exit_code == 0, result.output
    assert load_index(index_dir, model_path).query("Who reports to the COO?").answer is not None
