"""Chunk vectors: whole-chunk embeddings vs vectors composed from unit vectors, fitted by LOCO.

    python bench/chunk_vectors.py --set demo=tests/data/eval/dev_questions.jsonl:var/index \\
        --set 18f=POOL/18f-handbook/questions.jsonl:var/pool-idx/18f-handbook ...

For each ``--set NAME=QUESTIONS:INDEX`` the built index is loaded through the real engine and its
dense index is replaced in memory by each scheme in turn, then every question is run through
`service.evaluation.evaluate` (the code of ``docqa eval``):

- ``whole``: each chunk's ``embed_text`` embedded as one text (what builds did before);
- ``units+heading w``: `index.chunk_vectors.compose` with heading weight ``w`` for w in `WEIGHTS`.

The heading weight is chosen by leave-one-corpus-out: for each corpus, the weight with the best
summed MRR@5 on the other corpora, scored on it. Texts come from the embedding cache when the
indexes were built on this machine, so a run takes a minute or two.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common  # noqa: E402

from index import load_index  # noqa: E402
from index.chunk_vectors import compose, heading_text  # noqa: E402
from index.dense import DenseIndex  # noqa: E402
from service.config import Settings  # noqa: E402
from service.evaluation import evaluate, load_questions  # noqa: E402

WEIGHTS = (0.0, 0.5, 1.0, 2.0)
METRICS = ("hit@5", "mrr@5", "answer_accuracy", "false_abstentions")


def _use(index: Any, vectors: np.ndarray) -> None:
    """Serve `vectors` as the index's chunk vectors (retrieval and the answer features)."""
    dense = DenseIndex.build(vectors)
    index._dense = dense
    index._answerer.chunk_vectors = dense.vectors


def measure(name: str, questions: Path, index_dir: Path, model: str) -> dict[str, dict[str, Any]]:
    """Metrics of every scheme on one corpus."""
    index = load_index(index_dir, model)
    rows = load_questions(questions)
    embedder = index._embedder
    chunks = index.chunks
    titles = {d.doc_id: d.title for d in index.documents.values()}
    units = index._units
    chunk_ids = units[:, 0].astype(np.int64)
    unit_vectors = embedder.encode(index._unit_texts)
    headings = embedder.encode([heading_text(titles[c.doc_id], c.section) or c.embed_text for c in chunks])
    whole = embedder.encode([c.embed_text for c in chunks])
    alone = np.bincount(chunk_ids, minlength=len(chunks)) == 0
    out: dict[str, dict[str, Any]] = {}
    schemes: list[tuple[str, np.ndarray]] = [("whole", whole)]
    for weight in WEIGHTS:
        composed = compose(chunk_ids, unit_vectors, headings, weight)
        composed[alone] = whole[alone]
        schemes.append((f"units+heading {weight:g}", composed))
    for label, vectors in schemes:
        _use(index, vectors)
        metrics = evaluate(index, rows, settings=Settings()).metrics
        out[label] = {m: metrics.get(m) for m in METRICS}
        print(f"{name:6} {label:20} " + " ".join(f"{m}={out[label][m]}" for m in METRICS), flush=True)
    return out


def loco(results: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """For each corpus: the weight with the best MRR@5 summed over the others, and its scores here."""
    folds = []
    for held in results:
        train = [n for n in results if n != held]

        def score(weight: float, corpora: list[str] = train) -> float:
            return sum(float(results[n][f"units+heading {weight:g}"]["mrr@5"] or 0) for n in corpora)

        best = max(WEIGHTS, key=score)
        folds.append(
            {
                "held_out": held,
                "weight": best,
                "composed": results[held][f"units+heading {best:g}"],
                "whole": results[held]["whole"],
            }
        )
    return folds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", action="append", required=True, help="NAME=QUESTIONS:INDEX")
    args = parser.parse_args()
    model = Settings().model_path
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in args.set:
        name, _, paths = spec.partition("=")
        questions, _, index_dir = paths.partition(":")
        results[name] = measure(name, Path(questions), Path(index_dir), model)
    folds = loco(results)
    schemes = list(next(iter(results.values())))
    by_scheme = common.table(
        ["corpus", "scheme", *METRICS],
        [[n, s, *(common.fmt(results[n][s][m], 3) for m in METRICS)] for n in results for s in schemes],
    )
    fold_table = common.table(
        [
            "held-out corpus",
            "weight chosen on the others",
            "hit@5 whole → composed",
            "MRR@5 whole → composed",
            "answer accuracy whole → composed",
        ],
        [
            [
                f["held_out"],
                f"{f['weight']:g}",
                f"{common.fmt(f['whole']['hit@5'], 3)} → {common.fmt(f['composed']['hit@5'], 3)}",
                f"{common.fmt(f['whole']['mrr@5'], 3)} → {common.fmt(f['composed']['mrr@5'], 3)}",
                f"{common.fmt(f['whole']['answer_accuracy'], 3)} → "
                f"{common.fmt(f['composed']['answer_accuracy'], 3)}",
            ]
            for f in folds
        ],
    )
    path = common.write_results(
        "chunk_vectors",
        "Chunk vectors: whole-chunk embeddings vs composed from unit vectors",
        [
            ("Every scheme on every corpus (docqa eval, hybrid, top 5, shipped answer weights)", by_scheme),
            ("Heading weight by leave-one-corpus-out (best summed MRR@5 on the other corpora)", fold_table),
        ],
        {"results": results, "folds": folds, "weights": list(WEIGHTS)},
    )
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
