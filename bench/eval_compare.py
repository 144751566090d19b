"""Before and after, per question set: two ``docqa eval --json`` outputs of the same sets, side by side.

    python bench/eval_compare.py BEFORE.json AFTER.json --name spot_checks \\
        --title "Spot checks: before (7c50104) and after (HEAD), same run" --note "how it was run"

Both files come from one ``docqa eval FILE... --index DIR... --json`` call each, with the question
files in the same order (run the older commit from a ``git worktree`` with the same virtualenv, each
commit's code building its own indexes of the same folders). Writes
``bench/results/<date>_<name>.md`` and ``.json``: a row per set (hit@5, MRR@5, answer accuracy,
false abstentions, unanswerable abstained, chat follow-ups, answer words p90, citation integrity as
"before → after") and the questions whose outcome changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from common import table, write_results  # noqa: E402

METRICS = (
    "hit@5",
    "mrr@5",
    "answer_accuracy",
    "false_abstentions",
    "abstention_recall",
    "chat_answer_rate",
    "answer_words_p90",
    "citation_integrity",
)


def _sets(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["corpora"]) if "corpora" in report else [report]


def _name(corpus: dict[str, Any]) -> str:
    return str(corpus.get("name") or corpus.get("index", {}).get("index_dir", "?"))


def _outcome(question: dict[str, Any]) -> tuple[object, object, object]:
    return question.get("hit_rank"), question.get("answer_correct"), question.get("abstained")


def _source_words_p90(corpus: dict[str, Any]) -> int | None:
    """Words of the cited source text at the 90th percentile, counted alike in both runs (``docqa
    eval`` counted the source text before 2026-12-01 and counts the display since)."""
    counts = sorted(len(q["answer"].split()) for q in corpus["questions"] if q.get("answer"))
    return counts[min(len(counts) - 1, int(0.9 * len(counts)))] if counts else None


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """The per-set rows and the changed questions' rows.

    Raises:
        ValueError: The two runs are not of the same question sets.
    """
    old_sets, new_sets = _sets(before), _sets(after)
    if [_name(c) for c in old_sets] != [_name(c) for c in new_sets]:
        raise ValueError("the two eval outputs are not of the same question sets, in the same order")
    rows, changed = [], []
    for old, new in zip(old_sets, new_sets, strict=True):
        rows.append(
            [_name(new)]
            + [f"{old['metrics'].get(m)} → {new['metrics'].get(m)}" for m in METRICS]
            + [f"{_source_words_p90(old)} → {_source_words_p90(new)}"]
        )
        earlier = {q["id"]: q for q in old["questions"]}
        for q in new["questions"]:
            was = earlier.get(q["id"])
            if was is not None and _outcome(was) != _outcome(q):
                changed.append(
                    [_name(new), q["id"], q["kind"], str(_outcome(was)), str(_outcome(q)), q["question"][:90]]
                )
    return rows, changed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--name", default="eval_compare", help="results file name (after the date)")
    parser.add_argument("--title", default="docqa eval: before and after, same run")
    parser.add_argument("--note", action="append", default=[], help="a line on how it was run (repeatable)")
    args = parser.parse_args()
    before = json.loads(args.before.read_text(encoding="utf-8"))
    after = json.loads(args.after.read_text(encoding="utf-8"))
    rows, changed = compare(before, after)
    sections = [
        ("How it was run", "\n".join(f"- {line}" for line in args.note) or "- (no note)"),
        ("Per set (before → after)", table(["set", *METRICS, "source words p90"], rows)),
        (
            "Questions whose outcome changed ((hit rank, answer right, abstained))",
            table(["set", "id", "kind", "before", "after", "question"], changed) if changed else "none",
        ),
    ]
    path = write_results(args.name, args.title, sections, {"before": before, "after": after})
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
