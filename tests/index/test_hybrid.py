"""Fusion of BM25 and dense lists: the algebra, validation, and quality on the labelled dev questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.dense import DenseIndex
from index.hybrid import FusionParams, fuse
from index.sparse import SparseIndex

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "corpus" / "documents"
DEV_QUESTIONS = ROOT / "tests" / "data" / "eval" / "dev_questions.jsonl"

SPARSE = [(1, 12.0), (2, 9.0), (3, 4.0), (4, 1.0)]
DENSE = [(3, 0.81), (5, 0.80), (1, 0.42), (6, 0.40)]


def test_weight_zero_keeps_the_bm25_order() -> None:
    fused = fuse(SPARSE, DENSE, k=4, params=FusionParams(dense_weight=0.0))
    assert [d for d, _ in fused] == [1, 2, 3, 4]


def test_weight_one_keeps_the_dense_order() -> None:
    fused = fuse(SPARSE, DENSE, k=3, params=FusionParams(dense_weight=1.0))
    assert [d for d, _ in fused] == [3, 5, 1]


def test_a_document_strong_in_both_lists_wins() -> None:
    fused = fuse(SPARSE, DENSE, k=3, params=FusionParams(dense_weight=0.5))
    assert fused[0][0] in (1, 3)
    assert {d for d, _ in fused} == {1, 3, 2} or {d for d, _ in fused} == {1, 3, 5}


@pytest.mark.parametrize("normalization", ["minmax", "zscore"])
def test_normalizations_give_best_first_scores(normalization: str) -> None:
    fused = fuse(SPARSE, DENSE, k=10, params=FusionParams(normalization=normalization))
    assert len(fused) == 6
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)


def test_weighted_rrf_follows_ranks_not_scores() -> None:
    params = FusionParams(method="rrf", dense_weight=0.5, rrf_k=60)
    fused = dict(fuse(SPARSE, DENSE, k=10, params=params))
    assert fused[1] == pytest.approx(0.5 / 61 + 0.5 / 63)
    assert fused[3] == pytest.approx(0.5 / 63 + 0.5 / 61)
    assert fused[6] == pytest.approx(0.5 / 64)


def test_one_empty_list_gives_the_other_order() -> None:
    assert [d for d, _ in fuse(SPARSE, [], k=3)] == [1, 2, 3]
    assert [d for d, _ in fuse([], DENSE, k=3)] == [3, 5, 1]
    assert fuse([], [], k=3) == []


def test_ties_are_broken_by_document_id() -> None:
    fused = fuse([(9, 1.0), (4, 1.0)], [], k=2)
    assert [d for d, _ in fused] == [4, 9]


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"method": "borda"}, "borda"),
        ({"dense_weight": 1.5}, "1.5"),
        ({"dense_weight": -0.1}, "-0.1"),
        ({"normalization": "l2"}, "l2"),
        ({"rrf_k": 0.0}, "0.0"),
        ({"depth": 0}, "0"),
    ],
)
def test_bad_params_raise_value_error_naming_the_value(kwargs: dict[str, object], bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        FusionParams(**kwargs)  # type: ignore[arg-type]


def test_bad_fuse_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="got 0"):
        fuse(SPARSE, DENSE, k=0)
    with pytest.raises(ValueError, match="twice"):
        fuse([(1, 2.0), (1, 1.0)], DENSE, k=3)
    with pytest.raises(ValueError, match="nan"):
        fuse(SPARSE, [(1, float("nan"))], k=3)


def _ranked(draw: st.DrawFn) -> list[tuple[int, float]]:
    docs = draw(st.lists(st.integers(0, 30), unique=True, max_size=12))
    scores = sorted(draw(st.lists(st.floats(-5, 50), min_size=len(docs), max_size=len(docs))), reverse=True)
    return list(zip(docs, scores, strict=True))


ranked_lists = st.composite(_ranked)


@given(
    ranked_lists(),
    ranked_lists(),
    st.integers(1, 40),
    st.builds(
        FusionParams,
        method=st.sampled_from(["convex", "rrf"]),
        dense_weight=st.floats(0, 1),
        normalization=st.sampled_from(["minmax", "zscore"]),
    ),
)
def test_fused_list_is_a_sorted_deduplicated_top_k_of_the_union(
    sparse: list[tuple[int, float]], dense: list[tuple[int, float]], k: int, params: FusionParams
) -> None:
    fused = fuse(sparse, dense, k, params)
    union = {d for d, _ in sparse} | {d for d, _ in dense}
    assert len(fused) == min(k, len(union))
    assert len({d for d, _ in fused}) == len(fused)
    assert {d for d, _ in fused} <= union
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)
    if params.protect_rank == 0:  # without lifted first hits, ties are broken by ascending id
        keys = [(-s, d) for d, s in fused]
        assert keys == sorted(keys)
    for results in (sparse, dense):  # neither retriever's first hit is buried
        if results and k >= params.protect_rank > 0:
            assert results[0][0] in [d for d, _ in fused[: params.protect_rank]]


def test_a_first_hit_that_only_dense_finds_is_not_buried() -> None:
    sparse = [(i, 20.0 - i / 10) for i in range(30)]
    dense = [(42, 0.9)] + [(i, 0.8 - i / 1000) for i in range(30)]
    assert [d for d, _ in fuse(sparse, dense, 5)][:3].count(42) == 1
    assert 42 not in [d for d, _ in fuse(sparse, dense, 5, FusionParams(protect_rank=0))][:3]


# --- quality on a small labelled example: the dev questions over the default corpus --------------


def _mrr(rankings: list[list[int]], relevant: list[set[int]], k: int = 10) -> float:
    total = 0.0
    for ranking, good in zip(rankings, relevant, strict=True):
        total += next((1.0 / r for r, d in enumerate(ranking[:k], start=1) if d in good), 0.0)
    return total / len(rankings)


@pytest.fixture(scope="module")
def labelled() -> tuple[list[str], list[str], list[set[int]]]:
    """Paragraphs of the default corpus, the answerable dev questions, and which paragraphs answer each."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt"))]
    paras = [q.strip() for t in texts for q in t.split("\n\n") if len(q.split()) >= 5]
    rows = [
        json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    questions, relevant = [], []
    for row in rows:
        if row.get("kind") in ("fact", "paraphrase", "robust"):
            good = {i for i, p in enumerate(paras) if any(e.lower() in p.lower() for e in row["expect_any"])}
            assert good, row["id"]
            questions.append(row["question"])
            relevant.append(good)
    assert len(questions) >= 6
    return paras, questions, relevant


@pytest.mark.model
def test_fusion_beats_or_equals_each_retriever_on_the_dev_questions(
    labelled: tuple[list[str], list[str], list[set[int]]],
) -> None:
    from sentence_transformers import SentenceTransformer

    from service.config import Settings

    paras, questions, relevant = labelled
    model = SentenceTransformer(Settings().model_path, device="cpu")
    sparse_index = SparseIndex.build(paras)
    dense_index = DenseIndex.build(model.encode(paras, normalize_embeddings=True))
    depth = FusionParams().depth
    sparse_runs = [sparse_index.search(q, k=depth) for q in questions]
    dense_runs = [dense_index.search(model.encode(q, normalize_embeddings=True), k=depth) for q in questions]
    fused_runs = [fuse(s, d, k=10) for s, d in zip(sparse_runs, dense_runs, strict=True)]
    scores = {
        name: _mrr([[d for d, _ in run] for run in runs], relevant)
        for name, runs in (("bm25", sparse_runs), ("dense", dense_runs), ("hybrid", fused_runs))
    }
    assert scores["hybrid"] >= max(scores["bm25"], scores["dense"]), scores
