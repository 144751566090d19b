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


def docqa_latency(index: Any, queries: dict[str, str], k: int) -> list[float]:
    """Per-query time of docqa's hybrid ``Index.search`` for the top k passages (ms)."""
    latencies: list[float] = []
    for i, text in enumerate(queries.values()):
        t0 = common.now_ms()
        index.search(text, k, mode="hybrid")
        if i >= 2:  # the first calls pay one-off costs
            latencies.append(common.now_ms() - t0)
    return latencies


def scifact(folder: Path, model: str, tmp: Path) -> dict[str, Any]:
    """Both systems on SciFact test: quality and latency."""
    import scifact as quality  # bench/scifact.py: the same build, rankings and metrics as the quality table

    corpus, queries, qrels = common.load_scifact(folder)
    test = {qid: queries[qid] for qid in qrels["test"]}
    index = quality.build(folder, model)
    ours = quality.product_rankings(index, test, "hybrid")
    our_ms = docqa_latency(index, test, 10)
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
        "docqa": {**quality.evaluate(qrels["test"], ours), **common.summary(our_ms)},
        "haystack": {
            **quality.evaluate(qrels["test"], theirs),
            **common.summary(peer["latency_ms"]),
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
    ours: list[bool] = []
    our_ms: list[float] = []
    for row in rows:
        t0 = common.now_ms()
        passages = index.search(row["question"], 5, mode="hybrid")
        our_ms.append(common.now_ms() - t0)
        ours.append(_hit([p.text for p in passages], row["expect_any"]))
    peer = run_peer(
        {
            "model": model,
            "cache_dir": str(common.CACHE / "peer"),
            "split_words": 150,
            "top_k": 5,
            "documents": [{"id": d.doc_id, "text": d.text} for d in index.documents.values()],
            "queries": [{"id": r["id"], "text": r["question"]} for r in rows],
        },
        tmp,
    )
    theirs = [_hit([x[2] for x in peer["rankings"][r["id"]]], r["expect_any"]) for r in rows]
    return {
        "questions": len(rows),
        "ids": [r["id"] for r in rows],
        "docqa": {"hit@5": sum(ours) / len(rows), "hits": ours, **common.summary(our_ms)},
        "haystack": {
            "hit@5": sum(theirs) / len(rows),
            "hits": theirs,
            "chunks": peer["chunks"],
            **common.summary(peer["latency_ms"]),
        },
    }


def encode_floor(model: str) -> dict[str, float]:
    """One bare model encode of a query (this run), for scale."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model, device="cpu")
    return common.summary(
        common.time_calls(
            lambda q: st.encode([q], normalize_embeddings=True, show_progress_bar=False),
            common.question_pool(),
        )
    )


def report(sci: dict[str, Any] | None, sd: dict[str, Any], floor: dict[str, float]) -> None:
    """Print the side-by-side tables and write them to bench/results."""
    sections = []
    if sci is not None:
        rows = [
            [name, *(sci[name][m] for m in METRICS), sci[name]["p50"], sci[name]["p95"]]
            for name in ("docqa", "haystack")
        ]
        body = common.table(["system (hybrid)", *METRICS, "p50 ms", "p95 ms"], rows)
        sections.append((f"SciFact test ({sci['queries']} queries, 5,183 abstracts)", body))
    rows = [
        [name, f"{sum(sd[name]['hits'])}/{sd['questions']}", sd[name]["p50"], sd[name]["p95"]]
        for name in ("docqa", "haystack")
    ]
    body = common.table(["system (hybrid, top 5)", "hit@5", "p50 ms", "p95 ms"], rows)
    sections.append((f"Seed corpus, dev questions with expect_any ({', '.join(sd['ids'])})", body))
    sections.append(
        (
            "Encode floor (one bare MiniLM encode of a query, same run)",
            f"p50 {floor['p50']:.2f} ms, p95 {floor['p95']:.2f} ms",
        )
    )
    versions = sci["peer_versions"] if sci else {}
    sections.append(
        (
            "Peer",
            "Haystack InMemoryDocumentStore: InMemoryBM25Retriever (its default BM25L) + "
            "InMemoryEmbeddingRetriever (cosine) over SentenceTransformers MiniLM embeddings, joined "
            "by DocumentJoiner(reciprocal_rank_fusion), in bench/.venv-peer: "
            + ", ".join(f"{k} {v}" for k, v in versions.items()),
        )
    )
    for heading, text in sections:
        print(f"\n{heading}\n{text}")
    path = common.write_results(
        "peer",
        "docqa vs Haystack (hybrid BM25 + MiniLM, RRF)",
        sections,
        {"scifact": sci, "seed": sd, "encode_floor": floor},
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
    report(sci, sd, encode_floor(model))


if __name__ == "__main__":
    main()
