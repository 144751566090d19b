"""The on-disk index bundle: build it atomically, load it with its manifest checked.

Layout of a built index (``index_dir`` is a symlink to the current build, so a new build replaces
the old one with a single atomic rename and a build killed halfway leaves the previous one intact;
see `index.builds`)::

    index_dir -> .index_dir.builds/<stamp>/
        manifest.json     format, model id and dimension, chunker, the corpus folder (absolute), its
                          fingerprint and one record per file, counts, what the build changed, the
                          sha256 of every file below, and a seal over all of it (`index.integrity`)
        documents.jsonl   the documents as served (citations point into these texts)
        chunks.jsonl      chunk spans, sections and the text BM25 indexes (chunk vectors are composed
                          from unit vectors, `index.chunk_vectors`)
        units.npy         answer units (sentences, list items, table rows): chunk_id, start, end
        unit_texts.json   their readable text (markup removed, rows with their column headers)
        unit_vectors.npy  their normalised embeddings (answer selection is a dot product)
        acronyms.json     acronym -> meanings -> doc ids
        dense/ sparse/    the FAISS and BM25 indexes

Files are written, and read back verified, by `index.bundle`. Builds are incremental
(`index.incremental`): an unchanged corpus is not rebuilt at all, and a rebuild reuses the chunks
of every unchanged document and the cached vectors of every text embedded before, so one changed
file costs only its own parsing and embedding.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from corpus.ingest import CorpusLoadError, scan_corpus, skipped_summary
from corpus.models import Document
from corpus.registry import supported_list
from index.acronyms import build_acronym_table
from index.builds import clean_stale_builds, publish, reading
from index.bundle import BundleParts, read_bundle, write_bundle
from index.chunk_vectors import embed_chunks_and_units
from index.chunking import ChunkerConfig, chunk_document, parse_structure
from index.dense import DenseIndex
from index.embedder import Progress, model_id
from index.errors import CorpusError
from index.incremental import (
    FileChanges,
    PriorBuild,
    folder_signature,
    load_prior,
    reader_code,
    same_folder,
)
from index.integrity import sealed
from index.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    READER_VERSION,
    REBUILD_HINT,
    build_manifest,
    check_corpus_unchanged,
    corpus_fingerprint,
    index_exists,
    raw_manifest,
    read_manifest,
    rebuild_hint,
    recorded_corpus_dir,
    trusted_manifest,
)
from index.runtime import default_onnx_root, make_embedder
from index.sparse import SparseIndex
from index.structure import Structure
from index.types import Chunk

logger = logging.getLogger(__name__)

# Checking manifests lives in index.manifest and `model_id` beside the embedding cache keyed by
# it; both stay importable from here, where callers have always found them.
__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "READER_VERSION",
    "REBUILD_HINT",
    "answer_units",
    "build_index",
    "build_index_from_documents",
    "check_corpus_unchanged",
    "corpus_fingerprint",
    "default_embed_cache",
    "index_exists",
    "model_id",
    "raw_manifest",
    "read_bundle",
    "read_manifest",
    "rebuild_hint",
    "recorded_corpus_dir",
]


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


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress:
        progress(stage, done, total)


def _chunk_all(
    documents: Sequence[Document], chunker: ChunkerConfig, prior: PriorBuild | None, progress: Progress | None
) -> tuple[list[Chunk], np.ndarray, list[str], int]:
    """Chunks, answer units and their texts of every document, reusing the prior build's where the
    document is unchanged; also how many documents were reused."""
    chunks: list[Chunk] = []
    unit_rows: list[np.ndarray] = []
    unit_texts: list[str] = []
    reused = 0
    for i, doc in enumerate(documents, 1):
        again = prior.reuse(doc, len(chunks)) if prior is not None else None
        if again is not None:
            reused += 1
            doc_chunks, rows, texts = again.chunks, again.units, again.unit_texts
        else:
            structure = parse_structure(doc)
            doc_chunks = chunk_document(doc, chunker, first_id=len(chunks), structure=structure)
            rows, texts = _chunk_units(doc_chunks, {doc.doc_id: structure})
        chunks.extend(doc_chunks)
        unit_rows.append(rows)
        unit_texts.extend(texts)
        _notify(progress, "chunking", i, len(documents))
    units = np.concatenate(unit_rows) if unit_rows else np.zeros((0, 3), dtype=np.int64)
    return chunks, units.astype(np.int64).reshape(-1, 3), unit_texts, reused


def _reusable(previous: dict[str, Any] | None, chunker: ChunkerConfig) -> bool:
    """True when `previous` chunked documents exactly as this build would."""
    return (
        previous is not None
        and previous.get("format_version") == FORMAT_VERSION
        and previous.get("reader_version") == READER_VERSION
        and previous.get("reader_code") == reader_code()
        and previous.get("chunker") == asdict(chunker)
    )


def build_index_from_documents(
    documents: Sequence[Document],
    index_dir: Path,
    model: str,
    *,
    progress: Progress | None = None,
    chunker: ChunkerConfig | None = None,
    embed_cache: Path | None = None,
    extra_manifest: dict[str, Any] | None = None,
    force: bool = False,
    runtime: str = "auto",
    onnx_root: Path | None = None,
) -> dict[str, Any]:
    """Chunk, embed and index documents, then swap the result into `index_dir` atomically.

    Documents unchanged since the previous build at `index_dir` keep their chunks; texts found in
    the embedding cache are not embedded again.

    Args:
        documents: The documents (ids must be unique).
        index_dir: Where the index lives; replaced only once the new build is complete.
        model: sentence-transformers model name or folder.
        progress: Called as ``progress(stage, done, total)``.
        chunker: Chunk size bounds.
        embed_cache: Folder for an embedding cache keyed by model and text hash.
        extra_manifest: Extra fields recorded in the manifest (e.g. the corpus folder).
        force: Chunk every document again, even those the previous build has.
        runtime: ``auto``, ``onnx`` or ``torch`` (`index.runtime`): auto exports the model to ONNX
            once and embeds with ONNX Runtime, falling back to sentence-transformers.
        onnx_root: Where ONNX exports are kept (default: beside the index, `default_onnx_root`).

    Returns:
        The manifest written; ``changes`` compares the files with the previous build's,
        ``embedded_texts`` and ``cached_texts`` count the texts embedded now and found in the cache.

    Raises:
        CorpusError: No documents, or duplicate ids.
    """
    _check_documents(documents)
    started = time.perf_counter()
    chunker = chunker or ChunkerConfig()
    previous = trusted_manifest(index_dir)
    prior = None if force else load_prior(index_dir, previous, _reusable(previous, chunker))
    chunks, units, unit_texts, reused = _chunk_all(documents, chunker, prior, progress)
    if not chunks:
        raise CorpusError("the documents produced no chunks (are they all boilerplate?)")
    chunk_texts = [c.embed_text for c in chunks]
    embedder = make_embedder(
        model,
        runtime,
        onnx_root=onnx_root or default_onnx_root(index_dir),
        cache_dir=embed_cache,
        export=True,
        sample=chunk_texts[:32],
    )
    # Chunk vectors are composed from the unit vectors (`index.chunk_vectors`): no text read twice.
    titles = {d.doc_id: d.title for d in documents}
    vectors, unit_vectors = embed_chunks_and_units(chunks, titles, units, unit_texts, embedder, progress)
    _notify(progress, "indexing", 0, 2)
    dense = DenseIndex.build(vectors)
    sparse = SparseIndex.build([c.embed_text for c in chunks])
    _notify(progress, "indexing", 2, 2)
    facts = {
        "dimension": int(vectors.shape[1]),
        "runtime": embedder.runtime,
        "reader_code": reader_code(),
        "chunks": len(chunks),
        "answer_units": int(units.shape[0]),
        "dense_kind": dense.kind,
        "build_seconds": round(time.perf_counter() - started, 3),
        "reused_documents": reused,
        "embedded_texts": embedder.embedded_texts,
        "cached_texts": embedder.cached_texts,
    }
    manifest = build_manifest(documents, model, asdict(chunker), previous, facts, extra_manifest)
    acronyms = build_acronym_table(documents)

    parts = BundleParts(documents, chunks, units, unit_texts, unit_vectors, acronyms, dense, sparse)
    publish(index_dir, lambda target: write_bundle(target, parts, manifest))
    logger.info(
        "index built: %s chunks from %s documents (%s reused) in %ss; embedded %s texts, %s from cache",
        len(chunks),
        len(documents),
        reused,
        manifest["build_seconds"],
        embedder.embedded_texts,
        embedder.cached_texts,
    )
    return manifest


def _check_documents(documents: Sequence[Document]) -> None:
    """Refuse an empty corpus or duplicate document ids (the message says what to do)."""
    if not documents:
        raise CorpusError(f"no documents to index; add {supported_list()} files to the corpus folder")
    if len({d.doc_id for d in documents}) != len(documents):
        raise CorpusError("document ids must be unique; fix the corpus manifest")


def _current(previous: dict[str, Any] | None, corpus_dir: Path, model: str) -> bool:
    """True when `previous` is a complete build of `corpus_dir` by this docqa with `model`."""
    return (
        _reusable(previous, ChunkerConfig())
        and previous is not None
        and previous.get("model_id") == model_id(model)
        and same_folder(previous.get("corpus_dir"), corpus_dir)
        and bool(previous.get("files"))
    )


def _unchanged(previous: dict[str, Any], index_dir: Path, model: str, runtime: str) -> dict[str, Any]:
    """The result of a build that found nothing to do: the previous manifest, nothing embedded
    (the model's ONNX export is made if it is missing: an index built before exports existed)."""
    if runtime != "torch":
        make_embedder(model, runtime, onnx_root=default_onnx_root(index_dir), export=True)
    changes = FileChanges(unchanged=len(previous.get("files") or {})).to_manifest()
    return {**previous, "up_to_date": True, "changes": changes, "embedded_texts": 0, "cached_texts": 0}


def _record_signature(index_dir: Path, previous: dict[str, Any], signature: str | None) -> None:
    """Store the corpus folder's listing signature in the live manifest (atomically), so the next
    check sees an unchanged folder without reading its files."""
    if signature is None or previous.get("corpus_signature") == signature:
        return
    with reading(index_dir) as folder:
        tmp = folder / f".{MANIFEST}.tmp-{os.getpid()}"
        try:
            tmp.write_text(
                json.dumps(sealed({**previous, "corpus_signature": signature}), indent=2), encoding="utf-8"
            )
            os.replace(tmp, folder / MANIFEST)
        except OSError as exc:  # a read-only index (a mounted volume) is fine, just slower to check
            logger.info("could not record the corpus signature in %s: %s", folder, exc)
            tmp.unlink(missing_ok=True)


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    model: str,
    *,
    progress: Progress | None = None,
    embed_cache: Path | None = None,
    force: bool = False,
    runtime: str = "auto",
) -> dict[str, Any]:
    """Load a corpus folder and build its index incrementally (see `build_index_from_documents`).

    Stale build folders that killed builds left behind are removed first. When the index at
    `index_dir` is already a build of this folder's current contents by this docqa and model,
    nothing is rebuilt and the result says ``up_to_date``.

    Args:
        corpus_dir: The folder of documents; recorded in the manifest as an absolute path.
        index_dir: Where the index lives.
        model: sentence-transformers model name or folder.
        progress: Called as ``progress(stage, done, total)``.
        embed_cache: Embedding cache folder (default: `default_embed_cache`).
        force: Rebuild (and chunk every document) even when nothing changed.
        runtime: ``auto``, ``onnx`` or ``torch`` (`index.runtime`). An index that is up to date
            still gets the ONNX export of its model when it has none (once), so loading it needs
            no torch.

    Returns:
        The manifest (see `build_index_from_documents`), plus ``up_to_date`` when nothing was built.

    Raises:
        CorpusError: The folder is missing or holds no readable document.
    """
    corpus_dir = Path(os.path.abspath(corpus_dir))
    clean_stale_builds(index_dir)
    signature = folder_signature(corpus_dir)  # before reading: a later edit makes it differ
    previous = trusted_manifest(index_dir)
    current = not force and _current(previous, corpus_dir, model)
    if current and previous is not None and signature and previous.get("corpus_signature") == signature:
        return _unchanged(previous, index_dir, model, runtime)
    try:
        documents, skipped = scan_corpus(corpus_dir)
    except CorpusLoadError as exc:
        raise CorpusError(str(exc)) from exc
    if not documents:
        found = f": {skipped_summary(skipped)}" if skipped else " (the folder has no files)"
        raise CorpusError(
            f"no readable documents in {corpus_dir}{found}; docqa reads {supported_list()} files. "
            "Add some or point --corpus elsewhere"
        )
    if (
        current
        and previous is not None
        and previous.get("corpus_fingerprint") == corpus_fingerprint(documents)
    ):
        _record_signature(index_dir, previous, signature)
        return _unchanged(previous, index_dir, model, runtime)
    return build_index_from_documents(
        documents,
        index_dir,
        model,
        progress=progress,
        embed_cache=embed_cache or default_embed_cache(index_dir),
        force=force,
        runtime=runtime,
        extra_manifest={
            "corpus_dir": str(corpus_dir),
            "corpus_signature": signature,
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        },
    )


def default_embed_cache(index_dir: Path) -> Path:
    """Where builds keep embeddings by model + text, so a rebuild embeds only changed text.

    One cache next to the index folder, shared by the indexes kept there (keys are content hashes).
    """
    return Path(os.path.abspath(index_dir)).parent / ".docqa-embeddings"
