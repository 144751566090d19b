"""DenseIndex: exact search against brute force, HNSW recall against exact, persistence, validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.dense import DenseIndex

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus" / "documents"


def _clustered(n: int, dim: int, seed: int, clusters: int = 50, latent: int = 24) -> np.ndarray:
    """Vectors shaped like sentence embeddings: topic clusters in a low-dimensional latent space,
    projected to dim and blurred with full-rank noise (the projection is shared across seeds)."""
    projection = np.random.default_rng(0).normal(size=(latent, dim))
    centres = 1.5 * np.random.default_rng(1).normal(size=(clusters, latent))
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, clusters, size=n)] + rng.normal(size=(n, latent))
    return (points @ projection + 5.0 * rng.normal(size=(n, dim))).astype(np.float32)


def _brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ (query / np.linalg.norm(query))
    return [int(i) for i in np.argsort(-sims, kind="stable")[:k]]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return _clustered(6000, 384, seed=7)


@pytest.fixture(scope="module")
def hnsw(vectors: np.ndarray) -> DenseIndex:
    return DenseIndex.build(vectors, exact_threshold=1000)


def test_small_corpus_gets_the_exact_index(vectors: np.ndarray) -> None:
    index = DenseIndex.build(vectors[:500])
    assert index.kind == "flat"
    assert len(index) == 500 and index.dim == 384


def test_exact_search_equals_brute_force(vectors: np.ndarray) -> None:
    index = DenseIndex.build(vectors[:2000])
    queries = _clustered(20, 384, seed=99)
    for query in queries:
        got = index.search(query, k=10)
        assert [doc for doc, _ in got] == _brute_force(vectors[:2000], query, 10)
        scores = [s for _, s in got]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0001 <= s <= 1.0001 for s in scores)


def test_hnsw_recall_at_10_against_exact_is_at_least_095(vectors: np.ndarray, hnsw: DenseIndex) -> None:
    exact = DenseIndex.build(vectors)
    assert hnsw.kind == "hnsw" and exact.kind == "flat"
    queries = _clustered(200, 384, seed=11)
    hits = sum(
        len({d for d, _ in hnsw.search(q, k=10)} & {d for d, _ in exact.search(q, k=10)}) for q in queries
    )
    recall = hits / (10 * len(queries))
    assert recall >= 0.95, f"HNSW recall@10 {recall:.3f}"


def test_hnsw_returns_k_results_even_beyond_ef_search(hnsw: DenseIndex, vectors: np.ndarray) -> None:
    results = hnsw.search(vectors[0], k=300)
    assert len(results) == 300
    assert results[0][0] == 0
    assert len({d for d, _ in results}) == 300


@pytest.mark.parametrize("kind_threshold", [10**6, 1])
def test_save_load_round_trip(vectors: np.ndarray, tmp_path: Path, kind_threshold: int) -> None:
    index = DenseIndex.build(vectors[:1500], exact_threshold=kind_threshold)
    index.save(tmp_path / "dense")
    loaded = DenseIndex.load(tmp_path / "dense")
    assert (loaded.kind, len(loaded), loaded.dim) == (index.kind, len(index), index.dim)
    for query in vectors[:20]:
        assert loaded.search(query, k=5) == index.search(query, k=5)


def test_load_missing_or_corrupt_files(vectors: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DenseIndex.load(tmp_path / "nothing")
    DenseIndex.build(vectors[:10]).save(tmp_path)
    (tmp_path / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupt"):
        DenseIndex.load(tmp_path)


def test_load_rejects_metadata_that_disagrees(vectors: np.ndarray, tmp_path: Path) -> None:
    DenseIndex.build(vectors[:10]).save(tmp_path)
    (tmp_path / "dense.json").write_text(
        '{"format": 1, "kind": "flat", "n": 11, "dim": 384}', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="does not match"):
        DenseIndex.load(tmp_path)


def test_k_larger_than_the_index_returns_everything() -> None:
    index = DenseIndex.build(np.eye(4, dtype=np.float32))
    assert sorted(d for d, _ in index.search(np.ones(4, dtype=np.float32), k=10)) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("vectors", "kwargs", "message"),
    [
        (np.zeros((0, 8), dtype=np.float32), {}, "empty"),
        (np.ones(8, dtype=np.float32), {}, r"shape \(8,\)"),
        (np.full((2, 3), np.nan, dtype=np.float32), {}, "NaN"),
        (np.ones((2, 3), dtype=np.float32), {"exact_threshold": 0}, "exact_threshold must be >= 1, got 0"),
    ],
)
def test_bad_build_input_raises_value_error(
    vectors: np.ndarray, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DenseIndex.build(vectors, **kwargs)


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        (np.ones(5, dtype=np.float32), 3, "dimension 5"),
        (np.ones(4, dtype=np.float32), 0, "got 0"),
        (np.array([np.inf, 0, 0, 0], dtype=np.float32), 1, "NaN or infinite"),
    ],
)
def test_bad_query_raises_value_error(query: np.ndarray, k: int, message: str) -> None:
    index = DenseIndex.build(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match=message):
        index.search(query, k=k)


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(min_value=1e-3, max_value=1e3), row=st.integers(min_value=0, max_value=199))
def test_vector_scale_does_not_change_results(scale: float, row: int) -> None:
    vectors = _clustered(200, 32, seed=3)
    index = DenseIndex.build(vectors)
    scaled = DenseIndex.build(vectors * np.float32(scale))
    query = vectors[row]
    assert [d for d, _ in index.search(query * scale, k=5)] == [d for d, _ in scaled.search(query, k=5)]
    assert index.search(query, k=1)[0][0] == row


@pytest.mark.model
def test_real_model_embeddings_find_the_paragraph_about_the_question() -> None:
    from sentence_transformers import SentenceTransformer

    from service.config import Settings

    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt"))]
    paras = [q.strip() for t in texts for q in t.split("\n\n") if len(q.split()) >= 8]
    model = SentenceTransformer(Settings().model_path, device="cpu")
    index = DenseIndex.build(model.encode(paras, normalize_embeddings=True))
    query = model.encode("Who does the chief operating officer report to?", normalize_embeddings=True)
    top = [paras[d].lower() for d, _ in index.search(query, k=3)]
    assert any("coo" in p or "operating officer" in p for p in top)
