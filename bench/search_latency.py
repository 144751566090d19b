"""In-process latency of ``Index.search`` (bm25, dense, hybrid) and ``Index.query`` vs the encode floor.

Loads a built index (building one into a temp dir when none is given), times every call on distinct
questions and prints p50/p95 next to one bare model encode of a query measured in the same run.
``--profile`` adds a pyinstrument profile of ``Index.query`` and lists where the time goes.

    .venv/bin/python bench/search_latency.py [--index var/index] [--profile]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def bare_encoder(model: str) -> Any:
    """The floor: one SentenceTransformer encode of a query, nothing else (no cache, no index)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model, device="cpu")
    return lambda q: st.encode([q], normalize_embeddings=True, show_progress_bar=False)


def measure(index: Any, model: str, questions: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Time each step on the same questions; p50/p95 per step."""
    steps: dict[str, Any] = {
        "bare model encode (floor)": bare_encoder(model),
        "Index.encode_query": index.encode_query,
        "Index.search bm25": lambda q: index.search(q, 5, mode="bm25"),
        "Index.search dense": lambda q: index.search(q, 5, mode="dense"),
        "Index.search hybrid": lambda q: index.search(q, 5, mode="hybrid"),
        "Index.query (full answer)": lambda q: index.query(q, 5),
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for q in questions[:2]:  # warm-up: one-off costs stay out of the figures
        for fn in steps.values():
            fn(q)
    # Every step runs back to back on each question, so all of them see the same load on shared cores.
    for _ in range(rounds):
        for q in questions:
            for name, fn in steps.items():
                t0 = common.now_ms()
                fn(q)
                times[name].append(common.now_ms() - t0)
    return {name: common.summary(values) for name, values in times.items()}


# Stages of Index.query, by (function, file): their inclusive time is where a query's time goes.
STAGES = {
    ("encode_query", "engine.py"): "model encode (Index.encode_query)",
    ("_validate", "engine.py"): "validation",
    ("_expanded", "engine.py"): "acronym expansion (Index._expanded)",
    ("search", "sparse.py"): "BM25 (SparseIndex.search)",
    ("search", "dense.py"): "FAISS (DenseIndex.search)",
    ("fuse", "hybrid.py"): "fusion (hybrid.fuse)",
    ("_cover_meanings", "engine.py"): "clarification cover (Index._cover_meanings)",
    ("_passage", "engine.py"): "passage assembly (Index._passage)",
    ("_answer", "engine.py"): "answer selection (Index._answer)",
    ("score_units", "answer.py"): "  of which sentence scoring (answer.score_units)",
    ("tokenize", "tokenize.py"): "tokenizer, all calls (tokenize.tokenize)",
}


def _walk(frame: Any, selfs: dict[str, float], stages: dict[str, float], open_stages: frozenset[str]) -> None:
    """Self time per real frame, and inclusive time per stage (outermost call of each stage only)."""
    if frame.is_synthetic:
        return  # "[self]" frames: their time is already in the parent's total_self_time
    key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
    selfs[key] = selfs.get(key, 0.0) + frame.total_self_time
    stage = STAGES.get((frame.function, Path(frame.file_path or "?").name))
    if stage is not None and stage not in open_stages:
        stages[stage] = stages.get(stage, 0.0) + frame.time
        open_stages = open_stages | {stage}
    for child in frame.children:
        _walk(child, selfs, stages, open_stages)


def top_costs(index: Any, questions: list[str], rounds: int, limit: int = 10) -> dict[str, Any]:
    """Profile ``Index.query`` with pyinstrument: time by stage, and the largest self-time frames (%)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(rounds):
        for q in questions:
            index.query(q, 5)
    profiler.stop()
    session = profiler.last_session
    assert session is not None
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    selfs: dict[str, float] = {}
    stages: dict[str, float] = {}
    if root is not None:
        _walk(root, selfs, stages, frozenset())
    pct = lambda t: 100.0 * t / total if total else 0.0  # noqa: E731
    ranked = sorted(selfs.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    return {
        "stages": [(name, pct(stages.get(name, 0.0))) for name in dict.fromkeys(STAGES.values())],
        "self": [(name, pct(t)) for name, t in ranked],
        "tree": profiler.output_text(unicode=False, color=False, show_all=False),
    }


def load_or_build(index_dir: Path | None, corpus: Path, model: str, tmp: Path) -> Any:
    """Load the given index, or build one of ``corpus`` into ``tmp`` first."""
    from index import build_index, load_index

    if index_dir is None:
        index_dir = tmp / "index"
        build_index(corpus, index_dir, model)
        return load_index(index_dir, model, corpus)
    return load_index(index_dir, model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="a built index (default: build one)")
    parser.add_argument("--corpus", type=Path, default=common.ROOT / "corpus" / "documents")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile Index.query (pyinstrument)")
    parser.add_argument("--questions", type=int, default=0, help="use only the first N questions")
    parser.add_argument("--scifact", type=Path, default=None, help="ask SciFact test claims (with --index)")
    parser.add_argument("--name", default="search_latency", help="results file name")
    args = parser.parse_args()
    model = common.model_path()
    questions = common.question_pool()
    if args.scifact is not None:
        _, queries, qrels = common.load_scifact(args.scifact)
        questions = [queries[q] for q in qrels["test"]]
    questions = questions[: args.questions or None]
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp:
        index = load_or_build(args.index, args.corpus.resolve(), model, Path(tmp))
        if args.index is not None:
            args.corpus = Path(f"index {args.index.name} ({len(index.chunks):,} chunks)")
        results = measure(index, model, questions, args.rounds)
        profile = top_costs(index, questions, 1) if args.profile else None
    floor = results["bare model encode (floor)"]["p50"]
    tab = common.table(
        ["step", "calls", "p50 ms", "p95 ms", "p50 / floor"],
        [[name, int(s["n"]), s["p50"], s["p95"], f"{s['p50'] / floor:.2f}x"] for name, s in results.items()],
    )
    print(f"\nin-process, {len(questions)} distinct questions x {args.rounds} rounds, {args.corpus}:\n{tab}")
    sections = [("In-process latency", tab)]
    data: dict[str, Any] = {"steps": results, "questions": len(questions), "corpus": str(args.corpus)}
    if profile is not None:
        by_stage = common.table(["stage of Index.query (inclusive)", "% of time"], profile["stages"])
        costs = common.table(["frame (self time)", "% of time"], profile["self"])
        print("\nwhere Index.query spends its time (pyinstrument):\n" + by_stage + "\n\n" + costs)
        sections.append(("Where Index.query spends its time (pyinstrument), by stage", by_stage))
        sections.append(("Largest self-time frames", costs))
        data["profile"] = profile
    path = common.write_results(args.name, f"In-process search latency: {args.corpus}", sections, data)
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
