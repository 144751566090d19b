"""The on-disk index bundle: build it atomically, load it with its manifest checked.

Layout of a built index (``index_dir`` is a symlink to the current build, so a new build replaces
the old one with a single atomic rename and a build killed halfway leaves the previous one intact)::

    index_dir -> .index_dir.builds/<stamp>/
        manifest.json     format, model id and dimension, chunker, corpus fingerprint, counts
        documents.jsonl   the documents as served (citations point into these texts)
        chunks.jsonl      chunk spans, sections and the text that was embedded
        units.npy         answer units (sentences, list items, table rows): chunk_id, start, end
        unit_texts.json   their readable text (markup removed, rows with their column headers)
        unit_vectors.npy  their normalised embeddings (answer selection is a dot product)
        acronyms.json     acronym -> meanings -> doc ids
        dense/ sparse/    the FAISS and BM25 indexes
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from corpus.ingest import CorpusLoadError, load_corpus
from corpus.models import Document
from index.acronyms import build_acronym_table
from index.chunking import ChunkerConfig, chunk_document, parse_structure
from index.dense import DenseIndex
from index.embedder import Progress, SentenceTransformerEmbedder
from index.errors import CorpusError, IndexNotReady
from index.sparse import SparseIndex
from index.structure import Structure
from index.types import Chunk, Meaning

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
# Bumped whenever reading documents into chunks and units changes (Markdown reader, splitter):
# an index built by another reader version is stale and rebuilt, even if the corpus is unchanged.
READER_VERSION = 3
MANIFEST = "manifest.json"
REBUILD_HINT = "run `docqa build` (or `make index`) to rebuild it"


def model_id(model: str) -> str:
    """A stable identity of a model: its name, or for a local folder a hash of its config and weights size.

    The same packaged model installed at different paths gets the same id, so an index built on one
    machine loads on another; a different model never does.
    """
    path = Path(model)
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        if (path / name).exists():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"local:{digest.hexdigest()[:16]}"


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """A hash of every document's id, source and text: changes whenever the corpus does."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.source}\0{doc.title}\0".encode())
        digest.update(hashlib.sha256(doc.text.encode("utf-8")).digest())
    return digest.hexdigest()


def answer_units(document: Document) -> list[tuple[int, int]]:
    """Spans an answer may be: sentences of prose and list items, table rows (never code or headings)."""
    return [(u.start, u.end) for u in parse_structure(document).units]


def _chunk_units(chunks: list[Chunk], structures: dict[str, Structure]) -> tuple[np.ndarray, list[str]]:
    """Answer units of every chunk, ``(chunk_id, start, end)`` rows, and their readable texts."""
    rows: list[tuple[int, int, int]] = []
    displays: list[str] = []
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for doc_id, doc_chunks in by_doc.items():
        units = structures[doc_id].units
        starts = [u.start for u in units]
        for chunk in doc_chunks:
            lo = bisect.bisect_left(starts, chunk.start)
            for unit in units[lo:]:
                if unit.start >= chunk.end:
                    break
                if unit.end <= chunk.end:
                    rows.append((chunk.chunk_id, unit.start, unit.end))
                    displays.append(unit.display)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3), displays


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress:
        progress(stage, done, total)


def build_index_from_documents(
    documents: Sequence[Document],
    index_dir: Path,
    model: str,
    *,
    progress: Progress | None = None,
    chunker: ChunkerConfig | None = None,
    embed_cache: Path | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Chunk, embed and index documents, then swap the result into `index_dir` atomically.

    Args:
        documents: The documents (ids must be unique).
        index_dir: Where the index lives; replaced only once the new build is complete.
        model: sentence-transformers model name or folder.
        progress: Called as ``progress(stage, done, total)``.
        chunker: Chunk size bounds.
        embed_cache: Folder for an embedding cache keyed by model and text hash (benchmarks).
        extra_manifest: Extra fields recorded in the manifest (e.g. the corpus folder).

    Returns:
        The manifest written.

    Raises:
        CorpusError: No documents, or duplicate ids.
    """
    if not documents:
        raise CorpusError("no documents to index; add .txt/.md/.html files to the corpus folder")
    if len({d.doc_id for d in documents}) != len(documents):
        raise CorpusError("document ids must be unique; fix the corpus manifest")
    started = time.perf_counter()
    chunker = chunker or ChunkerConfig()
    chunks: list[Chunk] = []
    structures: dict[str, Structure] = {}
    for i, doc in enumerate(documents, 1):
        structures[doc.doc_id] = parse_structure(doc)
        chunks.extend(chunk_document(doc, chunker, first_id=len(chunks), structure=structures[doc.doc_id]))
        _notify(progress, "chunking", i, len(documents))
    if not chunks:
        raise CorpusError("the documents produced no chunks (are they all boilerplate?)")
    units, unit_texts = _chunk_units(chunks, structures)
    embedder = SentenceTransformerEmbedder(model, cache_dir=embed_cache)
    vectors = embedder.encode([c.embed_text for c in chunks], progress=progress)
    unit_vectors = embedder.encode(
        unit_texts, progress=lambda _s, d, t: _notify(progress, "embedding sentences", d, t)
    )
    _notify(progress, "indexing", 0, 2)
    dense = DenseIndex.build(vectors)
    sparse = SparseIndex.build([c.embed_text for c in chunks])
    _notify(progress, "indexing", 2, 2)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "model_id": model_id(model),
        "dimension": int(vectors.shape[1]),
        "normalized": True,
        "chunker": asdict(chunker),
        "reader_version": READER_VERSION,
        "corpus_fingerprint": corpus_fingerprint(documents),
        "documents": len(documents),
        "chunks": len(chunks),
        "answer_units": int(units.shape[0]),
        "dense_kind": dense.kind,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - started, 3),
        **(extra_manifest or {}),
    }
    acronyms = build_acronym_table(documents)

    def write(target: Path) -> None:
        _write_jsonl(target / "documents.jsonl", [{**asdict(d), "meta": dict(d.meta)} for d in documents])
        _write_jsonl(target / "chunks.jsonl", [asdict(c) for c in chunks])
        np.save(target / "units.npy", units)
        (target / "unit_texts.json").write_text(json.dumps(unit_texts, ensure_ascii=False), encoding="utf-8")
        np.save(target / "unit_vectors.npy", unit_vectors.astype(np.float16))
        (target / "acronyms.json").write_text(
            json.dumps({k: [asdict(m) for m in v] for k, v in acronyms.items()}, indent=1), encoding="utf-8"
        )
        dense.save(target / "dense")
        sparse.save(target / "sparse")
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    _atomic_publish(index_dir, write)
    logger.info(
        "index built: %s chunks from %s documents in %ss",
        len(chunks),
        len(documents),
        manifest["build_seconds"],
    )
    return manifest


def _atomic_publish(index_dir: Path, write: Any) -> None:
    """Write a build into a fresh folder, then point `index_dir` at it with one atomic rename."""
    index_dir = Path(os.path.abspath(index_dir))
    builds = index_dir.parent / f".{index_dir.name}.builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    target = builds / stamp
    target.mkdir()
    try:
        write(target)
        for path in target.rglob("*"):
            if path.is_file():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        if index_dir.exists() and not index_dir.is_symlink():
            # A plain folder from elsewhere: keep it as a build so the swap below stays atomic.
            legacy = builds / f"legacy-{stamp}"
            index_dir.rename(legacy)
        link = index_dir.parent / f".{index_dir.name}.link-{stamp}"
        os.symlink(os.path.relpath(target, index_dir.parent), link)
        os.replace(link, index_dir)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    for old in builds.iterdir():
        if old.name != stamp:
            shutil.rmtree(old, ignore_errors=True)


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    model: str,
    *,
    progress: Progress | None = None,
    embed_cache: Path | None = None,
) -> dict[str, Any]:
    """Load a corpus folder and build its index (see `build_index_from_documents`).

    Raises:
        CorpusError: The folder is missing or holds no document.
    """
    try:
        documents = load_corpus(Path(corpus_dir))
    except CorpusLoadError as exc:
        raise CorpusError(str(exc)) from exc
    return build_index_from_documents(
        documents,
        index_dir,
        model,
        progress=progress,
        embed_cache=embed_cache or default_embed_cache(index_dir),
        extra_manifest={"corpus_dir": str(corpus_dir)},
    )


def default_embed_cache(index_dir: Path) -> Path:
    """Where builds keep embeddings by model + text, so a rebuild embeds only changed text.

    One cache next to the index folder, shared by the indexes kept there (keys are content hashes).
    """
    return Path(os.path.abspath(index_dir)).parent / ".docqa-embeddings"


def index_exists(index_dir: Path) -> bool:
    """True when `index_dir` holds a manifest (it may still be stale or incompatible)."""
    return (Path(index_dir) / MANIFEST).is_file()


def read_manifest(index_dir: Path, model: str) -> dict[str, Any]:
    """Read and check a manifest against the model that will embed queries.

    Raises:
        IndexNotReady: Missing, unreadable, of another format, or built with another model.
    """
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexNotReady(f"no index at {index_dir}; {REBUILD_HINT}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexNotReady(f"the index manifest {path} is unreadable ({exc}); {REBUILD_HINT}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexNotReady(
            f"the index at {index_dir} has format {manifest.get('format_version')!r}, this docqa reads "
            f"{FORMAT_VERSION}; {REBUILD_HINT}"
        )
    if manifest.get("model_id") != model_id(model):
        raise IndexNotReady(
            f"the index at {index_dir} was built with model {manifest.get('model')!r}, but queries would use "
            f"{model!r}; set DOCQA_MODEL to the index's model or {REBUILD_HINT}"
        )
    return manifest


def check_corpus_unchanged(manifest: dict[str, Any], corpus_dir: Path) -> None:
    """Refuse an index whose corpus has changed since it was built.

    Raises:
        IndexNotReady: The corpus folder's fingerprint differs from the manifest's.
    """
    try:
        documents = load_corpus(Path(corpus_dir))
    except CorpusLoadError as exc:
        raise IndexNotReady(f"cannot read the corpus to check the index: {exc}") from exc
    if manifest.get("reader_version") != READER_VERSION:
        raise IndexNotReady(
            f"the index of {corpus_dir} was built by another version of docqa's document reader; {REBUILD_HINT}"
        )
    if corpus_fingerprint(documents) != manifest.get("corpus_fingerprint"):
        raise IndexNotReady(f"the corpus in {corpus_dir} changed since the index was built; {REBUILD_HINT}")


def _document(row: dict[str, Any]) -> Document:
    """A document as stored in documents.jsonl (JSON lists back to tuples)."""
    row["pages"] = tuple(row.get("pages") or ())
    row["slides"] = tuple(row.get("slides") or ())
    return Document(**row)


def read_bundle(index_dir: Path) -> dict[str, Any]:
    """Read every file of a built index (the manifest is checked separately).

    Raises:
        IndexNotReady: A file is missing or corrupt.
    """
    index_dir = Path(index_dir)
    try:
        with (index_dir / "documents.jsonl").open(encoding="utf-8") as fh:
            documents = [_document(json.loads(line)) for line in fh]
        with (index_dir / "chunks.jsonl").open(encoding="utf-8") as fh:
            chunks = [Chunk(**json.loads(line)) for line in fh]
        raw_acronyms = json.loads((index_dir / "acronyms.json").read_text(encoding="utf-8"))
        acronyms = {
            k: tuple(Meaning(m["expansion"], tuple(m["doc_ids"])) for m in v) for k, v in raw_acronyms.items()
        }
        bundle = {
            "documents": documents,
            "chunks": chunks,
            "acronyms": acronyms,
            "units": np.load(index_dir / "units.npy"),
            "unit_texts": json.loads((index_dir / "unit_texts.json").read_text(encoding="utf-8")),
            "unit_vectors": np.load(index_dir / "unit_vectors.npy").astype(np.float32),
            "dense": DenseIndex.load(index_dir / "dense"),
            "sparse": SparseIndex.load(index_dir / "sparse"),
        }
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexNotReady(
            f"the index at {index_dir} is incomplete or corrupt ({exc}); {REBUILD_HINT}"
        ) from exc
    if len(bundle["chunks"]) != len(bundle["dense"]) or len(bundle["chunks"]) != len(bundle["sparse"]):
        raise IndexNotReady(f"the index at {index_dir} is inconsistent (chunk counts differ); {REBUILD_HINT}")
    return bundle
