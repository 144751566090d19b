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


def top_costs(
    index: Any, questions: list[str], rounds: int, limit: int = 12
) -> tuple[str, list[tuple[str, float]]]:
    """Profile ``Index.query`` with pyinstrument; the text tree and the largest self-time frames."""
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

    def walk(frame: Any) -> None:
        key = f"{frame.function} ({Path(frame.file_path or '?').name}:{frame.line_no})"
        selfs[key] = selfs.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child)

    if root is not None:
        walk(root)
    ranked = sorted(selfs.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    return text, [(name, 100.0 * t / total if total else 0.0) for name, t in ranked]


def load_or_build(index_dir: Path | None, corpus: Path, model: str, tmp: Path) -> Any:
    """Load the given index, or build one of ``corpus`` into ``tmp`` first."""
    from index import build_index, load_index

    if index_dir is None:
        index_dir = tmp / "index"
        build_index(corpus, index_dir, model)
    return load_index(index_dir, model, corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="a built index (default: build one)")
    parser.add_argument("--corpus", type=Path, default=common.ROOT / "corpus" / "documents")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile Index.query (pyinstrument)")
    args = parser.parse_args()
    model = common.model_path()
    questions = common.question_pool()
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp:
        index = load_or_build(args.index, args.corpus.resolve(), model, Path(tmp))
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
        costs = common.table(["frame (self time)", "% of Index.query"], [[n, p] for n, p in profile[1]])
        print("\nlargest self-time costs of Index.query (pyinstrument):\n" + costs)
        sections.append(("Where Index.query spends its time (pyinstrument, self time)", costs))
        data["profile_top"] = profile[1]
        data["profile_tree"] = profile[0]
    path = common.write_results("search_latency", "In-process search latency", sections, data)
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
