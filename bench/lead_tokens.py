"""How many opening tokens make a unit's "lead" (the answer feature `lead`), chosen by nested LOCO.

    python bench/lead_tokens.py --set demo=tests/data/eval/dev_questions.jsonl:var/index \\
        --set 18f=POOL/18f-handbook/questions.jsonl:var/pool-idx/18f-handbook ...

`lead` is the idf-weighted share of the question's words among a unit's first N content tokens
(what the sentence is about: "TTS is located on the 6th floor" for "Which floor is TTS on?").
For each N in `CHOICES` the features of every single question are collected through the real
engine (`bench/fit_answers.collect`). Then, for each held-out corpus, N is chosen by an inner
leave-one-corpus-out over the other corpora only (answer accuracy, less false abstentions), and
the answer and confidence models fitted on those corpora with that N are scored on it. A run takes
about a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import fit_answers  # noqa: E402

import index.answer as answer_features  # noqa: E402
from service.config import Settings  # noqa: E402

CHOICES = (0, 2, 3, 5)  # 0: no lead feature (the feature is constant, the models ignore it)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", required=True, help="NAME=QUESTIONS.jsonl:INDEX_DIR")
    args = parser.parse_args()
    model = Settings().model_path
    data: dict[int, list[dict[str, Any]]] = {}
    for n in CHOICES:
        answer_features.LEAD_TOKENS = n
        data[n] = fit_answers.collect_sets(args.set, model)
        print(f"collected N={n}", file=sys.stderr, flush=True)
    corpora = list(dict.fromkeys(r["corpus"] for r in data[CHOICES[0]]))
    rows = []
    for held in corpora:
        others = [c for c in corpora if c != held]
        inner = {n: fit_answers.loco_credit(d, others) for n, d in data.items()}
        chosen = max(CHOICES, key=lambda n: (inner[n], -abs(n - 2)))
        fixed = {n: fit_answers.held_out(d, held) for n, d in data.items()}
        rows.append({"held_out": held, "inner": inner, "chosen": chosen, "scores": fixed})
    table = [
        "| held-out corpus | N chosen on the others | held-out answer accuracy / false abstentions / "
        "unanswerable abstained at the chosen N | " + " | ".join(f"at N={n}" for n in CHOICES) + " |",
        "|---|---|---|" + "---|" * len(CHOICES),
    ]
    for row in rows:

        def cell(s: dict[str, Any]) -> str:
            return f"{s['answer_accuracy']} / {s['false_abstentions']} / {s['unanswerable_abstained']}"

        table.append(
            f"| {row['held_out']} | {row['chosen']} | {cell(row['scores'][row['chosen']])} | "
            + " | ".join(cell(row["scores"][n]) for n in CHOICES)
            + " |"
        )
    notes = (
        "N = 0 is the model without the feature. Each row's models are fitted on the other corpora "
        "only; the chosen N is the one with the best inner leave-one-corpus-out score on those "
        "corpora (ties go to the N nearest 2)."
    )
    path = common.write_results(
        "lead_tokens",
        "Answer feature `lead`: opening tokens, chosen by nested leave-one-corpus-out",
        [("Held-out scores", "\n".join(table)), ("How", notes)],
        {"folds": rows},
    )
    print("\n".join(table))
    print(path)


if __name__ == "__main__":
    main()
