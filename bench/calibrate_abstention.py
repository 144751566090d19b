"""Fit docqa's confidence function on a labelled question set and report the abstention threshold.

    python bench/calibrate_abstention.py [--index var/index] [--questions bench/data/calibration.jsonl]

The set holds answerable questions about the default corpus (none from the dev set) and off-topic
ones. For each question the script takes the two features `Index.query` uses (best answer-unit
cosine similarity, idf-weighted coverage of the question by the top passage), fits an
L2-regularised logistic regression, and prints the fitted coefficients, the shipped ones, and the
precision/recall of "answerable" at threshold 0.5 for both. The shipped constants in
`index/answer.py` were rounded from this fit.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import load_index  # noqa: E402
from index.answer import ABSTAIN_BELOW, confidence  # noqa: E402
from service.config import Settings  # noqa: E402

HERE = Path(__file__).resolve().parent


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 0.001, steps: int = 20000, lr: float = 0.5
) -> np.ndarray:
    """Gradient descent on the regularised log-loss; returns [bias, w1, w2] for features scaled as given."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ w))
        grad = design.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]]
        w -= lr * grad
    return w


def report(name: str, probs: np.ndarray, y: np.ndarray) -> None:
    predicted = probs >= ABSTAIN_BELOW
    tp = int((predicted & (y == 1)).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int((y == 1).sum()), 1)
    abstain_ok = int((~predicted & (y == 0)).sum())
    print(
        f"{name:<8} answered precision {precision:.3f} recall {recall:.3f}; "
        f"off-topic abstained {abstain_ok}/{int((y == 0).sum())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--questions", type=Path, default=HERE / "data" / "calibration.jsonl")
    args = parser.parse_args()
    index = load_index(args.index, Settings().model_path)
    rows = [
        json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    feats = np.array([index.confidence_features(r["question"]) for r in rows])
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    w = fit_logistic(feats, y)
    print(f"{len(rows)} questions ({int(y.sum())} answerable)")
    print(f"fitted : bias {w[0]:.2f}  sim {w[1]:.2f}  coverage {w[2]:.2f}")
    fitted = 1 / (1 + np.exp(-(w[0] + feats @ w[1:])))
    shipped = np.array([confidence(s, c) for s, c in feats])
    report("fitted", fitted, y)
    report("shipped", shipped, y)
    for r, (s, c), p in sorted(zip(rows, feats, shipped, strict=True), key=lambda t: t[2]):
        if (p >= ABSTAIN_BELOW) != r["answerable"] or 0.2 < p < 0.8:
            print(f"  near the threshold: p={p:.2f} sim={s:.2f} cov={c:.2f}  {r['question']}")


if __name__ == "__main__":
    main()
