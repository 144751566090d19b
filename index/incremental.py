"""What an incremental build needs from the previous one: per-file fingerprints and reusable chunks.

A build records every file of the corpus (its relative path → document id, title, sha256 of the
text) in the manifest. The next build compares against it to report added / changed / removed /
unchanged files, and takes the chunks and answer units of every document whose record is
byte-for-byte the same from the previous build instead of parsing it again. Vectors come from
the embedding cache (keyed by model + text), so only new text is ever embedded.

A cheaper check sits in front of all that: a signature of the corpus folder's file listing
(path, size, modification time). When it equals the one recorded at the last build, nothing
was added, removed or rewritten, and no file needs to be read at all.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from corpus.ingest import MANIFEST_NAME, CorpusLoadError, corpus_files
from corpus.models import Document
from index.builds import reading
from index.errors import IndexCorrupt
from index.integrity import verify_files
from index.types import Chunk

logger = logging.getLogger(__name__)

# Files modified this recently may change again within the file system's timestamp resolution
# without their listing changing (git's "racily clean" problem): no signature is recorded then.
RACY_SECONDS = 2.0
# The files of the previous build that a build reads to reuse its chunks.
_REUSED_FILES = ("documents.jsonl", "chunks.jsonl", "units.npy", "unit_texts.json")
LISTED_CHANGES = 50
# The code that turns files into documents, chunks and answer units. A build reuses earlier chunks
# (or skips rebuilding) only when this code is byte-for-byte the code that made them, so an edit
# to a reader or the chunker never leaves chunks of the old code in an index. (Loading does not
# check it: a server must not refuse its index because a source file was edited; READER_VERSION
# is what marks a reader change that makes existing indexes stale.)
# The tokenizer is here too: an unchanged corpus is not rebuilt at all, so a tokenizer edit would
# otherwise leave the BM25 index with the old tokens.
READER_MODULES = (
    "corpus",
    "index.asciidoc",
    "index.chunking",
    "index.line_reader",
    "index.markdown",
    "index.markup",
    "index.rst",
    "index.sentences",
    "index.structure",
    "index.tokenize",
    "index.types",
)


@functools.cache
def reader_code() -> str:
    """A hash of the source files of `READER_MODULES` (every module of a package)."""
    digest = hashlib.sha256()
    for name in READER_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        files = sorted(origin.parent.glob("*.py")) if origin.name == "__init__.py" else [origin]
        for path in files:
            digest.update(f"{name}/{path.name}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def document_row(doc: Document) -> dict[str, Any]:
    """A document as stored in documents.jsonl (JSON types: tuples become lists)."""
    row: dict[str, Any] = json.loads(json.dumps({**asdict(doc), "meta": dict(doc.meta)}, ensure_ascii=False))
    return row


def file_records(documents: Sequence[Document]) -> dict[str, dict[str, str]]:
    """Each document's file (its `source`) → ``{"doc_id", "title", "sha256"}`` (sha256 of its text)."""
    return {
        doc.source: {
            "doc_id": doc.doc_id,
            "title": doc.title,
            "sha256": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        }
        for doc in documents
    }


@dataclass(frozen=True)
class FileChanges:
    """How a corpus differs from the one an index was built from, by file (relative path)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    first_build: bool = False

    @property
    def any(self) -> bool:
        """True when a file was added, changed or removed."""
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        """``added 1, changed 0, removed 2, unchanged 40 files``."""
        return (
            f"added {len(self.added)}, changed {len(self.changed)}, removed {len(self.removed)}, "
            f"unchanged {self.unchanged} files"
        )

    def to_manifest(self) -> dict[str, Any]:
        """Counts, and the first `LISTED_CHANGES` paths of each kind (a first build lists none)."""
        listed = 0 if self.first_build else LISTED_CHANGES
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
            "files": {
                kind: paths[:listed]
                for kind, paths in (
                    ("added", self.added),
                    ("changed", self.changed),
                    ("removed", self.removed),
                )
            },
        }


def diff_files(previous: dict[str, Any] | None, current: dict[str, dict[str, str]]) -> FileChanges:
    """Compare the file records of a previous manifest (None: no previous build) with `current`."""
    if previous is None:
        return FileChanges(added=sorted(current), first_build=True)
    before: dict[str, Any] = previous.get("files") or {}
    if not before:
        # An index from before per-file records: every file counts as changed, none as added.
        return FileChanges(changed=sorted(current))
    return FileChanges(
        added=sorted(set(current) - set(before)),
        changed=sorted(p for p in current if p in before and before[p] != current[p]),
        removed=sorted(set(before) - set(current)),
        unchanged=sum(1 for p in current if before.get(p) == current[p]),
    )


def folder_signature(folder: Path) -> str | None:
    """A hash of the corpus folder's listing: each file's relative path, size and modification time.

    Returns:
        The signature, or None when the folder cannot be listed or a file was modified in the
        last `RACY_SECONDS` (its timestamp could not show another change right after).
    """
    try:
        names = corpus_files(folder)
    except (CorpusLoadError, OSError):
        return None
    if (folder / MANIFEST_NAME).is_file():
        names.append(MANIFEST_NAME)
    digest = hashlib.sha256()
    newest = 0
    for name in names:
        try:
            stat = (folder / name).stat()
        except OSError:
            return None
        newest = max(newest, stat.st_mtime_ns)
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    if time.time_ns() - newest < RACY_SECONDS * 1e9:
        return None
    return digest.hexdigest()


def same_folder(a: str | Path | None, b: str | Path | None) -> bool:
    """True when both paths name the same existing folder."""
    if a is None or b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@dataclass(frozen=True)
class Reused:
    """One document's share of a previous build: its chunks (renumbered) and answer units."""

    chunks: list[Chunk]
    units: npt.NDArray[np.int64]
    unit_texts: list[str]


class PriorBuild:
    """The previous build's chunks and answer units, by document, for reuse.

    Args:
        rows: documents.jsonl rows; chunks: the chunks in order; units: ``(chunk_id, start, end)``
        rows sorted by chunk; unit_texts: their readable texts.
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        chunks: list[Chunk],
        units: npt.NDArray[np.int64],
        unit_texts: list[str],
    ) -> None:
        self._rows = {row["doc_id"]: row for row in rows}
        self._chunks = chunks
        self._units = units
        self._unit_texts = unit_texts
        self._spans: dict[str, tuple[int, int]] = {}
        for chunk in chunks:
            first, _ = self._spans.get(chunk.doc_id, (chunk.chunk_id, 0))
            self._spans[chunk.doc_id] = (first, chunk.chunk_id + 1)

    def reuse(self, doc: Document, first_id: int) -> Reused | None:
        """The document's chunks and units, renumbered from `first_id`; None unless it is unchanged."""
        span = self._spans.get(doc.doc_id)
        if span is None or self._rows.get(doc.doc_id) != document_row(doc):
            return None
        lo, hi = span
        chunks = [replace(c, chunk_id=first_id + c.chunk_id - lo) for c in self._chunks[lo:hi]]
        u_lo, u_hi = np.searchsorted(self._units[:, 0], [lo, hi])
        units = self._units[u_lo:u_hi].copy()
        units[:, 0] += first_id - lo
        return Reused(chunks, units, self._unit_texts[u_lo:u_hi])


def load_prior(index_dir: Path, previous: dict[str, Any] | None, compatible: bool) -> PriorBuild | None:
    """The previous build at `index_dir` when its chunks can be reused (same reader and chunker)."""
    if previous is None or not compatible:
        return None
    try:
        with reading(index_dir) as folder:
            # Never carry a damaged file's chunks into a new build (which would checksum them anew).
            verify_files(folder, previous, "", names=_REUSED_FILES)
            with (folder / "documents.jsonl").open(encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh]
            with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
                chunks = [Chunk(**json.loads(line)) for line in fh]
            units = np.load(folder / "units.npy")
            unit_texts = json.loads((folder / "unit_texts.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, IndexCorrupt) as exc:
        logger.info("previous build at %s not reusable (%s); chunking every document", index_dir, exc)
        return None
    if any(c.chunk_id != i for i, c in enumerate(chunks)) or len(unit_texts) != units.shape[0]:
        return None
    if units.shape[0] and np.any(np.diff(units[:, 0]) < 0):
        return None
    return PriorBuild(rows, chunks, units, unit_texts)
