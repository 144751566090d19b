"""Integrity of a built index: every file checksummed at build time, verified before it is loaded.

A build records the sha256 of every file it wrote in ``manifest.json`` (``checksums``, by path
inside the build folder) and seals the manifest itself with the sha256 of its own content
(``manifest_sha256``, over the canonical JSON of every other field). Loading checks the seal, then
every file, before parsing any of them — so a flipped byte never reaches FAISS or NumPy — and then
a few structural invariants that need no checksum (row counts agree across files, every offset lies
inside its document or chunk). Any failure raises `IndexCorrupt`, whose message names the file and
the command that rebuilds the index.

sha256 was measured against blake2b on the target machine (SHA-NI: about 1.2 GB/s against 0.7 GB/s);
the cost at 100 k chunks is in bench/results/2026-11-30_index_checksum.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt

ALGORITHM = "sha256"
SEAL = "manifest_sha256"
CHECKSUMS = "checksums"
# Files of a build folder that are not part of the index: the manifest (sealed separately) and
# the lock file readers and builds take (see `index.builds`).
_UNCHECKED = frozenset({"manifest.json", ".lock"})


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, read in blocks."""
    with path.open("rb") as fh:
        return f"{ALGORITHM}:{hashlib.file_digest(fh, ALGORITHM).hexdigest()}"


def index_files(folder: Path) -> list[str]:
    """Paths (relative, ``/``-separated, sorted) of every index file of a build folder."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.relative_to(folder).as_posix() not in _UNCHECKED
    )


def file_checksums(folder: Path) -> dict[str, str]:
    """Every index file of `folder` (see `index_files`) → its `file_digest`."""
    return {name: file_digest(folder / name) for name in index_files(folder)}


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON (sorted keys, ASCII), its seal left out."""
    body = {k: v for k, v in manifest.items() if k != SEAL}
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def sealed(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest with its seal (`SEAL`) recomputed; write this, never an unsealed manifest."""
    return {**{k: v for k, v in manifest.items() if k != SEAL}, SEAL: manifest_digest(manifest)}


def check_seal(manifest: Mapping[str, Any], where: str, hint: str) -> None:
    """Refuse a manifest whose seal is missing or does not match its content.

    Args:
        manifest: The parsed manifest.
        where: The index folder, for the message.
        hint: What to run to rebuild it.

    Raises:
        IndexCorrupt: No seal (an index from before checksums) or a mismatch (the file was edited
            or damaged after the build).
    """
    recorded = manifest.get(SEAL)
    if recorded is None:
        raise IndexCorrupt(f"the index at {where} has no checksums (built by an older docqa); {hint}")
    if recorded != manifest_digest(manifest):
        raise IndexCorrupt(
            f"the index at {where} is corrupt: manifest.json does not match its checksum "
            f"(edited or damaged after the build); {hint}"
        )


def verify_files(
    folder: Path, manifest: Mapping[str, Any], hint: str, names: Iterable[str] | None = None
) -> None:
    """Check the index files of `folder` against the checksums of its (sealed) manifest.

    Args:
        folder: The build folder.
        manifest: Its manifest (the seal already checked).
        hint: What to run to rebuild it.
        names: Only these files (default: every recorded file).

    Raises:
        IndexCorrupt: A file is missing, empty when it was not, or differs from the build's.
    """
    recorded = manifest.get(CHECKSUMS)
    if not isinstance(recorded, dict) or not recorded:
        raise IndexCorrupt(f"the index at {folder} records no file checksums; {hint}")
    for name in names if names is not None else sorted(recorded):
        path = folder / name
        expected = recorded.get(name)
        if expected is None:
            raise IndexCorrupt(f"the index at {folder} has no checksum for {name}; {hint}")
        if not path.is_file():
            raise IndexCorrupt(f"the index at {folder} is incomplete: {name} is missing; {hint}")
        if file_digest(path) != expected:
            size = path.stat().st_size
            what = "is empty" if size == 0 else f"does not match its checksum ({size:,} bytes)"
            raise IndexCorrupt(f"the index at {folder} is corrupt: {name} {what}; {hint}")


def check_structure(bundle: Mapping[str, Any], manifest: Mapping[str, Any], where: str, hint: str) -> None:
    """Invariants of a parsed bundle that hold for every build, checksums or not.

    Counts agree with the manifest and across files; every chunk is the span of its document it
    says it is; every answer unit lies inside its chunk.

    Raises:
        IndexCorrupt: The first invariant that fails, named.
    """
    problem = _structure_problem(bundle, manifest)
    if problem:
        raise IndexCorrupt(f"the index at {where} is inconsistent: {problem}; {hint}")


def _structure_problem(bundle: Mapping[str, Any], manifest: Mapping[str, Any]) -> str | None:
    documents = {d.doc_id: d for d in bundle["documents"]}
    chunks = bundle["chunks"]
    if not documents:
        return "documents.jsonl holds no documents"
    counts = {
        "documents": (len(bundle["documents"]), len(documents), manifest.get("documents")),
        "chunks": (len(chunks), len(bundle["dense"]), len(bundle["sparse"]), manifest.get("chunks")),
    }
    for what, values in counts.items():
        if len(set(values)) != 1:
            return f"{what} counts differ across files and manifest {values}"
    for i, chunk in enumerate(chunks):
        doc = documents.get(chunk.doc_id)
        if chunk.chunk_id != i or doc is None:
            return f"chunk {i} of chunks.jsonl is out of order or names an unknown document"
        if (
            not 0 <= chunk.start < chunk.end <= len(doc.text)
            or doc.text[chunk.start : chunk.end] != chunk.text
        ):
            return f"chunk {i} of chunks.jsonl is not the span [{chunk.start}, {chunk.end}) of {chunk.doc_id}"
    return _units_problem(bundle, manifest)


def _units_problem(bundle: Mapping[str, Any], manifest: Mapping[str, Any]) -> str | None:
    units, vectors, chunks = bundle["units"], bundle["unit_vectors"], bundle["chunks"]
    if units.ndim != 2 or units.shape[1] != 3 or vectors.ndim != 2:
        return f"units.npy or unit_vectors.npy has the wrong shape ({units.shape}, {vectors.shape})"
    rows = (units.shape[0], len(bundle["unit_texts"]), vectors.shape[0], manifest.get("answer_units"))
    if len(set(rows)) != 1:
        return (
            f"answer unit counts differ across units.npy, unit_texts.json, unit_vectors.npy, manifest {rows}"
        )
    dims = (vectors.shape[1], bundle["dense"].dim, manifest.get("dimension"))
    if len(set(dims)) != 1:
        return f"vector dimensions differ across unit_vectors.npy, dense index and manifest {dims}"
    if not units.shape[0]:
        return None
    ids = units[:, 0]
    if ids.min() < 0 or ids.max() >= len(chunks) or np.any(np.diff(ids) < 0):
        return "units.npy names chunks out of range or out of order"
    starts = np.fromiter((c.start for c in chunks), dtype=np.int64, count=len(chunks))[ids]
    ends = np.fromiter((c.end for c in chunks), dtype=np.int64, count=len(chunks))[ids]
    bad = np.flatnonzero((units[:, 1] < starts) | (units[:, 1] >= units[:, 2]) | (units[:, 2] > ends))
    if bad.size:
        return f"answer unit {int(bad[0])} of units.npy lies outside its chunk"
    return None
