"""Side by side: docqa against a peer (Haystack in-memory BM25 + embedding retrievers, RRF).

Same corpus, same questions, same MiniLM model (loaded by path, offline), same run:

- SciFact test (300 queries, 5,183 abstracts): nDCG@10, Recall@10, Recall@100, MRR@10 (ranx),
  and per-query latency. docqa's rankings, build and metrics are bench/scifact.py's (chunks reduced to
  documents, best chunk first), so its figures match the quality table; its latency is one hybrid
  ``Index.search`` for the top 10 passages (100 candidates from each retriever, as the engine fuses).
  Haystack indexes each abstract whole (title + text), as BEIR does; its document vectors come from the
  benchmarks' embedding cache (the same MiniLM on the same texts: identical to what its document
  embedder computes, without paying for the encode twice), its query vectors from its own embedder.
- The seed corpus and its dev questions (those with ``expect_any``): hit@5, an expected phrase in
  a top-5 passage, as ``docqa eval`` counts it. Haystack splits the documents its own way
  (DocumentSplitter, 150 words, overlap 30).

The peer runs in its own venv, ``bench/.venv-peer`` (created here when missing; never one of docqa's
dependencies), through ``bench/peer_haystack.py``.

    .venv/bin/python bench/peer.py --scifact ../shared/benchmarks/scifact
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import numpy as np  # noqa: E402
from embed_cache import embed  # noqa: E402  (SciFact vectors by model + text hash, shared with scifact.py)

PEER_VENV = common.ROOT / "bench" / ".venv-peer"
PEER_PY = PEER_VENV / "bin" / "python"
PEER_REQUIREMENTS = common.ROOT / "bench" / "peer-requirements.txt"
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
REPEAT = 4  # the seed set has 8 questions: each is timed this many times


def ensure_peer_venv() -> None:
    """Create ``bench/.venv-peer`` with the pinned peer when it is missing (torch first, CPU wheel)."""
    probe = [
        str(PEER_PY),
        "-c",
        "import haystack, haystack_integrations.components.embedders.sentence_transformers",
    ]
    if PEER_PY.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return
    print("creating the peer venv bench/.venv-peer (once) ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(PEER_PY), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, "-r", str(PEER_REQUIREMENTS)], check=True)


def run_peer(job: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Run the Haystack worker in the peer venv on a job; return its result."""
    job_file, out_file = tmp / "job.json", tmp / "result.json"
    job_file.write_text(json.dumps(job))
    subprocess.run(
        [str(PEER_PY), str(common.ROOT / "bench" / "peer_haystack.py"), str(job_file), str(out_file)],
        check=True,
    )
    result: dict[str, Any] = json.loads(out_file.read_text())
    return result


def docqa_latency(index: Any, questions: list[str], k: int, model: str) -> tuple[list[float], list[float]]:
    """Per-query time of docqa's hybrid ``Index.search`` (top k), each after a bare encode (the floor)."""
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(model, device="cpu")
    latencies: list[float] = []
    floors: list[float] = []
    for i, text in enumerate(questions):
        f0 = common.now_ms()
        bare.encode([text], normalize_embeddings=True, show_progress_bar=False)
        t0 = common.now_ms()
        index.search(text, k, mode="hybrid")
        if i >= 2:  # the first calls pay one-off costs
            latencies.append(common.now_ms() - t0)
            floors.append(t0 - f0)
    return latencies, floors


def timing(latencies: list[float], floors: list[float]) -> dict[str, Any]:
    """p50/p95 of a system's latency, its floor's p50, and the median per-query ratio to the floor."""
    ratios = [x / f for x, f in zip(latencies, floors, strict=True)]
    return {
        **common.summary(latencies),
        "floor_p50": common.percentile(floors, 50),
        "ratio_median": common.percentile(ratios, 50),
    }


def scifact(folder: Path, model: str, tmp: Path) -> dict[str, Any]:
    """Both systems on SciFact test: quality and latency."""
    import scifact as quality  # bench/scifact.py: the same build, rankings and metrics as the quality table

    corpus, queries, qrels = common.load_scifact(folder)
    test = {qid: queries[qid] for qid in qrels["test"]}
    index = quality.build(folder, model)
    ours = quality.product_rankings(index, test, "hybrid")
    our_ms, our_floor = docqa_latency(index, list(test.values()), 10, model)
    texts = [f"{d['title']} {d['text']}" for d in corpus.values()]
    np.save(tmp / "vectors.npy", embed(texts, model, common.CACHE, label="SciFact abstracts"))
    peer = run_peer(
        {
            "model": model,
            "cache_dir": str(common.CACHE / "peer"),
            "split_words": 0,
            "top_k": 100,
            "vectors_file": str(tmp / "vectors.npy"),
            "documents": [{"id": did, "text": text} for did, text in zip(corpus, texts, strict=True)],
            "queries": [{"id": qid, "text": text} for qid, text in test.items()],
        },
        tmp,
    )
    theirs = {qid: list(dict.fromkeys(r[0] for r in rows)) for qid, rows in peer["rankings"].items()}
    return {
        "queries": len(test),
        "docqa": {**quality.evaluate(qrels["test"], ours), **timing(our_ms, our_floor)},
        "haystack": {
            **quality.evaluate(qrels["test"], theirs),
            **timing(peer["latency_ms"], peer["floor_ms"]),
            "build_s": peer["build_s"],
            "embed_s": peer["embed_s"],
        },
        "peer_versions": peer["versions"],
    }


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip().lower()


def _hit(texts: list[str], phrases: list[str]) -> bool:
    joined = [_norm(t) for t in texts]
    return any(_norm(p) in t for p in phrases for t in joined)


def seed(model: str, tmp: Path) -> dict[str, Any]:
    """Both systems on the seed corpus and its dev questions: hit@5 and latency."""
    from index import build_index, load_index

    corpus_dir = common.ROOT / "corpus" / "documents"
    build_index(corpus_dir, tmp / "seed-index", model)
    index = load_index(tmp / "seed-index", model, corpus_dir)
    rows = [r for r in common.seed_questions() if "question" in r and r.get("expect_any")]
    ours = [
        _hit([p.text for p in index.search(r["question"], 5, mode="hybrid")], r["expect_any"]) for r in rows
    ]
    our_ms, our_floor = docqa_latency(index, [r["question"] for r in rows] * REPEAT, 5, model)
    peer = run_peer(
        {
            "model": model,
            "cache_dir": str(common.CACHE / "peer"),
            "split_words": 150,
            "top_k": 5,
            "documents": [{"id": d.doc_id, "text": d.text} for d in index.documents.values()],
            "queries": [{"id": r["id"], "text": r["question"]} for r in rows],
            "repeat": REPEAT,
        },
        tmp,
    )
    theirs = [_hit([x[2] for x in peer["rankings"][r["id"]]], r["expect_any"]) for r in rows]
    return {
        "questions": len(rows),
        "ids": [r["id"] for r in rows],
        "docqa": {"hit@5": sum(ours) / len(rows), "hits": ours, **timing(our_ms, our_floor)},
        "haystack": {
            "hit@5": sum(theirs) / len(rows),
            "hits": theirs,
            "chunks": peer["chunks"],
            **timing(peer["latency_ms"], peer["floor_ms"]),
        },
        "peer_versions": peer["versions"],
    }


def report(sci: dict[str, Any] | None, sd: dict[str, Any], info: dict[str, Any] | None = None) -> None:
    """Print the side-by-side tables and write them to bench/results."""
    sections = []
    lat_heads = ["p50 ms", "p95 ms", "floor p50 ms", "latency / floor (median)"]

    def lat(row: dict[str, Any]) -> list[object]:
        return [row["p50"], row["p95"], row["floor_p50"], f"{row['ratio_median']:.2f}x"]

    if sci is not None:
        rows = [
            [name, *(f"{sci[name][m]:.4f}" for m in METRICS), *lat(sci[name])]
            for name in ("docqa", "haystack")
        ]
        body = common.table(["system (hybrid)", *METRICS, *lat_heads], rows)
        sections.append((f"SciFact test ({sci['queries']} queries, 5,183 abstracts)", body))
    rows = [
        [name, f"{sum(sd[name]['hits'])}/{sd['questions']}", *lat(sd[name])] for name in ("docqa", "haystack")
    ]
    body = common.table(["system (hybrid, top 5)", "hit@5", *lat_heads], rows)
    sections.append((f"Seed corpus, dev questions with expect_any ({', '.join(sd['ids'])})", body))
    sections.append(
        (
            "Floor",
            "Before each timed query, one bare MiniLM encode of the same query in the same process (docqa's "
            "or the peer's), so a system and its floor see the same load; the ratio is the median of the "
            "per-query ratios.",
        )
    )
    sections.append(
        (
            "Peer",
            "Haystack InMemoryDocumentStore: InMemoryBM25Retriever (its default BM25L) + "
            "InMemoryEmbeddingRetriever (cosine) over SentenceTransformers MiniLM embeddings, joined "
            "by DocumentJoiner(reciprocal_rank_fusion), in bench/.venv-peer: "
            + ", ".join(f"{k} {v}" for k, v in sd["peer_versions"].items()),
        )
    )
    for heading, text in sections:
        print(f"\n{heading}\n{text}")
    path = common.write_results(
        "peer", "docqa vs Haystack (hybrid BM25 + MiniLM, RRF)", sections, {"scifact": sci, "seed": sd}, info
    )
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scifact", type=Path, default=None, help="BEIR SciFact folder (skipped when absent)"
    )
    args = parser.parse_args()
    ensure_peer_venv()
    model = common.model_path()
    with tempfile.TemporaryDirectory(prefix="docqa-peer-") as tmp:
        sci = scifact(args.scifact.resolve(), model, Path(tmp)) if args.scifact else None
        sd = seed(model, Path(tmp))
    report(sci, sd)


if __name__ == "__main__":
    main()
