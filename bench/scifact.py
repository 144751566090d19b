"""Retrieval quality on BEIR SciFact through docqa's own code path, next to the published figures.

    .venv/bin/python bench/scifact.py /work/shared/benchmarks/scifact [--split test] [--tune-on-train]

The abstracts become ``corpus.Document``s, are chunked, embedded and indexed with docqa's own
components (see ``build``); queries go through the engine's ``Index.search(query, top_k, mode)``
with ``mode`` = ``bm25``, ``dense`` and ``hybrid``. Passages are chunks, so a ranking of documents
keeps each document's best-ranked chunk. Metrics come from ranx.

``--tune-on-train`` grid-searches the fusion parameters on the *train* qrels (809 queries, disjoint
from test) with the same candidate lists the engine fuses, and evaluates the best setting on the
chosen split; without it the engine's defaults (``index.hybrid.FusionParams()``) are evaluated.
The data's license (CC BY-NC 2.0) allows evaluation use only: the folder is read, never copied.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import common  # bench/common.py: machine info, SciFact loader, tables (sets HF_HUB_OFFLINE)

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
MODES = ("bm25", "dense", "hybrid")
PUBLISHED = [  # SciFact test, from the data's README
    ("BEIR paper: BM25 (Elasticsearch)", {"ndcg@10": 0.665}),
    ("BEIR paper: BM25 + cross-encoder re-ranking", {"ndcg@10": 0.688}),
    ("Anserini BM25 flat", {"ndcg@10": 0.6789, "recall@100": 0.9253}),
    ("all-MiniLM-L6-v2 (MTEB)", {"ndcg@10": 0.64508, "recall@10": 0.78333, "recall@100": 0.925}),
]
TOP_K_SHORT = 25  # chunks asked for the @10 metrics: 4 x 25 = 100 keeps the engine's default depth
TOP_K_LONG = 400  # chunks asked for Recall@100 (>= 100 distinct abstracts)
DEPTHS = (100, 200)  # candidate depths tried on train (the engine never fuses fewer than 4 x top_k)


def progress_printer(label: str) -> Any:
    """A ``progress(stage, done, total)`` callback printing one updating line per stage."""
    state = {"stage": "", "t0": time.perf_counter()}

    def show(stage: str, done: int, total: int) -> None:
        if stage != state["stage"]:
            if state["stage"]:
                print(file=sys.stderr)
            state.update(stage=stage, t0=time.perf_counter())
        rate = done / max(time.perf_counter() - state["t0"], 1e-9)
        print(f"\r  {label}: {stage} {done}/{total} ({rate:.0f}/s)", end="", file=sys.stderr, flush=True)

    return show


def scifact_documents(folder: Path) -> list[Any]:
    """The SciFact abstracts as ``corpus.Document``s (title, else the id; the abstract's text)."""
    from corpus.models import Document

    corpus, _, _ = common.load_scifact(folder)
    return [
        Document(doc_id=did, title=d["title"] or did, source=f"scifact/{did}", text=d["text"])
        for did, d in corpus.items()
    ]


def build(folder: Path, model: str) -> Any:
    """docqa's ``Index`` over the SciFact abstracts, for retrieval only.

    The pieces are the product's: ``index.chunking.chunk_document`` with the default
    ``ChunkerConfig``, chunk ``embed_text`` embedded by the same MiniLM, ``SparseIndex.build`` and
    ``DenseIndex.build`` exactly as ``index.store.build_index_from_documents`` calls them, the
    acronym table, and the engine's ``Index`` whose ``search`` serves ``/v1/query``. The one thing
    left out is the per-sentence (answer unit) embedding: SciFact's ~46 k sentences would take
    about an hour on two shared cores. Without units, ``Index.search`` ranks dense hits by chunk
    vector alone (`index.chunk_vectors.rerank_by_best_unit` has nothing to mix), so these figures are of
    retrieval without the best-unit term. Chunk vectors are cached in ``bench/.cache`` by model and
    text hash.
    """
    import numpy as np
    from embed_cache import embed

    from index.acronyms import build_acronym_table
    from index.chunking import ChunkerConfig, chunk_document
    from index.dense import DenseIndex
    from index.embedder import SentenceTransformerEmbedder
    from index.engine import Index
    from index.sparse import SparseIndex

    documents = scifact_documents(folder)
    chunker, chunks = ChunkerConfig(), []
    for doc in documents:
        chunks.extend(chunk_document(doc, chunker, first_id=len(chunks)))
    print(f"  {len(documents):,} abstracts -> {len(chunks):,} chunks", file=sys.stderr)
    vectors = embed([c.embed_text for c in chunks], model, common.CACHE, label="chunks")
    bundle = {
        "documents": documents,
        "chunks": chunks,
        "acronyms": build_acronym_table(documents),
        "units": np.zeros((0, 3), dtype=np.int64),
        "unit_texts": [],
        "unit_vectors": np.zeros((0, vectors.shape[1]), dtype=np.float32),
        "dense": DenseIndex.build(vectors),
        "sparse": SparseIndex.build([c.embed_text for c in chunks]),
    }
    manifest = {"model": model, "chunks": len(chunks), "documents": len(documents), "chunker": str(chunker)}
    return Index(manifest, bundle, SentenceTransformerEmbedder(model))


def build_as_product(folder: Path, model: str, index_dir: Path) -> Any:
    """docqa's ``Index`` over the SciFact abstracts built exactly as ``docqa build`` builds a corpus
    (`index.store.build_index_from_documents`: answer units embedded, chunk vectors composed from
    them, the best-unit term of dense search in play), cached in ``index_dir`` and in the embedding
    cache, so only the first run pays for the sentences."""
    from index import load_index
    from index.store import build_index_from_documents

    documents = scifact_documents(folder)

    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 2048 == 0:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    build_index_from_documents(documents, index_dir, model, progress=progress, embed_cache=common.CACHE)
    return load_index(index_dir, model)


def doc_ranking(index: Any, ranked_chunks: list[tuple[int, float]]) -> list[str]:
    """Chunk ranking -> document ranking, each document at its best chunk's rank."""
    return list(dict.fromkeys(index.chunks[cid].doc_id for cid, _ in ranked_chunks))


def as_run(rankings: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Rank order -> descending scores, the form ranx wants (an empty ranking gets a dummy entry)."""
    return {
        qid: {d: float(1000 - r) for r, d in enumerate(docs)} or {"-": 0.0} for qid, docs in rankings.items()
    }


def evaluate(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> dict[str, float]:
    """nDCG@10, Recall@10, Recall@100 and MRR@10 with ranx."""
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    scores = ranx_evaluate(Qrels(qrels), Run(as_run(rankings)), list(METRICS))
    return {m: float(scores[m]) for m in METRICS}


def product_rankings(index: Any, queries: dict[str, str], mode: str) -> dict[str, list[str]]:
    """Document rankings from ``Index.search``.

    The top 10 come from a call with ``top_k=TOP_K_SHORT``, so the engine fuses at its normal candidate
    depth (``max(fusion.depth, 4 * top_k)``) and the @10 metrics are what a user gets; ranks 11 and
    beyond (for Recall@100) continue with a ``top_k=TOP_K_LONG`` call's order.
    """
    out: dict[str, list[str]] = {}
    for n, (qid, text) in enumerate(queries.items(), 1):
        short = [p.doc_id for p in index.search(text, top_k=TOP_K_SHORT, mode=mode)]
        long = [p.doc_id for p in index.search(text, top_k=TOP_K_LONG, mode=mode)]
        head = list(dict.fromkeys(short))[:10]
        out[qid] = head + [d for d in dict.fromkeys(long) if d not in head]
        if n % 25 == 0 or n == len(queries):
            print(f"\r  {mode}: {n}/{len(queries)} queries", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def hnsw_recall(index: Any, queries: dict[str, str], model: str) -> dict[str, float]:
    """Recall@10 of the approximate (HNSW) dense index against exact search on the real chunk vectors."""
    import numpy as np
    from embed_cache import embed

    from index.dense import DenseIndex

    vectors = embed([c.embed_text for c in index.chunks], model, common.CACHE, label="chunks")
    query_vectors = embed(list(queries.values()), model, common.CACHE, label="queries")
    exact, approx = DenseIndex.build(vectors), DenseIndex.build(vectors, exact_threshold=1)
    hits = [
        len({d for d, _ in exact.search(q, 10)} & {d for d, _ in approx.search(q, 10)}) / 10
        for q in query_vectors
    ]
    return {"recall@10": float(np.mean(hits)), "queries": len(hits), "vectors": len(vectors)}


# --- tuning on train ------------------------------------------------------------------------------


def engine_query_text(index: Any, question: str) -> str:
    """The text the engine retrieves with: validated, typo-corrected, acronym-expanded (as ``_retrieve``)."""
    clean = index._validate(question, 1, "hybrid", 10**9)
    if hasattr(index, "_with_corrections"):
        clean = index._with_corrections(clean)
    text: str = index._expanded(clean)[0]
    return text


def candidates(index: Any, queries: dict[str, str], depth: int) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per query, the BM25 and dense chunk lists the engine would fuse (same query expansion)."""
    out: dict[str, tuple[list[Any], list[Any]]] = {}
    for n, (qid, question) in enumerate(queries.items(), 1):
        text = engine_query_text(index, question)
        vector = index.encode_query(text)
        out[qid] = (index._sparse.search(text, depth), index._dense.search(vector, depth))
        if n % 50 == 0 or n == len(queries):
            print(f"\r  train candidates: {n}/{len(queries)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def grid() -> list[Any]:
    """The fusion settings tried on train."""
    from index.hybrid import FusionParams

    weights = [round(0.05 * i, 2) for i in range(21)]
    out = [
        FusionParams(method="convex", dense_weight=w, normalization=norm, depth=depth)
        for norm, w, depth in itertools.product(("minmax", "zscore"), weights, DEPTHS)
    ]
    out += [
        FusionParams(method="rrf", dense_weight=w, rrf_k=k, depth=depth)
        for w, k, depth in itertools.product(weights[::2], (30.0, 60.0), DEPTHS)
    ]
    return out


def tune(
    index: Any, queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> tuple[Any, list[dict[str, Any]]]:
    """Best fusion setting on train by nDCG@10 (ties: MRR@10), and every setting's figures."""
    from index.hybrid import fuse

    lists = candidates(index, queries, max(DEPTHS))
    results: list[dict[str, Any]] = []
    for params in grid():
        rankings = {
            qid: doc_ranking(index, fuse(s[: params.depth], d[: params.depth], params.depth, params))
            for qid, (s, d) in lists.items()
        }
        results.append({"params": dataclasses.asdict(params), **evaluate(qrels, rankings)})
    best = max(results, key=lambda r: (r["ndcg@10"], r["mrr@10"]))
    from index.hybrid import FusionParams

    return FusionParams(**best["params"]), results


# --- report ---------------------------------------------------------------------------------------


def report(
    split: str, figures: dict[str, dict[str, float]], fusion: dict[str, Any], extra: dict[str, Any]
) -> str:
    """The markdown body: our rows, then the published ones."""
    hnsw = extra["hnsw"]
    rows = [[f"docqa {mode}", *(figures[mode][m] for m in METRICS)] for mode in MODES]
    rows += [[name, *(pub.get(m, float("nan")) for m in METRICS)] for name, pub in PUBLISHED]
    table = common.table(
        ["retriever", *METRICS], [[r[0], *(f"{v:.4f}" if v == v else "–" for v in r[1:])] for r in rows]
    )
    params = ", ".join(f"{k}={v}" for k, v in fusion.items())
    lines = [
        f"SciFact **{split}** split ({extra['queries']} queries, {extra['documents']:,} abstracts, "
        f"{extra['chunks']:,} chunks). Published rows are test-split figures from the data's README.\n",
        table,
        f"\nBuild: {extra['build']}; dense search's best-unit weight {extra['best_unit_weight']:g}"
        " (`index.chunk_vectors.rerank_by_best_unit`; it has no units to mix in a chunks-only build).",
        f"\nHybrid fusion: {params} ({extra['fusion_source']}).",
        f"\nDense index: exact (FlatIP) at this size. HNSW (as used from 50 k chunks) over the same "
        f"{hnsw['vectors']:,} chunk vectors finds {hnsw['recall@10']:.4f} of the exact top 10 "
        f"({hnsw['queries']} queries).",
    ]
    return "\n".join(lines)


def tuning_markdown(results: list[dict[str, Any]]) -> str:
    """Best train setting of each fusion family, next to the single retrievers (weights 0 and 1)."""
    families: dict[str, dict[str, Any]] = {}
    for r in results:
        p = r["params"]
        if p["method"] == "convex" and p["dense_weight"] in (0.0, 1.0):
            name = "BM25 alone (weight 0)" if p["dense_weight"] == 0.0 else "dense alone (weight 1)"
        elif p["method"] == "convex":
            name = f"convex, {p['normalization']}"
        else:
            name = "weighted RRF"
        if name not in families or r["ndcg@10"] > families[name]["ndcg@10"]:
            families[name] = r
    rows = []
    for name, r in sorted(families.items(), key=lambda item: -item[1]["ndcg@10"]):
        p = r["params"]
        setting = f"w={p['dense_weight']}, depth={p['depth']}" + (
            f", k={p['rrf_k']}" if p["method"] == "rrf" else ""
        )
        rows.append([name, setting, *(f"{r[m]:.4f}" for m in METRICS)])
    return (
        f"Tuning on the **train** qrels ({len(results)} settings; chunk candidates from the engine, "
        "best of each family by nDCG@10):\n\n" + common.table(["fusion", "best setting", *METRICS], rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="BEIR SciFact folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument(
        "--tune-on-train", action="store_true", help="grid-search the fusion on the train qrels"
    )
    parser.add_argument(
        "--product-build",
        type=Path,
        metavar="INDEX_DIR",
        help="build (or reuse) the index in INDEX_DIR as `docqa build` does, answer units included",
    )
    parser.add_argument(
        "--best-unit-weight",
        type=float,
        metavar="W",
        help="weight of each chunk's best answer unit in dense search (default: the engine's)",
    )
    args = parser.parse_args()
    folder = args.folder.resolve()
    model = common.model_path()
    _, queries, qrels = common.load_scifact(folder)
    if args.product_build:
        index = build_as_product(folder, model, args.product_build)
    else:
        index = build(folder, model)
    if args.best_unit_weight is not None:
        index.best_unit_weight = args.best_unit_weight
    data: dict[str, Any] = {"split": args.split, "model": model, "product_build": bool(args.product_build)}
    fusion_source = "engine defaults, index.hybrid.FusionParams()"
    if args.tune_on_train:
        train = {qid: queries[qid] for qid in qrels["train"]}
        best, results = tune(index, train, qrels["train"])
        index.fusion = best
        fusion_source = "tuned on the train qrels"
        data["tuning"] = {"best": dataclasses.asdict(best), "grid": results}
        print(f"best on train: {best}", file=sys.stderr)
    split_queries = {qid: queries[qid] for qid in qrels[args.split]}
    figures = {
        mode: evaluate(qrels[args.split], product_rankings(index, split_queries, mode)) for mode in MODES
    }
    extra = {
        "queries": len(split_queries),
        "documents": len(index.documents),
        "chunks": len(index.chunks),
        "fusion_source": fusion_source,
        "build": "as `docqa build` builds (answer units embedded, chunk vectors composed from them)"
        if args.product_build
        else "chunks only (each chunk's text embedded whole, no answer units)",
        "best_unit_weight": index.best_unit_weight,
    }
    extra["hnsw"] = hnsw_recall(index, split_queries, model)
    data.update(figures=figures, fusion=dataclasses.asdict(index.fusion), **extra)
    body = report(args.split, figures, dataclasses.asdict(index.fusion), extra)
    if "tuning" in data:
        body += "\n\n" + tuning_markdown(data["tuning"]["grid"])
    print(body)
    name = args.split + ("-product" if args.product_build else "")
    if args.best_unit_weight is not None:
        name += f"-unit{args.best_unit_weight:g}"
    write(name, body, data)


def write(name: str, body: str, data: dict[str, Any]) -> None:
    """``bench/results/scifact-<date>-<name>.md`` and ``.json`` (name: the split, ``-product`` for a
    product build), with the machine they ran on."""
    info = common.machine_info()
    day = info["date"][:10]
    md = common.RESULTS / f"scifact-{day}-{name}.md"
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    md.write_text(f"# SciFact retrieval quality\n\n{common.machine_markdown(info)}\n{body}\n")
    md.with_suffix(".json").write_text(json.dumps({"machine": info, **data}, indent=2) + "\n")
    print(f"wrote {md}", file=sys.stderr)


if __name__ == "__main__":
    main()
