"""Scale: docqa's retrieval core on synthetic corpora of 10 k, 100 k and 1 M chunks.

Chunks are real text: SciFact abstracts split into sentences and recombined (a run of sentences
of one abstract plus one sentence of another, under the first one's title, about 80 words, like the
product's 40-200-word chunks). The SciFact folder is an argument; nothing of it is copied here.

Vectors, stated in every result:
- ``real``: each chunk embedded by MiniLM (cached in bench/.cache, keyed by model + text hash);
- ``derived``: no per-chunk encode (it would take hours here): the mean of the real MiniLM vectors
  of the abstracts a chunk's sentences come from, plus Gaussian noise, normalised, so the vectors
  cluster like real ones and the approximate index's recall means something;
- ``random``: random unit vectors (the worst case for an approximate index: no structure at all).

Each size runs in its own process (so its peak RSS is its own) and reports: vector step, BM25
build, FAISS build (flat below the product's threshold, HNSW above), index size on disk, query p50/p95
of encode + BM25 + dense + fusion (the path ``Index.search(mode="hybrid")`` takes) against the
encode floor, and recall@10 of the approximate index against exact search. Before that, the product's
sparse BM25 is timed against rank-bm25 (the reference scorer) at 5 k, 10 k and 20 k chunks.

    .venv/bin/python bench/scale.py ../shared/benchmarks/scifact [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SEED = 20261122
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")


def sentences(folder: Path) -> tuple[list[str], list[list[str]], list[str]]:
    """SciFact titles, each abstract's sentences, and each abstract's text (for its embedding)."""
    corpus, _, _ = common.load_scifact(folder)
    titles, sents, texts = [], [], []
    for doc in corpus.values():
        parts = [s for s in _SENTENCE.split(doc["text"]) if len(s.split()) >= 4]
        if len(parts) >= 2:
            titles.append(doc["title"])
            sents.append(parts)
            texts.append(f"{doc['title']} {doc['text']}")
    return titles, sents, texts


def synthetic_chunks(folder: Path, n: int) -> tuple[list[str], np.ndarray]:
    """``n`` recombined chunks, and for each the two source abstracts (main, guest)."""
    titles, sents, _ = sentences(folder)
    rng = np.random.default_rng(SEED)
    mains = rng.integers(0, len(titles), n)
    guests = rng.integers(0, len(titles), n)
    run_len = rng.integers(2, 4, n)
    texts: list[str] = []
    for i in range(n):
        own = sents[mains[i]]
        start = int(rng.integers(0, max(1, len(own) - run_len[i] + 1)))
        guest = sents[guests[i]]
        body = " ".join([*own[start : start + run_len[i]], guest[int(rng.integers(0, len(guest)))]])
        texts.append(f"{titles[mains[i]]}\n{body}")
    return texts, np.stack([mains, guests], axis=1)


def vectors(kind: str, texts: list[str], sources: np.ndarray, folder: Path, model: str) -> np.ndarray:
    """The chunk vectors of the given kind (see the module docstring)."""
    from index.embedder import SentenceTransformerEmbedder

    rng = np.random.default_rng(SEED + 1)
    if kind == "random":
        out = rng.standard_normal((len(texts), 384), dtype=np.float32)
    else:
        embedder = SentenceTransformerEmbedder(model, cache_dir=common.CACHE / "scale")
        shown = [-1]

        def progress(_stage: str, done: int, total: int) -> None:
            if done * 10 // max(total, 1) != shown[0]:
                shown[0] = done * 10 // max(total, 1)
                print(f"    embedding {done:,}/{total:,}", file=sys.stderr, flush=True)

        if kind == "real":
            return embedder.encode(texts, progress=progress)
        from embed_cache import embed  # the SciFact benchmark's cache: same model, same abstract texts

        abstracts = embed(sentences(folder)[2], model, common.CACHE, label="SciFact abstracts")
        out = 0.7 * abstracts[sources[:, 0]] + 0.3 * abstracts[sources[:, 1]]
        out += rng.standard_normal(out.shape, dtype=np.float32) * (0.25 / np.sqrt(out.shape[1]))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def timed(fn: Any) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def query_figures(sparse: Any, dense: Any, model: str, queries: list[str]) -> dict[str, Any]:
    """Per-stage latency of the hybrid path on each query, and the bare encode floor."""
    from sentence_transformers import SentenceTransformer

    from index.embedder import SentenceTransformerEmbedder
    from index.hybrid import FusionParams, fuse

    params = FusionParams()
    embedder = SentenceTransformerEmbedder(model)
    bare = SentenceTransformer(model, device="cpu")
    stages: dict[str, list[float]] = {
        "floor": [],
        "encode": [],
        "bm25": [],
        "dense": [],
        "fuse": [],
        "total": [],
    }
    # Floor and path are timed back to back on each query, so both see the same load on shared cores.
    for i, q in enumerate(queries):
        tf = common.now_ms()
        bare.encode([q], normalize_embeddings=True, show_progress_bar=False)
        t0 = common.now_ms()
        vec = embedder.encode([q])[0]
        t1 = common.now_ms()
        sp_hits = sparse.search(q, params.depth)
        t2 = common.now_ms()
        de_hits = dense.search(vec, params.depth)
        t3 = common.now_ms()
        fuse(sp_hits, de_hits, 5, params)
        t4 = common.now_ms()
        if i >= 2:  # first calls pay one-off costs
            for name, ms in zip(stages, (t0 - tf, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
                stages[name].append(ms)
    return {k: common.summary(v) for k, v in stages.items()}


def recall_at_10(dense: Any, matrix: np.ndarray, query_vecs: np.ndarray) -> float:
    """Share of the exact top 10 (FlatIP) that the product's dense index returns."""
    import faiss

    if dense.kind == "flat":
        return 1.0
    exact = faiss.IndexFlatIP(matrix.shape[1])
    exact.add(matrix)
    _, truth = exact.search(query_vecs, 10)
    found = [
        len({d for d, _ in dense.search(v, 10)} & set(t.tolist())) / 10
        for v, t in zip(query_vecs, truth, strict=True)
    ]
    return float(np.mean(found))


def one_size(folder: Path, n: int, kind: str, n_queries: int) -> dict[str, Any]:
    """Everything measured at one corpus size (run in its own process)."""
    from index.dense import DenseIndex
    from index.sparse import SparseIndex

    model = common.model_path()
    print(f"[{n:,} chunks, {kind} vectors] generating text ...", file=sys.stderr, flush=True)
    (texts, sources), gen_s = timed(lambda: synthetic_chunks(folder, n))
    matrix, vec_s = timed(lambda: vectors(kind, texts, sources, folder, model))
    print(f"  vectors {vec_s:.1f} s; BM25 ...", file=sys.stderr, flush=True)
    sparse, bm25_s = timed(lambda: SparseIndex.build(texts))
    print(f"  BM25 {bm25_s:.1f} s; FAISS ...", file=sys.stderr, flush=True)
    dense, faiss_s = timed(lambda: DenseIndex.build(matrix))
    print(f"  FAISS ({dense.kind}) {faiss_s:.1f} s; saving and querying ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="docqa-scale-") as tmp:
        sparse.save(Path(tmp) / "sparse")
        dense.save(Path(tmp) / "dense")
        with (Path(tmp) / "chunks.jsonl").open("w") as fh:
            for i, text in enumerate(texts):
                fh.write(json.dumps({"chunk_id": i, "text": text}) + "\n")
        sizes = {
            p.name: common.dir_size_mb(p) if p.is_dir() else p.stat().st_size / 2**20
            for p in Path(tmp).iterdir()
        }
    _, queries, qrels = common.load_scifact(folder)
    qtexts = [queries[q] for q in list(qrels["test"])[:n_queries]]
    figures = query_figures(sparse, dense, model, qtexts)
    from index.embedder import SentenceTransformerEmbedder

    qvecs = SentenceTransformerEmbedder(model).encode(qtexts)
    recall = recall_at_10(dense, matrix, qvecs)
    if dense.kind == "flat":
        # The product switches to HNSW only above its threshold; forcing it here measures the
        # approximate index's recall on these vectors too (on real embeddings when kind == "real").
        hnsw, hnsw_s = timed(lambda: DenseIndex.build(matrix, exact_threshold=1))
        forced = {
            "hnsw_forced_recall_at_10": recall_at_10(hnsw, matrix, qvecs),
            "hnsw_forced_build_s": hnsw_s,
            "hnsw_forced_dense": common.summary(common.time_calls(lambda v: hnsw.search(v, 100), qvecs)),
        }
    else:
        forced = {}
    return {
        "n": n,
        "vectors": kind,
        "dense_kind": dense.kind,
        "generate_s": gen_s,
        "vectors_s": vec_s,
        "bm25_build_s": bm25_s,
        "faiss_build_s": faiss_s,
        "disk_mb": sizes,
        "recall_at_10": recall,
        "queries": len(qtexts),
        **figures,
        **forced,
    }


def bm25_versus_reference(folder: Path, sizes: list[int], n_queries: int) -> list[dict[str, Any]]:
    """Per-query time of rank-bm25 (BM25Okapi) and the product's sparse BM25 on the same chunks."""
    from rank_bm25 import BM25Okapi

    from index.sparse import SparseIndex
    from index.tokenize import tokenize

    _, queries, qrels = common.load_scifact(folder)
    qtokens = [tokenize(queries[q]) for q in list(qrels["test"])[:n_queries]]
    rows = []
    for n in sizes:
        texts, _ = synthetic_chunks(folder, n)
        tokens = [tokenize(t) for t in texts]
        ref = BM25Okapi(tokens)
        ours = SparseIndex.from_tokens(tokens, idf="okapi")
        ref_ms = common.time_calls(ref.get_scores, qtokens, warmup=1)
        our_ms = common.time_calls(ours.scores_for_tokens, qtokens, warmup=1)
        rows.append({"n": n, "rank_bm25": common.summary(ref_ms), "sparse": common.summary(our_ms)})
        print(
            f"  BM25 at {n:,}: rank-bm25 {rows[-1]['rank_bm25']['p50']:.2f} ms, "
            f"sparse {rows[-1]['sparse']['p50']:.3f} ms",
            file=sys.stderr,
            flush=True,
        )
    return rows


def report(bm25_rows: list[dict[str, Any]], sizes: list[dict[str, Any]]) -> None:
    """Print the tables and write them to bench/results."""
    bm25 = common.table(
        [
            "chunks",
            "rank-bm25 p50 ms",
            "rank-bm25 p95 ms",
            "docqa sparse p50 ms",
            "docqa sparse p95 ms",
            "speed-up",
        ],
        [
            [
                r["n"],
                r["rank_bm25"]["p50"],
                r["rank_bm25"]["p95"],
                r["sparse"]["p50"],
                r["sparse"]["p95"],
                f"{r['rank_bm25']['p50'] / r['sparse']['p50']:.0f}x",
            ]
            for r in bm25_rows
        ],
    )
    query = common.table(
        [
            "chunks",
            "vectors",
            "FAISS",
            "encode floor p50",
            "BM25 p50",
            "dense p50",
            "hybrid p50",
            "hybrid p95",
            "p50 / floor",
            "recall@10 vs exact",
        ],
        [
            [
                s["n"],
                s["vectors"],
                s["dense_kind"],
                s["floor"]["p50"],
                s["bm25"]["p50"],
                s["dense"]["p50"],
                s["total"]["p50"],
                s["total"]["p95"],
                f"{s['total']['p50'] / s['floor']['p50']:.2f}x",
                f"{s['recall_at_10']:.3f}",
            ]
            for s in sizes
        ],
    )
    build = common.table(
        [
            "chunks",
            "vectors step s",
            "BM25 build s",
            "FAISS build s",
            "peak RSS MiB",
            "disk MiB (bm25 + faiss + text)",
        ],
        [
            [
                s["n"],
                s["vectors_s"],
                s["bm25_build_s"],
                s["faiss_build_s"],
                s["peak_rss_mb"],
                " + ".join(f"{s['disk_mb'].get(k, 0):,.0f}" for k in ("sparse", "dense", "chunks.jsonl")),
            ]
            for s in sizes
        ],
    )
    notes = (
        "Vectors: `real` = every chunk embedded by MiniLM; `derived` = mean of the real MiniLM "
        "vectors of the chunk's source abstracts + Gaussian noise (no per-chunk encode); `random` = "
        "random unit vectors (no structure: the worst case for HNSW recall). Query times are the "
        "hybrid path (encode + BM25 top 100 + dense top 100 + fusion to 5) on SciFact test claims; the "
        "encode floor is one bare SentenceTransformer encode of the same queries in the same process."
    )
    forced = [s for s in sizes if "hnsw_forced_recall_at_10" in s]
    hnsw = common.table(
        ["chunks", "vectors", "HNSW build s", "HNSW dense top-100 p50 ms", "recall@10 vs exact"],
        [
            [
                s["n"],
                s["vectors"],
                s["hnsw_forced_build_s"],
                s["hnsw_forced_dense"]["p50"],
                f"{s['hnsw_forced_recall_at_10']:.3f}",
            ]
            for s in forced
        ],
    )
    sections = [
        ("Sparse BM25 vs rank-bm25 (same chunks, same tokens, Okapi idf)", bm25),
        ("Query latency by corpus size", query),
        ("Build, memory, disk", build),
        ("HNSW forced below the product's exact threshold (its recall on these vectors)", hnsw),
        ("Notes", notes),
    ]
    for heading, body in sections:
        print(f"\n{heading}\n{body}")
    path = common.write_results(
        "scale", "Scale: 10 k to 1 M chunks", sections, {"bm25": bm25_rows, "sizes": sizes}
    )
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


def vector_kind(n: int, real_max: int, derived_max: int) -> str:
    """Real embeddings where they fit in time, derived ones above, random at the top."""
    return "real" if n <= real_max else "derived" if n <= derived_max else "random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scifact", type=Path, help="BEIR SciFact folder")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--bm25-sizes", default="5000,10000,20000")
    parser.add_argument("--real-max", type=int, default=10_000, help="largest size embedded for real")
    parser.add_argument("--derived-max", type=int, default=100_000, help="largest size with derived vectors")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="real", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.scifact.resolve()
    if args.one:
        args.out.write_text(json.dumps(one_size(folder, args.one, args.kind, args.queries)))
        return
    bm25_rows = bm25_versus_reference(folder, [int(s) for s in args.bm25_sizes.split(",") if s], args.queries)
    results = []
    with tempfile.TemporaryDirectory(prefix="docqa-scale-") as tmp:
        for n in (int(s) for s in args.sizes.split(",") if s):
            out = Path(tmp) / f"{n}.json"
            kind = vector_kind(n, args.real_max, args.derived_max)
            run = common.run_measured(
                [
                    sys.executable,
                    __file__,
                    str(folder),
                    "--one",
                    str(n),
                    "--kind",
                    kind,
                    "--queries",
                    str(args.queries),
                    "--out",
                    str(out),
                ],
                quiet=False,
            )
            results.append(
                {**json.loads(out.read_text()), "peak_rss_mb": run["peak_rss_mb"], "wall_s": run["seconds"]}
            )
            print(
                f"  {n:,}: hybrid p50 {results[-1]['total']['p50']:.1f} ms, "
                f"floor {results[-1]['floor']['p50']:.1f} ms",
                file=sys.stderr,
                flush=True,
            )
    report(bm25_rows, results)


if __name__ == "__main__":
    main()
