"""The files of one build: written with their checksums (`write_bundle`), read back verified (`read_bundle`).

`index.store` decides what goes into a build; this module only puts it on disk and takes it off
again. Reading checks the manifest's seal and every file's checksum before parsing anything, then
the structural invariants of `index.integrity.check_structure`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from corpus.models import Document
from index.builds import reading
from index.dense import DenseIndex
from index.errors import IndexCorrupt
from index.incremental import document_row
from index.integrity import CHECKSUMS, check_seal, check_structure, file_checksums, sealed, verify_files
from index.manifest import MANIFEST, raw_manifest, rebuild_hint, recorded_corpus_dir
from index.sparse import SparseIndex
from index.types import Chunk, Meaning


@dataclass(frozen=True)
class BundleParts:
    """Everything a build writes besides its manifest."""

    documents: Sequence[Document]
    chunks: Sequence[Chunk]
    units: npt.NDArray[np.int64]
    unit_texts: Sequence[str]
    unit_vectors: npt.NDArray[np.floating[Any]]
    acronyms: Mapping[str, Sequence[Meaning]]
    dense: DenseIndex
    sparse: SparseIndex


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_bundle(target: Path, parts: BundleParts, manifest: dict[str, Any]) -> None:
    """Write every file of a build into `target`, then the manifest with their checksums, sealed.

    `manifest` is updated in place with ``checksums`` and the seal, so the caller returns what
    was written.
    """
    _write_jsonl(target / "documents.jsonl", [document_row(d) for d in parts.documents])
    _write_jsonl(target / "chunks.jsonl", [asdict(c) for c in parts.chunks])
    np.save(target / "units.npy", parts.units)
    (target / "unit_texts.json").write_text(
        json.dumps(list(parts.unit_texts), ensure_ascii=False), encoding="utf-8"
    )
    np.save(target / "unit_vectors.npy", parts.unit_vectors.astype(np.float16))
    (target / "acronyms.json").write_text(
        json.dumps({k: [asdict(m) for m in v] for k, v in parts.acronyms.items()}, indent=1), encoding="utf-8"
    )
    parts.dense.save(target / "dense")
    parts.sparse.save(target / "sparse")
    manifest[CHECKSUMS] = file_checksums(target)
    manifest.update(sealed(manifest))
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _document(row: dict[str, Any]) -> Document:
    """A document as stored in documents.jsonl (JSON lists back to tuples)."""
    row["pages"] = tuple(row.get("pages") or ())
    row["slides"] = tuple(row.get("slides") or ())
    return Document(**row)


def read_bundle(index_dir: Path) -> dict[str, Any]:
    """Read every file of a built index, verified against the checksums of its own manifest.

    All files come from one build, which no cleanup removes while it is read. (The manifest is
    checked against the query model separately, by `index.manifest.read_manifest`.)

    Raises:
        IndexCorrupt: The manifest's seal or a file's checksum does not match, a file is missing
            or cannot be parsed, or the files disagree with each other; the message names the
            file and ``docqa build --force``.
    """
    hint = rebuild_hint(recorded_corpus_dir(index_dir), index_dir, force=True)
    with reading(Path(index_dir)) as folder:
        manifest = raw_manifest(folder)
        if manifest is None:
            raise IndexCorrupt(f"the index at {index_dir} has no readable manifest.json; {hint}")
        check_seal(manifest, str(index_dir), hint)
        verify_files(folder, manifest, hint)
        try:
            bundle = _read_files(folder)
        except Exception as exc:  # a damaged file can fail any of the parsers in any way
            raise IndexCorrupt(
                f"the index at {index_dir} is corrupt ({type(exc).__name__}: {exc}); {hint}"
            ) from exc
    check_structure(bundle, manifest, str(index_dir), hint)
    return bundle


def _read_files(folder: Path) -> dict[str, Any]:
    with (folder / "documents.jsonl").open(encoding="utf-8") as fh:
        documents = [_document(json.loads(line)) for line in fh]
    with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
        chunks = [Chunk(**json.loads(line)) for line in fh]
    raw_acronyms = json.loads((folder / "acronyms.json").read_text(encoding="utf-8"))
    acronyms = {
        k: tuple(Meaning(m["expansion"], tuple(m["doc_ids"])) for m in v) for k, v in raw_acronyms.items()
    }
    return {
        "documents": documents,
        "chunks": chunks,
        "acronyms": acronyms,
        "units": np.load(folder / "units.npy", allow_pickle=False),
        "unit_texts": json.loads((folder / "unit_texts.json").read_text(encoding="utf-8")),
        # float16 rows, kept as they are (half the memory); read, not memory-mapped: see dense.py.
        "unit_vectors": np.load(folder / "unit_vectors.npy", allow_pickle=False),
        "dense": DenseIndex.load(folder / "dense"),
        "sparse": SparseIndex.load(folder / "sparse"),
    }
