"""Dense retrieval: a chunk's vector alone vs mixed with its best unit's similarity, fitted by LOCO.

    python bench/best_unit.py --set demo=tests/data/eval/dev_questions.jsonl:var/index \\
        --set 18f=POOL/18f-handbook/questions.jsonl:var/pool-idx/18f-handbook ... \\
        [--check rust=bench/data/rust-book/questions.jsonl:var/pool-idx/rust-book ...]

For each ``--set NAME=QUESTIONS:INDEX`` the built index is loaded through the real engine, its
`Index.best_unit_weight` (`index.chunk_vectors.rerank_by_best_unit`) is set to each weight of `WEIGHTS`
in turn, and every single answerable question is searched (`Index.search`: hybrid, top 5, the
ranking the weight changes; the answer stage later re-orders what it read, which hides a
retrieval change from ``docqa eval``'s MRR): hit@5 and MRR@5 of the first passage that holds an
expected phrase.

The weight is chosen by leave-one-corpus-out: for each corpus, the weight with the best summed
hit@5 + MRR@5 on the other corpora (ties: the smaller weight), scored on it. The weight fitted on
all ``--set`` corpora is the one to ship as `index.chunk_vectors.BEST_UNIT_WEIGHT`. Every corpus,
and each ``--check`` one (never fitted on), is then run through `service.evaluation.evaluate`
(the code of ``docqa eval``, shipped answer weights) at 0 and at that weight.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common  # noqa: E402

from index import load_index  # noqa: E402
from service.config import Settings  # noqa: E402
from service.evaluation import evaluate, load_questions, normalise  # noqa: E402

WEIGHTS = tuple(round(0.05 * i, 2) for i in range(11))
SEARCH = ("hit@5", "mrr@5")
METRICS = ("hit@5", "mrr@5", "answer_accuracy", "false_abstentions", "abstention_recall")


def _open(spec: str, model: str) -> tuple[Any, list[dict[str, Any]]]:
    questions, _, index_dir = spec.partition(":")
    return load_index(Path(index_dir), model), load_questions(Path(questions))


def search_metrics(name: str, spec: str, model: str) -> dict[float, dict[str, float]]:
    """hit@5 and MRR@5 of `Index.search` at every weight on one corpus (``QUESTIONS:INDEX``)."""
    index, rows = _open(spec, model)
    asked = [r for r in rows if r["kind"] not in ("chat", "abstain", "ambiguous") and r.get("expect_any")]
    out: dict[float, dict[str, float]] = {}
    for weight in WEIGHTS:
        index.best_unit_weight = weight
        ranks = []
        for row in asked:
            wanted = [normalise(p) for p in row["expect_any"]]
            passages = index.search(row["question"], top_k=5)
            seen = [normalise(f"{p.text}\n{p.display}") for p in passages]
            ranks.append(next((i for i, text in enumerate(seen, 1) if any(w in text for w in wanted)), None))
        out[weight] = {
            "hit@5": round(sum(r is not None for r in ranks) / max(len(ranks), 1), 4),
            "mrr@5": round(sum(1 / r for r in ranks if r) / max(len(ranks), 1), 4),
        }
        print(f"{name:8} {weight:4g} search " + " ".join(f"{m}={out[weight][m]}" for m in SEARCH), flush=True)
    return out


def eval_metrics(name: str, spec: str, model: str, weights: tuple[float, ...]) -> dict[float, dict[str, Any]]:
    """``docqa eval``'s metrics at these weights on one corpus."""
    index, rows = _open(spec, model)
    out: dict[float, dict[str, Any]] = {}
    for weight in weights:
        index.best_unit_weight = weight
        metrics = evaluate(index, rows, settings=Settings()).metrics
        out[weight] = {m: metrics.get(m) for m in METRICS}
        print(f"{name:8} {weight:4g} eval " + " ".join(f"{m}={out[weight][m]}" for m in METRICS), flush=True)
    return out


def _objective(results: dict[str, dict[float, dict[str, float]]], corpora: list[str], weight: float) -> float:
    return sum(results[n][weight]["hit@5"] + results[n][weight]["mrr@5"] for n in corpora)


def choose(results: dict[str, dict[float, dict[str, float]]], corpora: list[str]) -> float:
    """The weight with the best summed hit@5 + MRR@5 over `corpora`; the smaller one on a tie."""
    return max(WEIGHTS, key=lambda w: (round(_objective(results, corpora, w), 9), -w))


def _change(before: dict[str, Any], after: dict[str, Any], metric: str) -> str:
    return f"{common.fmt(before[metric], 3)} → {common.fmt(after[metric], 3)}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", action="append", required=True, help="NAME=QUESTIONS:INDEX")
    parser.add_argument("--check", action="append", default=[], help="NAME=QUESTIONS:INDEX, never fitted on")
    args = parser.parse_args()
    model = Settings().model_path
    results = {}
    specs = dict(spec.partition("=")[::2] for spec in args.set)
    checks_specs = dict(spec.partition("=")[::2] for spec in args.check)
    for name, paths in specs.items():
        results[name] = search_metrics(name, paths, model)
    names = list(results)
    folds = [(held, choose(results, [n for n in names if n != held])) for held in names]
    shipped = choose(results, names)
    evals = {n: eval_metrics(n, p, model, (0.0, shipped)) for n, p in {**specs, **checks_specs}.items()}
    by_weight = common.table(
        ["corpus", "weight", *SEARCH],
        [[n, f"{w:g}", *(common.fmt(results[n][w][m], 3) for m in SEARCH)] for n in names for w in WEIGHTS],
    )
    fold_table = common.table(
        [
            "held-out corpus",
            "weight chosen on the others",
            "search hit@5 0 → chosen",
            "search MRR@5 0 → chosen",
        ],
        [
            [held, f"{w:g}", *(_change(results[held][0.0], results[held][w], m) for m in SEARCH)]
            for held, w in folds
        ],
    )
    eval_table = common.table(
        ["corpus", *(f"{m} 0 → {shipped:g}" for m in METRICS)],
        [
            [
                n + ("" if n in specs else " (never fitted on)"),
                *(_change(r[0.0], r[shipped], m) for m in METRICS),
            ]
            for n, r in evals.items()
        ],
    )
    path = common.write_results(
        "best_unit",
        "Dense retrieval: chunk vector mixed with the best unit's similarity",
        [
            ("Search (hybrid, top 5) at every weight", by_weight),
            (
                "Weight by leave-one-corpus-out (best summed search hit@5 + MRR@5 on the other corpora)",
                fold_table,
            ),
            (
                f"Fitted on all: {shipped:g}. docqa eval (shipped answer weights) at 0 and at {shipped:g}",
                eval_table,
            ),
        ],
        {
            "search": {n: {str(w): m for w, m in r.items()} for n, r in results.items()},
            "folds": [{"held_out": h, "weight": w} for h, w in folds],
            "shipped": shipped,
            "eval": {n: {str(w): m for w, m in r.items()} for n, r in evals.items()},
        },
    )
    print(f"\nfolds: {folds}; fitted on all: {shipped:g}\nwritten: {path}")


if __name__ == "__main__":
    main()
