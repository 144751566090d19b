"""Chunk vectors composed from answer-unit vectors and a heading vector (`index.chunk_vectors`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import build_index
from index.chunk_vectors import (
    BEST_UNIT_WEIGHT,
    HEADING_WEIGHT,
    compose,
    heading_text,
    rerank_by_best_unit,
    unit_bounds,
)
from index.dense import DenseIndex
from index.runtime import default_onnx_root, make_embedder


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_compose_is_the_normalised_mean_plus_the_weighted_heading() -> None:
    units = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])
    headings = np.stack([_unit(0, 0, 1), _unit(1, 1, 0), _unit(1, 0, 1)])
    out = compose(np.array([0, 0, 1]), units, headings, heading_weight=0.5)
    mean = _unit(1, 1, 0)
    expected = mean + 0.5 * headings[0]
    np.testing.assert_allclose(out[0], expected / np.linalg.norm(expected), atol=1e-6)
    one = units[2] + 0.5 * headings[1]
    np.testing.assert_allclose(out[1], one / np.linalg.norm(one), atol=1e-6)
    np.testing.assert_allclose(out[2], headings[2], atol=1e-6)  # no units: left to the caller
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_heading_text_is_title_then_section() -> None:
    assert heading_text("Leave policy", "Vacation > Carry-over") == "Leave policy\nVacation > Carry-over"
    assert heading_text(" Leave policy ", "") == "Leave policy"


def _load(index_dir: Path) -> dict[str, Any]:
    chunks = _jsonl(index_dir / "chunks.jsonl")
    docs = _jsonl(index_dir / "documents.jsonl")
    return {
        "chunks": chunks,
        "titles": {d["doc_id"]: d["title"] for d in docs},
        "units": np.load(index_dir / "units.npy"),
        "unit_texts": json.loads((index_dir / "unit_texts.json").read_text(encoding="utf-8")),
        "dense": DenseIndex.load(index_dir / "dense"),
    }


@pytest.mark.model
def test_built_index_serves_composed_chunk_vectors(tmp_path: Path, model_path: str) -> None:
    """Each stored chunk vector is composed from the model's vectors of its units and heading; a
    chunk with no answer unit (only code) is its own text's vector."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "leave.md").write_text(
        "---\ntitle: Leave policy\n---\n\n# Vacation\n\nEvery employee gets 25 days of paid leave a year. "
        "Unused days expire on March 31.\n\n## Requests\n\nAsk your manager two weeks ahead.\n\n"
        "## Script\n\n```\nleave --request 3d\n```\n",
        encoding="utf-8",
    )
    index_dir = tmp_path / "index"
    manifest = build_index(corpus, index_dir, model_path)
    assert manifest["chunk_vectors"] == "units+heading"
    built = _load(index_dir)
    embedder = make_embedder(model_path, onnx_root=default_onnx_root(index_dir))
    stored = built["dense"].vectors(list(range(len(built["chunks"]))))
    with_units = {int(c) for c in built["units"][:, 0]}
    assert with_units and len(with_units) < len(built["chunks"])  # the code block has no units
    for chunk in built["chunks"]:
        cid = chunk["chunk_id"]
        if cid in with_units:
            rows = [i for i, u in enumerate(built["units"]) if int(u[0]) == cid]
            mean = embedder.encode([built["unit_texts"][i] for i in rows]).mean(axis=0)
            heading = embedder.encode([heading_text(built["titles"][chunk["doc_id"]], chunk["section"])])[0]
            expected = mean / np.linalg.norm(mean) + HEADING_WEIGHT * heading
            expected /= np.linalg.norm(expected)
        else:
            expected = embedder.encode([chunk["embed_text"]])[0]
        assert float(stored[cid] @ expected) > 1 - 1e-4, chunk["section"]


def test_unit_bounds_give_each_chunks_rows() -> None:
    assert list(unit_bounds(np.array([0, 0, 2, 2, 2]), n_chunks=4)) == [0, 2, 2, 5, 5]


def test_a_chunk_whose_one_unit_answers_outranks_one_about_the_topic_throughout() -> None:
    # Chunk 0 is near the question as a whole but none of its units says what is asked; chunk 1
    # is further off on average, but its second unit is the question in other words. Chunk 2 has
    # no units (code) and keeps its own similarity.
    query = _unit(1, 0, 0)
    units = np.stack([_unit(1, 1, 0), _unit(1, 0, 1), _unit(0, 1, 0), _unit(1, 0, 0.1)]).astype(np.float16)
    bounds = unit_bounds(np.array([0, 0, 1, 1]), n_chunks=3)
    hits = [(0, 0.70), (2, 0.65), (1, 0.60)]
    assert rerank_by_best_unit(hits, bounds, units, query, weight=0.0) == hits
    mixed = rerank_by_best_unit(hits, bounds, units, query, weight=0.3)
    assert [c for c, _ in mixed] == [1, 0, 2]
    best_of_1 = float(units[3].astype(np.float32) @ query)
    assert dict(mixed)[1] == pytest.approx(0.7 * 0.60 + 0.3 * best_of_1, abs=1e-6)
    assert dict(mixed)[0] == pytest.approx(0.7 * 0.70 + 0.3 * float(_unit(1, 1, 0) @ query), abs=1e-3)
    assert dict(mixed)[2] == pytest.approx(0.65)


def test_hits_without_units_come_back_as_they_were() -> None:
    hits = [(1, 0.9), (0, 0.5)]
    bounds = unit_bounds(np.array([2, 2]), n_chunks=3)
    units = np.stack([_unit(1, 0, 0), _unit(0, 1, 0)])
    assert rerank_by_best_unit(hits, bounds, units, _unit(0, 1, 0), weight=0.5) == hits
    assert rerank_by_best_unit([], bounds, units, _unit(0, 1, 0), weight=0.5) == []


@pytest.mark.model
def test_the_engines_dense_ranking_mixes_chunk_and_best_unit(index: Any) -> None:
    """Through the loaded demo index: the dense ranking is the chunk similarity mixed with the
    best unit's at `BEST_UNIT_WEIGHT` (asked for every chunk, so every chunk is re-ranked)."""
    question = "What does the chief operating officer do all day?"
    q = index.encode_query(question)
    q = q / np.linalg.norm(q)
    n = len(index.chunks)
    chunk_sims = index._dense.vectors(list(range(n))) @ q
    units = np.asarray(index._units)
    unit_sims = np.asarray(index._answerer.unit_vectors, dtype=np.float32) @ q
    expected = []
    for cid in range(n):
        own = unit_sims[units[:, 0] == cid]
        best = float(own.max()) if len(own) else float(chunk_sims[cid])
        expected.append((1 - BEST_UNIT_WEIGHT) * float(chunk_sims[cid]) + BEST_UNIT_WEIGHT * best)
    ranked = index._ranked_ids(question, q, "dense", n)
    order = sorted(range(n), key=lambda c: -expected[c])
    assert [c for c, _ in ranked[:5]] == order[:5]
    np.testing.assert_allclose([s for _, s in ranked[:5]], [expected[c] for c in order[:5]], atol=1e-5)
    index.best_unit_weight = 0.0
    try:
        plain = index._ranked_ids(question, q, "dense", n)
    finally:
        index.best_unit_weight = BEST_UNIT_WEIGHT
    assert [c for c, _ in plain[:5]] == [c for c, _ in index._dense.search(q, 5)]


@pytest.mark.parametrize("question", ["Who reprts to the COO?", "How is a fractional executive paid?"])
def test_retrieval_signals_are_what_each_mode_ranks_by(index: Any, question: str) -> None:
    """`Index.retrieval_signals` (what bench/retrieval_ceiling.py bounds hit@5 with) gives, after the
    same typo correction and acronym expansion as search, BM25's ranking, the dense ranking mixed at
    `BEST_UNIT_WEIGHT`, and no hybrid top-5 chunk is beaten on all three signals by five others."""
    signals = index.retrieval_signals(question)
    n = len(index.chunks)
    assert {k: v.shape for k, v in signals.items()} == {"bm25": (n,), "chunk": (n,), "unit": (n,)}
    by_bm25 = [p.chunk_id for p in index.search(question, top_k=5, mode="bm25")]
    assert by_bm25 == [int(c) for c in np.argsort(-signals["bm25"], kind="stable")[: len(by_bm25)]]
    mixed = (1 - BEST_UNIT_WEIGHT) * signals["chunk"] + BEST_UNIT_WEIGHT * signals["unit"]
    by_dense = [p.chunk_id for p in index.search(question, top_k=5, mode="dense")]
    assert by_dense == [int(c) for c in np.argsort(-mixed)[:5]]
    np.testing.assert_allclose(
        [p.score for p in index.search(question, top_k=5, mode="dense")], np.sort(mixed)[::-1][:5], atol=1e-5
    )
    for passage in index.search(question, top_k=5):
        c = passage.chunk_id
        beaten = np.logical_and.reduce([v > v[c] for v in signals.values()])
        assert beaten.sum() < 5
