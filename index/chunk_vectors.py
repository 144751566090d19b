"""Chunk vectors composed from answer-unit vectors: the model reads each piece of text once.

Answer selection needs a vector for every answer unit (sentence, list item, table row), and
every word of a chunk belongs to one of its units. Embedding the chunk text as well would make
the model read the corpus twice. Instead, a chunk's vector is composed from vectors that are
computed anyway, plus one short text per section:

    chunk = normalise(normalise(mean of its units' vectors) + HEADING_WEIGHT * heading vector)

where the heading vector embeds ``"<document title>\\n<section path>"`` (one text per distinct
section, so a few hundred short texts for a whole manual). A chunk without answer units (only
code, say) is embedded from its own text as before.

Measured on the development pool and the demo corpus (``bench/chunk_vectors.py``,
``bench/results/2026-11-30_chunk_vectors.md``): hybrid retrieval with composed vectors matched
or beat whole-chunk embeddings on three corpora of four and lost one question of 42 on the
fourth, with about half the tokens read by the model at build time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from index.embedder import CachedEmbedder, Progress, normalised
from index.types import Chunk

# Weight of the heading vector against the units' mean. Fitted by leave-one-corpus-out on
# MRR@5 of hybrid retrieval over the demo dev set and the three pool corpora (18f-handbook,
# k8s-concepts, github-site-policy), choosing among 0, 0.5, 1 and 2: every fold chose 1.0
# (bench/chunk_vectors.py, bench/results/2026-11-30_chunk_vectors.md).
HEADING_WEIGHT = 1.0
SCHEME = "units+heading"
"""Recorded in the manifest as ``chunk_vectors``."""


def heading_text(title: str, section: str) -> str:
    """The text whose vector stands for where a chunk sits: document title and section path."""
    return f"{title}\n{section}".strip() if section else title.strip()


def compose(
    unit_chunk_ids: npt.NDArray[np.int64],
    unit_vectors: npt.NDArray[np.float32],
    heading_vectors: npt.NDArray[np.float32],
    heading_weight: float = HEADING_WEIGHT,
) -> npt.NDArray[np.float32]:
    """Chunk vectors from unit vectors and one heading vector per chunk.

    Args:
        unit_chunk_ids: The chunk of each unit (``units[:, 0]``); every chunk listed here gets a
            composed vector, the others get their heading vector (callers replace those).
        unit_vectors: ``(units, dim)`` normalised unit vectors.
        heading_vectors: ``(chunks, dim)`` normalised vector of each chunk's heading text.
        heading_weight: Weight of the heading vector (`HEADING_WEIGHT`).

    Returns:
        ``(chunks, dim)`` normalised float32 vectors.
    """
    n, dim = heading_vectors.shape
    sums = np.zeros((n, dim), dtype=np.float64)
    np.add.at(sums, unit_chunk_ids, unit_vectors.astype(np.float64))
    counts = np.bincount(unit_chunk_ids, minlength=n)[:n]
    means = normalised((sums / np.clip(counts, 1, None)[:, None]).astype(np.float32))
    composed = normalised(means + np.float32(heading_weight) * heading_vectors)
    return np.where((counts > 0)[:, None], composed, heading_vectors).astype(np.float32)


def chunk_texts(
    chunks: Sequence[Chunk], titles: Mapping[str, str], unit_chunk_ids: npt.NDArray[np.int64]
) -> tuple[list[str], list[int]]:
    """What a build embeds for its chunks besides the unit texts: one heading text per chunk (in
    chunk order) and the ids of the chunks without answer units (their own text is embedded)."""
    has_units = np.zeros(len(chunks), dtype=bool)
    has_units[unit_chunk_ids] = True
    headings = [heading_text(titles.get(c.doc_id, ""), c.section) or c.embed_text for c in chunks]
    return headings, [i for i in range(len(chunks)) if not has_units[i]]


def embed_chunks_and_units(
    chunks: Sequence[Chunk],
    titles: Mapping[str, str],
    units: npt.NDArray[np.int64],
    unit_texts: Sequence[str],
    embedder: CachedEmbedder,
    progress: Progress | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Embed what a build needs in one model call: unit texts, heading texts, unit-less chunks.

    Args:
        chunks: Chunks in id order (``chunk_id == position``).
        titles: Document id → title.
        units: ``(chunk_id, start, end)`` rows.
        unit_texts: Readable text of each unit (what is embedded).
        embedder: The model (cached; identical texts are embedded once).
        progress: Embedding progress callback.

    Returns:
        ``(chunk_vectors, unit_vectors)``.
    """
    chunk_ids = units[:, 0].astype(np.int64) if len(units) else np.zeros(0, dtype=np.int64)
    headings, alone = chunk_texts(chunks, titles, chunk_ids)
    texts = list(unit_texts) + headings + [chunks[i].embed_text for i in alone]
    every = embedder.encode(texts, progress=progress)
    unit_vectors = every[: len(unit_texts)]
    heading_vectors = every[len(unit_texts) : len(unit_texts) + len(chunks)]
    vectors = compose(chunk_ids, unit_vectors, heading_vectors)
    if alone:
        vectors[alone] = every[len(unit_texts) + len(chunks) :]
    return vectors, unit_vectors


# Weight of a chunk's best single answer unit (sentence, list item, table row) in its dense score;
# the chunk vector has the rest. A chunk vector averages its units, so a question that one sentence
# answers in other words can lose to chunks that are about its topic throughout. Fitted by
# leave-one-corpus-out on search hit@5 + MRR@5 over the demo dev set and the three pool corpora
# (18f-handbook, k8s-concepts, github-site-policy), grid 0 to 0.5 in steps of 0.05
# (bench/best_unit.py, bench/results/2026-12-01_best_unit.md).
BEST_UNIT_WEIGHT = 0.2


def similarities(matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``matrix @ query`` without BLAS: OpenBLAS runs a large matrix-vector product on threads that
    keep spinning afterwards, and the next question's model encode in the same process took twice
    as long (20 → 46 ms p50 after a 16 k × 384 product; with `np.einsum`'s own loop, 20 ms)."""
    return np.asarray(np.einsum("ij,j->i", matrix, query), dtype=np.float32)


def unit_bounds(unit_chunk_ids: npt.NDArray[np.int64], n_chunks: int) -> npt.NDArray[np.int64]:
    """Row bounds of each chunk's units (units are stored in chunk order): chunk c owns rows
    ``bounds[c]:bounds[c + 1]``."""
    return np.searchsorted(unit_chunk_ids, np.arange(n_chunks + 1)).astype(np.int64)


def best_unit_similarities(
    ids: npt.NDArray[np.int64],
    chunk_sims: npt.NDArray[np.floating[Any]],
    bounds: npt.NDArray[np.int64],
    unit_vectors: npt.NDArray[np.floating[Any]],
    query: npt.NDArray[np.float32],
) -> npt.NDArray[np.floating[Any]]:
    """The similarity to `query` of each chunk's best unit, for the chunks `ids` (a chunk without
    units, only code, keeps its `chunk_sims` entry). Only those chunks' unit rows are read.

    Args:
        ids: Chunk ids.
        chunk_sims: Their chunk similarities, in the same order (the result takes their dtype).
        bounds: `unit_bounds` of the index's units.
        unit_vectors: The normalised unit vectors (any float type).
        query: The normalised query vector.
    """
    lo, counts = bounds[ids], bounds[ids + 1] - bounds[ids]
    best = np.array(chunk_sims, copy=True)
    has = counts > 0
    if not has.any():
        return best
    offsets = np.cumsum(counts) - counts
    rows = np.repeat(lo - offsets, counts) + np.arange(int(counts.sum()))
    sims = similarities(np.asarray(unit_vectors[rows], dtype=np.float32), query)
    best[has] = np.maximum.reduceat(sims, offsets[has])
    return best


def rerank_by_best_unit(
    chunk_hits: list[tuple[int, float]],
    bounds: npt.NDArray[np.int64],
    unit_vectors: npt.NDArray[np.floating[Any]],
    query: npt.NDArray[np.float32],
    weight: float = BEST_UNIT_WEIGHT,
) -> list[tuple[int, float]]:
    """The dense hits re-scored ``(1 - weight) * chunk similarity + weight * its best unit's
    similarity`` and re-ranked; a chunk without units (only code) keeps its chunk similarity.

    Only the units of the hits are read (a few per chunk, whatever the corpus size): scoring every
    unit of the corpus found two more hits over 24 question sets and grows with the corpus.

    Args:
        chunk_hits: ``(chunk id, cosine similarity)`` of the nearest chunks, best first.
        bounds: `unit_bounds` of the index's units.
        unit_vectors: The normalised unit vectors (any float type; the hits' rows are read).
        query: The normalised query vector.
        weight: `BEST_UNIT_WEIGHT`.
    """
    if weight == 0 or not chunk_hits:
        return chunk_hits
    ids = np.fromiter((c for c, _ in chunk_hits), dtype=np.int64, count=len(chunk_hits))
    chunk_sims = np.fromiter((s for _, s in chunk_hits), dtype=np.float64, count=len(chunk_hits))
    if not (bounds[ids + 1] > bounds[ids]).any():
        return chunk_hits
    best = best_unit_similarities(ids, chunk_sims, bounds, unit_vectors, query)
    mixed = (1 - weight) * chunk_sims + weight * best
    order = np.argsort(-mixed, kind="stable")
    return [(int(ids[i]), float(mixed[i])) for i in order]
