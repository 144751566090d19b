"""Which of the newer answer features earn their place, chosen by nested leave-one-corpus-out.

    python bench/answer_features.py --set demo=tests/data/eval/dev_questions.jsonl:var/index \\
        --set 18f=POOL/18f-handbook/questions.jsonl:var/pool-idx/18f-handbook ... \\
        [--optional lead,density,wh]

The features of every single question are collected once through the real engine
(`bench/fit_answers.collect`). A feature left out is set to 0 for every unit (a constant the models
ignore), so each subset of the ``--optional`` features is a model of its own. Two tables:

- every subset, each corpus scored by models fitted on the other corpora (plain LOCO);
- nested: for each held-out corpus the subset is chosen by an inner LOCO over the other corpora
  only (held-out correct answers less false abstentions; ties go to the smaller subset), and the
  models of that subset fitted on those corpora are scored on it. This is the estimate of the
  selection itself; the shipped subset is the one with the best plain LOCO total.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import fit_answers  # noqa: E402

from index.answer import FEATURES  # noqa: E402
from service.config import Settings  # noqa: E402

Rows = list[dict[str, Any]]


def masked(data: Rows, left_out: tuple[str, ...]) -> Rows:
    """The data with the `left_out` features set to 0 for every unit."""
    columns = [FEATURES.index(name) for name in left_out]
    out = copy.deepcopy(data)
    for row in out:
        for unit in row["units"]:
            for col in columns:
                unit["x"][col] = 0.0
    return out


def _cell(result: dict[str, Any]) -> str:
    return f"{result['answer_accuracy']} / {result['false_abstentions']} / {result['unanswerable_abstained']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", required=True, help="NAME=QUESTIONS.jsonl:INDEX_DIR")
    parser.add_argument("--optional", default="lead,density,wh", help="comma-separated feature names")
    args = parser.parse_args()
    optional = tuple(args.optional.split(","))
    unknown = [name for name in optional if name not in FEATURES]
    if unknown:
        raise SystemExit(f"not answer features: {unknown}; the features are {FEATURES}")
    model = Settings().model_path
    data: Rows = fit_answers.collect_sets(args.set, model)
    corpora = list(dict.fromkeys(r["corpus"] for r in data))
    subsets = [keep for k in range(len(optional) + 1) for keep in itertools.combinations(optional, k)]
    by_subset = {keep: masked(data, tuple(n for n in optional if n not in keep)) for keep in subsets}

    plain = [
        "| features kept | " + " | ".join(corpora) + " | LOCO total |",
        "|---|" + "---|" * (len(corpora) + 1),
    ]
    totals = {}
    for keep, rows in by_subset.items():
        results = {c: fit_answers.held_out(rows, c) for c in corpora}
        totals[keep] = fit_answers.loco_credit(rows, corpora)
        plain.append(
            f"| {' + '.join(keep) or 'none'} | "
            + " | ".join(_cell(results[c]) for c in corpora)
            + f" | {totals[keep]:.1f} |"
        )
    nested = ["| held-out corpus | subset chosen on the others | held-out |", "|---|---|---|"]
    for corpus in corpora:
        others = [c for c in corpora if c != corpus]
        inner = {keep: fit_answers.loco_credit(rows, others) for keep, rows in by_subset.items()}
        chosen = max(subsets, key=lambda k: (round(inner[k], 6), -len(k)))
        result = fit_answers.held_out(by_subset[chosen], corpus)
        nested.append(f"| {corpus} | {' + '.join(chosen) or 'none'} | {_cell(result)} |")
    best = max(subsets, key=lambda k: (round(totals[k], 6), -len(k)))
    notes = (
        "Cells: answer accuracy / false abstentions / unanswerable abstained, held out. LOCO total: "
        "held-out correct answers less false abstentions over all folds. "
        f"Best plain LOCO total (the subset to ship): {' + '.join(best) or 'none'}."
    )
    path = common.write_results(
        "answer_features",
        "Answer features: which optional ones earn their place (nested leave-one-corpus-out)",
        [
            ("Every subset, plain LOCO", "\n".join(plain)),
            ("Nested LOCO", "\n".join(nested)),
            ("Reading", notes),
        ],
        {"optional": optional, "totals": {"+".join(k): v for k, v in totals.items()}},
    )
    print("\n".join(plain + [""] + nested + ["", notes]))
    print(path)


if __name__ == "__main__":
    main()
