"""Fusion of the BM25 and dense result lists into one ranking.

Plain reciprocal-rank fusion (RRF, k = 60) throws the score gaps away: on SciFact it reaches only
0.685 nDCG@10, no better than a stemmed BM25 alone (0.686). A convex combination of normalised
scores keeps them: each list's scores are min-max normalised over that list (a document missing
from a list gets that list's minimum, i.e. 0), then

    fused = dense_weight * dense_norm + (1 - dense_weight) * sparse_norm

Weighted RRF (``method="rrf"``) is kept as an alternative. The defaults of :class:`FusionParams`
(convex, dense_weight 0.5, min-max, depth 200) were tuned on SciFact's *train* qrels only
(809 queries) by ``bench/scifact.py --tune-on-train`` over 128 settings (convex min-max and z-score
with weights 0..1 in steps of 0.05, weighted RRF with k 30/60, depths 100/200), through the engine's
own chunking and query handling; the test split was never used to choose them. On train the choice
gives nDCG@10 0.726 against 0.673 for BM25 alone, 0.658 for dense alone and 0.712 for the best
weighted RRF; on test 0.709 against 0.664 and 0.633 (``bench/results/scifact-*.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FusionParams", "fuse"]

_METHODS = ("convex", "rrf")
_NORMALIZATIONS = ("minmax", "zscore")


@dataclass(frozen=True)
class FusionParams:
    """How two ranked lists become one.

    Attributes:
        method: ``"convex"`` (weighted sum of normalised scores) or ``"rrf"`` (weighted
            reciprocal-rank fusion).
        dense_weight: Weight of the dense list in [0, 1]; BM25 gets ``1 - dense_weight``.
        normalization: ``"minmax"`` or ``"zscore"`` (convex only), computed per list.
        rrf_k: The RRF rank offset, > 0 (rrf only).
        depth: How many candidates each retriever should return before fusion (>= 1). Callers
            pass it to ``SparseIndex.search``/``DenseIndex.search``; ``fuse`` itself uses what it gets.
        protect_rank: Each retriever's first hit ranks no lower than this after fusion (0: off).
            Min-max fusion can bury a hit that only one retriever finds (a paraphrase dense ranks 1st
            and BM25 misses fell to 30th in the real-docs pool); keeping each list's top document
            within the first three raised hit@5 on two of three pool corpora (0.72 -> 0.74 on the
            Kubernetes docs) and lowered none (bench/results/*_pool_retrieval.md).
    """

    method: str = "convex"
    dense_weight: float = 0.5
    normalization: str = "minmax"
    rrf_k: float = 60.0
    depth: int = 200
    protect_rank: int = 3

    def __post_init__(self) -> None:
        """Validate every field, naming the bad value."""
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if not (0.0 <= self.dense_weight <= 1.0):
            raise ValueError(f"dense_weight must be in [0, 1], got {self.dense_weight}")
        if self.normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {self.normalization!r}")
        if not (math.isfinite(self.rrf_k) and self.rrf_k > 0):
            raise ValueError(f"rrf_k must be a finite number > 0, got {self.rrf_k}")
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if self.protect_rank < 0:
            raise ValueError(f"protect_rank must be >= 0, got {self.protect_rank}")


def _normalized(results: list[tuple[int, float]], how: str) -> tuple[dict[int, float], float]:
    """Per-document normalised scores of one list, and the value a missing document gets."""
    if not results:
        return {}, 0.0
    scores = np.asarray([s for _, s in results], dtype=np.float64)
    if how == "minmax":
        low, spread = float(scores.min()), float(scores.max() - scores.min())
        values = (scores - low) / spread if spread > 0 else np.ones_like(scores)
        floor = 0.0
    else:
        std = float(scores.std())
        values = (scores - scores.mean()) / std if std > 0 else np.zeros_like(scores)
        floor = float(values.min())
    return {doc: float(v) for (doc, _), v in zip(results, values, strict=True)}, floor


def _convex(
    sparse: list[tuple[int, float]], dense: list[tuple[int, float]], params: FusionParams
) -> dict[int, float]:
    sparse_norm, sparse_floor = _normalized(sparse, params.normalization)
    dense_norm, dense_floor = _normalized(dense, params.normalization)
    w = params.dense_weight
    return {
        doc: w * dense_norm.get(doc, dense_floor) + (1 - w) * sparse_norm.get(doc, sparse_floor)
        for doc in sparse_norm.keys() | dense_norm.keys()
    }


def _rrf(
    sparse: list[tuple[int, float]], dense: list[tuple[int, float]], params: FusionParams
) -> dict[int, float]:
    fused: dict[int, float] = {}
    for results, weight in ((sparse, 1 - params.dense_weight), (dense, params.dense_weight)):
        for rank, (doc, _) in enumerate(results, start=1):
            fused[doc] = fused.get(doc, 0.0) + weight / (params.rrf_k + rank)
    return fused


def _check_list(name: str, results: list[tuple[int, float]]) -> None:
    seen: set[int] = set()
    for doc, score in results:
        if doc in seen:
            raise ValueError(f"{name} lists document {doc} twice")
        if not math.isfinite(score):
            raise ValueError(f"{name} gives document {doc} a non-finite score {score}")
        seen.add(doc)


def fuse(
    sparse: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    k: int,
    params: FusionParams | None = None,
) -> list[tuple[int, float]]:
    """Merge a BM25 and a dense result list into the k best documents.

    Args:
        sparse: (document id, BM25 score) pairs, best first (as ``SparseIndex.search`` returns).
        dense: (document id, cosine) pairs, best first (as ``DenseIndex.search`` returns).
        k: Number of fused results wanted, >= 1.
        params: Fusion settings; the SciFact-train-tuned defaults when None.

    Returns:
        (document id, fused score) pairs, best first, ties broken by ascending id.

    Raises:
        ValueError: If k < 1, or a list repeats a document or has a non-finite score.

    Example:
        >>> fuse([(1, 9.0), (2, 8.0), (4, 1.0)], [(2, 0.8), (3, 0.5)], k=2)[0][0]
        2
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    _check_list("sparse", sparse)
    _check_list("dense", dense)
    params = params or FusionParams()
    fused = _convex(sparse, dense, params) if params.method == "convex" else _rrf(sparse, dense, params)
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return _protect_first_hits(ranked, (sparse, dense), params.protect_rank)[:k]


def _protect_first_hits(
    ranked: list[tuple[int, float]], lists: tuple[list[tuple[int, float]], ...], protect_rank: int
) -> list[tuple[int, float]]:
    """Move each list's first document up into the first `protect_rank` places when fusion ranked it lower.

    Moved documents take the places just above `protect_rank` (in list order) and the fused scores of
    the places they take, so scores stay non-increasing down the list.
    """
    if protect_rank < 1 or not ranked:
        return ranked
    position = {doc: i for i, (doc, _) in enumerate(ranked)}
    tops = sorted({r[0][0] for r in lists if r and r[0][0] in position}, key=position.__getitem__)
    lifted = [doc for doc in tops if position[doc] >= protect_rank]
    if not lifted:
        return ranked
    fixed = {position[doc]: doc for doc in tops if position[doc] < protect_rank}
    free = [i for i in range(min(protect_rank, len(ranked))) if i not in fixed]
    assign = dict(fixed)
    assign.update(zip(sorted(free[-len(lifted) :]), lifted, strict=False))
    others = iter([doc for doc, _ in ranked if doc not in assign.values()])
    order = [assign[i] if i in assign else next(others) for i in range(len(ranked))]
    return [(doc, score) for doc, (_, score) in zip(order, ranked, strict=True)]
