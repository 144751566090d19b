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
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SEED = 20261122
DIM = 384
KEEP = os.environ.get("DOCQA_BENCH_KEEP_INDEX") == "1"
PARAGRAPHS = 8
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


def synthetic_documents(folder: Path, n_chunks: int) -> tuple[list[Any], list[list[tuple[int, int, int]]]]:
    """Articles of recombined SciFact paragraphs, about one product chunk a paragraph.

    Returns:
        The documents, and for each its paragraphs as ``(start offset, main abstract, guest abstract)``.
    """
    from corpus.models import Document

    titles, sents, _ = sentences(folder)
    rng = np.random.default_rng(SEED)
    docs: list[Any] = []
    paragraphs: list[list[tuple[int, int, int]]] = []
    for d in range(max(1, n_chunks // PARAGRAPHS)):
        first = int(rng.integers(0, len(titles)))
        text, spans = titles[first] + "\n\n", []
        for _ in range(PARAGRAPHS):
            main, guest = int(rng.integers(0, len(titles))), int(rng.integers(0, len(titles)))
            own, run = sents[main], int(rng.integers(2, 4))
            start = int(rng.integers(0, max(1, len(own) - run + 1)))
            extra = sents[guest][int(rng.integers(0, len(sents[guest])))]
            spans.append((len(text), main, guest))
            text += " ".join([*own[start : start + run], extra]) + "\n\n"
        docs.append(
            Document(doc_id=f"syn-{d:07d}", title=titles[first], source=f"synthetic/{d}.txt", text=text)
        )
        paragraphs.append(spans)
    return docs, paragraphs


def chunk_vectors(kind: str, chunks: list[Any], sources: np.ndarray, folder: Path, model: str) -> np.ndarray:
    """Vectors of the chunks, ``derived`` or ``random`` (see the module docstring)."""
    rng = np.random.default_rng(SEED + 1)
    if kind == "random":
        out = rng.standard_normal((len(chunks), DIM), dtype=np.float32)
    else:
        from embed_cache import embed  # the SciFact benchmark's cache: same model, same abstract texts

        abstracts = embed(sentences(folder)[2], model, common.CACHE, label="SciFact abstracts")
        out = 0.7 * abstracts[sources[:, 0]] + 0.3 * abstracts[sources[:, 1]]
        out += rng.standard_normal(out.shape, dtype=np.float32) * (0.25 / np.sqrt(DIM))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def unit_vectors(chunk_vecs: np.ndarray, units: np.ndarray) -> np.ndarray:
    """A sentence's vector: its chunk's plus noise (it shares the chunk's topic, not its exact point)."""
    rng = np.random.default_rng(SEED + 2)
    out = chunk_vecs[units[:, 0]] + rng.standard_normal((len(units), DIM), dtype=np.float32) * (
        0.5 / np.sqrt(DIM)
    )
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float16)  # as the product stores them


def timed(fn: Any) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def write_bundle(
    target: Path,
    docs: list[Any],
    chunks: list[Any],
    units: np.ndarray,
    unit_vecs: np.ndarray,
    sparse: Any,
    dense: Any,
    model: str,
) -> None:
    """Write the product's on-disk layout with its own writer (`index.bundle.write_bundle`: every
    file checksummed, the manifest sealed) so ``load_index`` reads and verifies it as usual."""
    from index.acronyms import build_acronym_table
    from index.bundle import BundleParts, write_bundle
    from index.store import FORMAT_VERSION, corpus_fingerprint, model_id

    target.mkdir(parents=True)
    unit_texts = [""] * len(units)  # the scale bench scores no answers; the file keeps its row count
    acronyms = build_acronym_table(docs)
    parts = BundleParts(docs, chunks, units, unit_texts, unit_vecs, acronyms, dense, sparse)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "model_id": model_id(model),
        "dimension": DIM,
        "normalized": True,
        "corpus_fingerprint": corpus_fingerprint(docs),
        "documents": len(docs),
        "chunks": len(chunks),
        "answer_units": len(units),
        "dense_kind": dense.kind,
        "synthetic": True,
    }
    write_bundle(target, parts, manifest)


def build_synthetic(folder: Path, n: int, kind: str, model: str, target: Path) -> dict[str, Any]:
    """Chunk, vector, index and write a synthetic corpus with the product's components; the timings."""
    from index.chunking import chunk_document
    from index.dense import DenseIndex
    from index.sparse import SparseIndex
    from index.store import _chunk_units

    log = lambda msg: print(f"  [{n:,}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    (docs, paragraphs), gen_s = timed(lambda: synthetic_documents(folder, n))
    log(f"{len(docs):,} documents generated in {gen_s:.1f} s; chunking ...")

    def chunk_all() -> list[Any]:
        chunks: list[Any] = []
        for doc in docs:
            chunks.extend(chunk_document(doc, first_id=len(chunks)))
        return chunks

    chunks, chunk_s = timed(chunk_all)
    units, units_s = timed(lambda: _chunk_units(chunks, {d.doc_id: d for d in docs}))
    log(f"{len(chunks):,} chunks, {len(units):,} answer units in {chunk_s + units_s:.1f} s; vectors ...")
    doc_row = {d.doc_id: i for i, d in enumerate(docs)}
    sources = np.asarray([_source(paragraphs[doc_row[c.doc_id]], c.start) for c in chunks], dtype=np.int64)
    vecs, vec_s = timed(lambda: chunk_vectors(kind, chunks, sources, folder, model))
    unit_vecs = unit_vectors(vecs, units)
    log(f"vectors ({kind}) in {vec_s:.1f} s; BM25 ...")
    sparse, bm25_s = timed(lambda: SparseIndex.build([c.embed_text for c in chunks]))
    log(f"BM25 in {bm25_s:.1f} s; FAISS ...")
    dense, faiss_s = timed(lambda: DenseIndex.build(vecs))
    log(f"FAISS ({dense.kind}) in {faiss_s:.1f} s; writing ...")
    _, write_s = timed(lambda: write_bundle(target, docs, chunks, units, unit_vecs, sparse, dense, model))
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "units": len(units),
        "dense_kind": dense.kind,
        "generate_s": gen_s,
        "chunk_s": chunk_s + units_s,
        "vectors_s": vec_s,
        "bm25_build_s": bm25_s,
        "faiss_build_s": faiss_s,
        "write_s": write_s,
        "vectors": vecs,
    }


def _source(spans: list[tuple[int, int, int]], start: int) -> tuple[int, int]:
    """The (main, guest) abstracts of the paragraph a chunk starts in."""
    best = spans[0]
    for span in spans:
        if span[0] <= start:
            best = span
    return best[1], best[2]


def query_figures(index: Any, model: str, queries: list[str]) -> dict[str, Any]:
    """Per-query latency of the product's calls, each timed back to back with the bare encode floor."""
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(model, device="cpu")
    steps = {
        "floor": lambda q: bare.encode([q], normalize_embeddings=True, show_progress_bar=False),
        "bm25": lambda q: index.search(q, 5, mode="bm25"),
        "dense": lambda q: index.search(q, 5, mode="dense"),
        "hybrid": lambda q: index.search(q, 5, mode="hybrid"),
        "query": lambda q: index.query(q, 5),
    }
    times: dict[str, list[float]] = {k: [] for k in steps}
    for i, q in enumerate(queries):
        for name, fn in steps.items():
            t0 = common.now_ms()
            fn(q)
            if i >= 2:  # first calls pay one-off costs
                times[name].append(common.now_ms() - t0)
    return {k: common.summary(v) for k, v in times.items()}


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
    """Everything measured at one corpus size (run in its own process, so its peak RSS is its own)."""
    from index import load_index
    from index.dense import DenseIndex

    model = common.model_path()
    _, queries, qrels = common.load_scifact(folder)
    qtexts = [queries[q] for q in list(qrels["test"])[:n_queries]]
    with tempfile.TemporaryDirectory(prefix="docqa-scale-") as tmp:
        target = Path(tmp) / "index"
        if KEEP:  # keep the built index for profiling (bench/search_latency.py --index ...)
            target = common.CACHE / "scale" / f"index-{n}"
            shutil.rmtree(target, ignore_errors=True)
        built = build_synthetic(folder, n, kind, model, target)
        matrix = built.pop("vectors")
        disk = {
            p.name: common.dir_size_mb(p) if p.is_dir() else p.stat().st_size / 2**20
            for p in target.iterdir()
        }
        import sentence_transformers  # noqa: F401  (library import time is process start-up, not index load)

        rss_before = common.current_rss_mb()
        index, load_s = timed(lambda: load_index(target, model))
        print(f"  [{n:,}] loaded by load_index in {load_s:.1f} s; querying ...", file=sys.stderr, flush=True)
        figures = query_figures(index, model, qtexts)
        qvecs = np.stack([index.encode_query(q) for q in qtexts])
        recall = recall_at_10(index._dense, matrix, qvecs)
        forced: dict[str, Any] = {}
        if built["dense_kind"] == "flat":
            # The product uses HNSW only above its threshold; forcing it measures HNSW's recall here too.
            hnsw, hnsw_s = timed(lambda: DenseIndex.build(matrix, exact_threshold=1))
            forced = {
                "hnsw_forced_recall_at_10": recall_at_10(hnsw, matrix, qvecs),
                "hnsw_forced_build_s": hnsw_s,
                "hnsw_forced_dense": common.summary(common.time_calls(lambda v: hnsw.search(v, 100), qvecs)),
            }
        rss_loaded = common.current_rss_mb()
    return {
        "n": n,
        "vectors": kind,
        **built,
        "disk_mb": disk,
        "load_s": load_s,
        "recall_at_10": recall,
        "queries": len(qtexts),
        "index_rss_mb": rss_loaded - rss_before,
        "ef_search": _ef_search(),
        **figures,
        **forced,
    }


def synthetic_token_lists(folder: Path, n: int) -> tuple[list[list[str]], int, np.ndarray]:
    """Token lists of ``n`` recombined chunks, their text length, and each one's (main, guest) abstracts.

    Each SciFact sentence and title is tokenized once by the product's tokenizer and the chunks'
    lists are concatenations: the tokenizer works word by word, so this equals tokenizing each
    chunk, at a fraction of the time (1 M chunks would take most of an hour here otherwise).
    """
    from index.tokenize import tokenize

    titles, sents, _ = sentences(folder)
    title_tokens = [tokenize(t) for t in titles]
    sent_tokens = [[tokenize(x) for x in doc] for doc in sents]
    sent_chars = [[len(x) for x in doc] for doc in sents]
    rng = np.random.default_rng(SEED)
    mains, guests, runs = (
        rng.integers(0, len(titles), n),
        rng.integers(0, len(titles), n),
        rng.integers(2, 4, n),
    )
    out: list[list[str]] = []
    chars = 0
    for i in range(n):
        m, g, run = int(mains[i]), int(guests[i]), int(runs[i])
        start = int(rng.integers(0, max(1, len(sents[m]) - run + 1)))
        pick = int(rng.integers(0, len(sents[g])))
        tokens = list(title_tokens[m])
        for j in range(start, min(start + run, len(sents[m]))):
            tokens.extend(sent_tokens[m][j])
            chars += sent_chars[m][j] + 1
        tokens.extend(sent_tokens[g][pick])
        chars += len(titles[m]) + sent_chars[g][pick] + 1
        out.append(tokens)
    return out, chars, np.stack([mains, guests], axis=1)


def core_size(folder: Path, n: int, kind: str, n_queries: int) -> dict[str, Any]:
    """The retrieval core alone (BM25 + FAISS + fusion) at a size too large for a full build here."""
    from sentence_transformers import SentenceTransformer

    from index.dense import DenseIndex
    from index.embedder import SentenceTransformerEmbedder
    from index.hybrid import FusionParams, fuse
    from index.sparse import SparseIndex

    model = common.model_path()
    log = lambda msg: print(f"  [{n:,} core] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    (tokens, chars, sources), tok_s = timed(lambda: synthetic_token_lists(folder, n))
    log(f"token lists in {tok_s:.1f} s; BM25 ...")
    sparse, bm25_s = timed(lambda: SparseIndex.from_tokens(tokens))
    tokens.clear()
    log(f"BM25 in {bm25_s:.1f} s; vectors ({kind}) ...")
    vecs, vec_s = timed(lambda: chunk_vectors(kind, [None] * n, sources, folder, model))
    dense, faiss_s = timed(lambda: DenseIndex.build(vecs))
    log(f"FAISS ({dense.kind}) in {faiss_s:.1f} s; querying ...")
    with tempfile.TemporaryDirectory(prefix="docqa-scale-") as tmp:
        sparse.save(Path(tmp) / "sparse")
        dense.save(Path(tmp) / "dense")
        disk = {
            "sparse": common.dir_size_mb(Path(tmp) / "sparse"),
            "dense": common.dir_size_mb(Path(tmp) / "dense"),
            "chunk text (estimate)": chars / 2**20,
        }
    _, queries, qrels = common.load_scifact(folder)
    qtexts = [queries[q] for q in list(qrels["test"])[:n_queries]]
    bare, embedder, params = (
        SentenceTransformer(model, device="cpu"),
        SentenceTransformerEmbedder(model),
        FusionParams(),
    )
    times: dict[str, list[float]] = {k: [] for k in ("floor", "bm25", "dense", "hybrid")}
    qvecs = []
    # Index.search encodes the question in every mode, so each figure includes the encode.
    for i, q in enumerate(qtexts):
        t0 = common.now_ms()
        bare.encode([q], normalize_embeddings=True, show_progress_bar=False)
        t1 = common.now_ms()
        vec = embedder.encode([q])[0]
        t2 = common.now_ms()
        sp_hits = sparse.search(q, params.depth)
        t3 = common.now_ms()
        de_hits = dense.search(vec, params.depth)
        t4 = common.now_ms()
        fuse(sp_hits, de_hits, 5, params)
        t5 = common.now_ms()
        qvecs.append(vec)
        if i >= 2:
            enc = t2 - t1
            for name, ms in zip(times, (t1 - t0, enc + t3 - t2, enc + t4 - t3, t5 - t1), strict=True):
                times[name].append(ms)
    recall = recall_at_10(dense, vecs, np.stack(qvecs))
    return {
        "n": n,
        "chunks": n,
        "documents": 0,
        "units": 0,
        "vectors": kind,
        "dense_kind": dense.kind,
        "core_only": True,
        "ef_search": _ef_search(),
        "chunk_s": tok_s,
        "vectors_s": vec_s,
        "bm25_build_s": bm25_s,
        "faiss_build_s": faiss_s,
        "load_s": float("nan"),
        "index_rss_mb": float("nan"),
        "disk_mb": disk,
        "recall_at_10": recall,
        "queries": len(qtexts),
        **{k: common.summary(v) for k, v in times.items()},
        "query": {"p50": float("nan"), "p95": float("nan")},
    }


def _ef_search() -> int:
    """The product's HNSW efSearch at the time of the run."""
    from index.dense import HNSW_EF_SEARCH

    return int(HNSW_EF_SEARCH)


def real_recall(folder: Path) -> dict[str, Any]:
    """HNSW (the product's settings, forced) vs exact on SciFact's real MiniLM vectors and test claims."""
    from embed_cache import embed

    from index.dense import DenseIndex

    model = common.model_path()
    _, queries, qrels = common.load_scifact(folder)
    docs = embed(sentences(folder)[2], model, common.CACHE, label="SciFact abstracts")
    qvecs = embed([queries[q] for q in qrels["test"]], model, common.CACHE, label="SciFact queries")
    hnsw = DenseIndex.build(docs, exact_threshold=1)
    return {"n": len(docs), "queries": len(qvecs), "recall_at_10": recall_at_10(hnsw, docs, qvecs)}


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


def report(bm25_rows: list[dict[str, Any]], sizes: list[dict[str, Any]], real: dict[str, Any] | None) -> None:
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
            "search bm25 p50",
            "search dense p50",
            "search hybrid p50 (p95)",
            "query p50 (p95)",
            "hybrid / floor",
            "query / floor",
            "recall@10 vs exact",
        ],
        [
            [
                s["chunks"],
                s["vectors"],
                f"hnsw (efSearch {s.get('ef_search', '?')})"
                if s["dense_kind"] == "hnsw"
                else s["dense_kind"],
                s["floor"]["p50"],
                s["bm25"]["p50"],
                s["dense"]["p50"],
                f"{s['hybrid']['p50']:.1f} ({s['hybrid']['p95']:.1f})",
                "core only" if s.get("core_only") else f"{s['query']['p50']:.1f} ({s['query']['p95']:.1f})",
                f"{s['hybrid']['p50'] / s['floor']['p50']:.2f}x",
                "core only" if s.get("core_only") else f"{s['query']['p50'] / s['floor']['p50']:.2f}x",
                f"{s['recall_at_10']:.3f}",
            ]
            for s in sizes
        ],
    )
    build = common.table(
        [
            "chunks",
            "documents",
            "answer units",
            "chunking s",
            "vectors s",
            "BM25 build s",
            "FAISS build s",
            "load_index s",
            "loaded index RSS MiB",
            "peak RSS MiB",
            "disk MiB",
        ],
        [
            [
                s["chunks"],
                s["documents"],
                s["units"],
                s["chunk_s"],
                s["vectors_s"],
                s["bm25_build_s"],
                s["faiss_build_s"],
                s["load_s"],
                s["index_rss_mb"],
                s["peak_rss_mb"],
                sum(s["disk_mb"].values()),
            ]
            for s in sizes
        ],
    )
    disk_keys = sorted({k for s in sizes for k in s["disk_mb"]})
    disk = common.table(
        ["chunks", *disk_keys], [[s["chunks"], *(s["disk_mb"].get(k, 0.0) for k in disk_keys)] for s in sizes]
    )
    forced = [s for s in sizes if "hnsw_forced_recall_at_10" in s]
    hnsw_rows = [
        [
            s["chunks"],
            s["vectors"],
            s["hnsw_forced_build_s"],
            s["hnsw_forced_dense"]["p50"],
            f"{s['hnsw_forced_recall_at_10']:.3f}",
        ]
        for s in forced
    ]
    if real is not None:
        hnsw_rows.append(
            [real["n"], "real (SciFact abstracts, test claims)", "", "", f"{real['recall_at_10']:.3f}"]
        )
    hnsw = common.table(
        ["vectors", "kind", "HNSW build s", "HNSW top-100 p50 ms", "recall@10 vs exact"], hnsw_rows
    )
    notes = (
        "Synthetic articles of 8 paragraphs, each 2-3 consecutive sentences of one SciFact abstract plus "
        "one sentence of another; chunked, sentence-split, acronym-scanned and indexed by the product's "
        "own code (index.chunking, index.store, index.sparse, index.dense), written in the product's "
        "layout and loaded by `load_index`; the times are `Index.search` / `Index.query` on SciFact test "
        "claims. Vectors are not encoded (that would take hours on 2 cores): `derived` = 0.7 x the real "
        "MiniLM vector of the paragraph's main abstract + 0.3 x its guest's + Gaussian noise, normalised "
        "(clustered like real ones); `random` = random unit vectors (no structure: the worst case for "
        "HNSW). Sentence (answer unit) vectors = their chunk's + noise. Sizes above --full-max (100 k: so"
        " 1 M) are measured on the retrieval core only (BM25 from the product's tokens + FAISS + fusion, "
        "the path of `Index.search` minus passage assembly; no answer step), from SciFact sentences "
        "tokenized once. The query vector is always the real MiniLM encode. The encode floor is one bare "
        "SentenceTransformer encode of the same query, timed back to back with the calls. Recall@10 on "
        "random unit vectors says nothing about real data: in 384 dimensions random vectors are almost "
        "equidistant (cosines 0 +- 0.05), so no graph walk can tell the true top 10 from thousands of "
        "near-ties; the derived and real rows are the meaningful recall figures. Each size runs in its "
        "own process; the load average above is the one when the report was written."
    )
    sections = [
        ("Sparse BM25 vs rank-bm25 (same chunks, same tokens, Okapi idf)", bm25),
        ("Query latency by corpus size (ms)", query),
        ("Build, load, memory, disk", build),
        ("Disk by file (MiB)", disk),
        (
            "HNSW recall against exact search (the product's HNSW settings, forced where it would use flat)",
            hnsw,
        ),
        ("Notes", notes),
    ]
    for heading, body in sections:
        print(f"\n{heading}\n{body}")
    data = {"bm25": bm25_rows, "sizes": sizes, "real_recall": real}
    path = common.write_results("scale", "Scale: 10 k to 1 M chunks", sections, data)
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


def vector_kind(n: int, derived_max: int) -> str:
    """Derived vectors where they make sense, random unit vectors above (1 M by default)."""
    return "derived" if n <= derived_max else "random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scifact", type=Path, help="BEIR SciFact folder")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--bm25-sizes", default="5000,10000,20000")
    parser.add_argument("--derived-max", type=int, default=100_000, help="largest size with derived vectors")
    parser.add_argument("--full-max", type=int, default=100_000, help="largest size built as a full Index")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--report-only", action="store_true", help="re-print the last run's figures")
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="derived", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.scifact.resolve()
    if args.one:
        measure = one_size if args.one <= args.full_max else core_size
        args.out.write_text(json.dumps(measure(folder, args.one, args.kind, args.queries)))
        return
    saved = common.CACHE / "scale" / "last-run.json"  # figures so far: --report-only re-prints them
    if args.report_only:
        report(**json.loads(saved.read_text()))
        return
    bm25_rows = bm25_versus_reference(folder, [int(s) for s in args.bm25_sizes.split(",") if s], args.queries)
    real = real_recall(folder)
    results: list[dict[str, Any]] = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        out = common.CACHE / "scale" / f"size-{n}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            __file__,
            str(folder),
            "--one",
            str(n),
            "--kind",
            vector_kind(n, args.derived_max),
            "--queries",
            str(args.queries),
            "--out",
            str(out),
            "--full-max",
            str(args.full_max),
        ]
        try:
            run = common.run_measured(cmd, quiet=False)
        except RuntimeError as exc:  # e.g. out of memory at 1 M: report the sizes that ran
            print(f"  size {n:,} failed: {exc}", file=sys.stderr, flush=True)
            continue
        results.append(
            {**json.loads(out.read_text()), "peak_rss_mb": run["peak_rss_mb"], "wall_s": run["seconds"]}
        )
        saved.write_text(json.dumps({"bm25_rows": bm25_rows, "sizes": results, "real": real}))
        print(
            f"  {n:,}: hybrid p50 {results[-1]['hybrid']['p50']:.1f} ms, "
            f"floor {results[-1]['floor']['p50']:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    report(bm25_rows, results, real)


if __name__ == "__main__":
    main()
