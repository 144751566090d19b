"""How far can fusing docqa's retrieval signals go? A per-question bound on hit@5.

    .venv/bin/python bench/retrieval_ceiling.py \\
        --set 18f=POOL/18f-handbook/questions.jsonl:var/pool-idx/18f-handbook [--set ...]

Hybrid retrieval ranks chunks by three signals (`Index.retrieval_signals`): BM25, the cosine of the
chunk vector and the cosine of the chunk's best unit. Fusion and the best-unit re-rank are monotone in
each signal (a convex sum with positive weights, reciprocal-rank fusion, or any other rule that raises
a chunk's place when one of its scores rises and no other falls): a chunk that another beats on all
three can never rank above it, whatever the weights. So for a question whose every answering chunk
(its text or display holds one of the question's ``expect_any`` phrases, as `docqa eval` grades
hits) is beaten on all three signals by five or more chunks that do not answer, no monotone fusion
of these signals, however fitted, puts an answer in the top five. Counting those questions bounds
hit@5 from above for every such method; what lies beyond the bound needs a signal the three lack
(for a paraphrase, a model that knows that "a log shipper on each machine" is a DaemonSet).

For each ``--set NAME=QUESTIONS:INDEX``: questions of kind fact, paraphrase and robust with phrases
(chat turns depend on follow-up resolution and are left out), hit@5 of hybrid search today, the
bound, and every question beyond it with its rank on each signal. The acronym rules that demote the
other meaning of an ambiguous acronym are not monotone; no question of the pool has one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import common  # bench/common.py: machine info, tables, result files (sets HF_HUB_OFFLINE)
import numpy as np

KINDS = ("fact", "paraphrase", "robust")
TOP_K = 5


def _sets(specs: list[str]) -> list[tuple[str, Path, Path]]:
    out = []
    for spec in specs:
        name, _, rest = spec.partition("=")
        questions, _, index = rest.partition(":")
        if not (name and questions and index):
            raise SystemExit(f"--set wants NAME=QUESTIONS:INDEX, got {spec!r}")
        out.append((name, Path(questions), Path(index)))
    return out


def dominators(signals: dict[str, np.ndarray], chunk: int, answering: np.ndarray) -> int:
    """How many non-answering chunks score higher than `chunk` on every signal."""
    beaten = np.ones_like(answering)
    for scores in signals.values():
        beaten &= scores > scores[chunk]
    return int(np.sum(beaten & ~answering))


def measure(name: str, questions: Path, index_dir: Path) -> dict[str, Any]:
    from index import load_index
    from service.evaluation import load_questions, normalise

    index = load_index(index_dir, common.model_path())
    shown = [normalise(f"{c.text}\n{c.display}") for c in index.chunks]
    rows: list[dict[str, Any]] = []
    for q in load_questions(questions):
        if q["kind"] not in KINDS or not q.get("expect_any"):
            continue
        wanted = [normalise(p) for p in q["expect_any"]]
        answering = np.array([any(w in s for w in wanted) for s in shown])
        # A passage is its chunk's text and display, so `answering` grades the hits too.
        hit = any(answering[p.chunk_id] for p in index.search(q["question"], top_k=TOP_K))
        row: dict[str, Any] = {
            "id": q["id"],
            "kind": q["kind"],
            "hit": hit,
            "answering_chunks": int(answering.sum()),
        }
        if answering.any():
            signals = index.retrieval_signals(q["question"])
            counts = {int(c): dominators(signals, int(c), answering) for c in np.flatnonzero(answering)}
            best = min(counts, key=counts.__getitem__)
            row["dominators"] = counts[best]
            row["ranks"] = {k: int(np.sum(v > v[best])) + 1 for k, v in signals.items()}
        rows.append(row)
    reachable = [r for r in rows if r.get("dominators", TOP_K) < TOP_K]
    print(
        f"{name}: {len(rows)} questions, hit@5 {sum(r['hit'] for r in rows)}, bound {len(reachable)}",
        flush=True,
    )
    return {"name": name, "questions": rows, "hits": sum(r["hit"] for r in rows), "bound": len(reachable)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", required=True, help="NAME=QUESTIONS:INDEX (repeatable)")
    args = parser.parse_args()
    results = [measure(*s) for s in _sets(args.set)]
    summary = common.table(
        [
            "corpus",
            "questions",
            "hit@5 now",
            "hit@5 bound (any monotone fusion)",
            "beyond the bound",
            "no answering chunk",
        ],
        [
            [
                r["name"],
                len(r["questions"]),
                f"{r['hits'] / len(r['questions']):.3f}",
                f"{r['bound'] / len(r['questions']):.3f}",
                sum(q.get("dominators", 0) >= TOP_K for q in r["questions"]),
                sum(q["answering_chunks"] == 0 for q in r["questions"]),
            ]
            for r in results
        ],
    )
    beyond = common.table(
        [
            "corpus",
            "question",
            "kind",
            "chunks beating it on all signals",
            "rank bm25",
            "rank chunk",
            "rank unit",
        ],
        [
            [
                r["name"],
                q["id"],
                q["kind"],
                q["dominators"],
                q["ranks"]["bm25"],
                q["ranks"]["chunk"],
                q["ranks"]["unit"],
            ]
            for r in results
            for q in r["questions"]
            if q.get("dominators", 0) >= TOP_K
        ],
    )
    md = common.write_results(
        "retrieval_ceiling",
        "Retrieval ceiling: hit@5 reachable by any monotone fusion of BM25, chunk and best-unit cosine",
        [("Per corpus", summary), ("Questions beyond the bound", beyond)],
        {"sets": results},
    )
    print(summary)
    print(beyond)
    print(f"written: {md}")


if __name__ == "__main__":
    main()
