"""Retrieval on the development pool: docqa next to a plain peer baseline, top 5, same run.

    .venv/bin/python bench/pool_baseline.py [--pool ../shared/eval/pool] [--index-root var/pool-idx]

For each corpus of the pool (18f-handbook, k8s-concepts, github-site-policy) the questions of kind
fact, paraphrase and robust that carry ``expect_any`` phrases are asked of:

- docqa: ``Index.search(question, top_k=5, mode=...)`` with ``hybrid``, ``bm25`` and ``dense`` on the
  index in ``<index-root>/<corpus>`` (built with ``docqa build`` when missing);
- the baseline, built here the way a plain Haystack pipeline would: each file's raw text cut into
  consecutive 200-word windows (no overlap, no Markdown handling), BM25Okapi over lower-cased ``\\w+``
  tokens, exact cosine search over the same MiniLM's window vectors, reciprocal rank fusion (k=60)
  of each retriever's top 50.

A passage is a hit when its text (for docqa, its ``text`` or ``display``) contains one of the
question's phrases after ``service.evaluation.normalise``. Reported per corpus: hit@5 and MRR@5.
Window vectors are cached in ``var/bench-cache/`` by model path and text hash.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common  # bench/common.py: machine info, tables, result files (sets HF_HUB_OFFLINE)
import numpy as np

CORPORA = ("18f-handbook", "k8s-concepts", "github-site-policy")
KINDS = ("fact", "paraphrase", "robust")
TOP_K = 5
WINDOW_WORDS = 200
RRF_K = 60
FUSION_DEPTH = 50
DOCQA_MODES = ("hybrid", "bm25", "dense")
SYSTEMS = (
    "docqa hybrid",
    "docqa bm25",
    "docqa dense",
    "baseline RRF",
    "baseline bm25",
    "baseline dense",
)
EMBED_CACHE = common.ROOT / "var" / "bench-cache"
BASELINE_NOTE = (
    f"Baseline: every file's raw UTF-8 text (front matter, template tags and markup included) split on "
    f"whitespace into consecutive {WINDOW_WORDS}-word windows without overlap (as Haystack's "
    f'DocumentSplitter split_by="word", split_length={WINDOW_WORDS}); BM25 is rank_bm25.BM25Okapi '
    "(default k1=1.5, b=0.75) over lower-cased `\\w+` tokens; dense is the same packaged MiniLM "
    "(sentence-transformers, normalize_embeddings=True, max 256 word pieces, so long windows are "
    f"truncated) with exact dot-product search; hybrid is reciprocal rank fusion, k={RRF_K}, of each "
    f"retriever's top {FUSION_DEPTH}. A window never crosses a file boundary; a phrase cut by a window "
    "boundary is missed, as it would be in Haystack."
)
_TOKEN = re.compile(r"\w+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Question:
    """One pool question with the phrases that mark a passage as a hit."""

    id: str
    kind: str
    text: str
    phrases: tuple[str, ...]


def load_questions(path: Path) -> list[Question]:
    """The retrieval questions of a pool corpus: fact, paraphrase and robust with ``expect_any``."""
    from service.evaluation import normalise

    rows = common.load_jsonl(path)
    return [
        Question(r["id"], r["kind"], r["question"], tuple(normalise(p) for p in r["expect_any"]))
        for r in rows
        if r.get("kind") in KINDS and r.get("expect_any")
    ]


def first_hit(question: Question, ranked: Sequence[Sequence[str]]) -> int | None:
    """1-based rank of the first result whose texts contain one of the phrases, or None."""
    from service.evaluation import normalise

    for rank, texts in enumerate(ranked, 1):
        normalised = [normalise(t) for t in texts]
        if any(p in t for p in question.phrases for t in normalised):
            return rank
    return None


def metrics(ranks: Iterable[int | None]) -> dict[str, float]:
    """hit@5 and MRR@5 of first-hit ranks."""
    values = list(ranks)
    if not values:
        return {"hit@5": float("nan"), "mrr@5": float("nan")}
    hits = [r for r in values if r is not None and r <= TOP_K]
    return {"hit@5": len(hits) / len(values), "mrr@5": sum(1.0 / r for r in hits) / len(values)}


# --- docqa ----------------------------------------------------------------------------------------


def ensure_index(docs: Path, index_dir: Path) -> None:
    """Build the docqa index with the ``docqa`` command when the folder has none."""
    from index import index_exists

    if index_exists(index_dir):
        return
    docqa = Path(sys.executable).parent / "docqa"
    print(f"  no index at {index_dir}: building it (10-20 minutes on 2 cores)", file=sys.stderr)
    cmd = [str(docqa), "build", "--corpus", str(docs), "--index", str(index_dir)]
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def docqa_ranks(
    index_dir: Path, questions: Sequence[Question], model: str
) -> tuple[dict[str, list[int | None]], dict[str, Any]]:
    """First-hit ranks of each docqa mode, question by question, and the index's size and build time."""
    from index import load_index

    index = load_index(index_dir, model)
    about = {"chunks": len(index.chunks), "built_at": index.manifest.get("built_at", "?")}
    out: dict[str, list[int | None]] = {}
    for mode in DOCQA_MODES:
        out[f"docqa {mode}"] = [
            first_hit(q, [(p.text, p.display) for p in index.search(q.text, top_k=TOP_K, mode=mode)])
            for q in questions
        ]
    return out, about


# --- baseline -------------------------------------------------------------------------------------


def split_windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    """Consecutive ``size``-word windows of a text, each the verbatim span from its first to last word."""
    words = list(_WORD.finditer(text))
    return [
        text[words[i].start() : words[min(i + size, len(words)) - 1].end()]
        for i in range(0, len(words), size)
    ]


def read_windows(docs: Path) -> list[str]:
    """The windows of every file under ``docs``, in path order."""
    windows: list[str] = []
    for path in sorted(p for p in docs.rglob("*") if p.is_file()):
        windows.extend(split_windows(path.read_text(encoding="utf-8")))
    return windows


def tokens(text: str) -> list[str]:
    """BM25 tokens: lower-cased ``\\w+`` runs."""
    return _TOKEN.findall(text.lower())


def top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the k highest scores, best first (ties by position)."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[:k]]


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings (rank 1-based)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: (-scores[item], item))


class Baseline:
    """The plain peer: 200-word windows, BM25Okapi, exact MiniLM search, RRF."""

    def __init__(self, windows: Sequence[str], vectors: np.ndarray, encoder: Any) -> None:
        from rank_bm25 import BM25Okapi

        if len(windows) != len(vectors):
            raise ValueError(f"{len(windows)} windows but {len(vectors)} vectors")
        self.windows = list(windows)
        self.vectors = vectors
        self.encoder = encoder
        self.bm25 = BM25Okapi([tokens(w) for w in windows])

    def rankings(self, question: str) -> dict[str, list[int]]:
        """Window indices of each baseline system, best first (top 5)."""
        q_vector = self.encoder.encode([question], normalize_embeddings=True)[0].astype(np.float32)
        sparse = top(np.asarray(self.bm25.get_scores(tokens(question))), FUSION_DEPTH)
        dense = top(self.vectors @ q_vector, FUSION_DEPTH)
        return {
            "baseline RRF": rrf([sparse, dense])[:TOP_K],
            "baseline bm25": sparse[:TOP_K],
            "baseline dense": dense[:TOP_K],
        }


def baseline_ranks(
    docs: Path, questions: Sequence[Question], model: str, encoder: Any, label: str
) -> tuple[dict[str, list[int | None]], int]:
    """First-hit ranks of each baseline system and the number of windows."""
    from embed_cache import embed

    windows = read_windows(docs)
    vectors = embed(windows, model, EMBED_CACHE, label=f"{label} windows")
    baseline = Baseline(windows, vectors, encoder)
    out: dict[str, list[int | None]] = {}
    for q in questions:
        for system, ranking in baseline.rankings(q.text).items():
            out.setdefault(system, []).append(first_hit(q, [(baseline.windows[i],) for i in ranking]))
    return out, len(windows)


# --- run and report -------------------------------------------------------------------------------


def run_corpus(name: str, pool: Path, index_root: Path, model: str, encoder: Any) -> dict[str, Any]:
    """Every system on one corpus: per-question first-hit ranks and the metrics."""
    folder = pool / name
    questions = load_questions(folder / "questions.jsonl")
    started = time.perf_counter()
    print(f"{name}: {len(questions)} questions", file=sys.stderr)
    ensure_index(folder / "docs", index_root / name)
    ranks, about = docqa_ranks(index_root / name, questions, model)
    base, windows = baseline_ranks(folder / "docs", questions, model, encoder, name)
    ranks.update(base)
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return {
        "questions": len(questions),
        "kinds": {k: sum(q.kind == k for q in questions) for k in KINDS},
        "docqa_index": about,
        "baseline_windows": windows,
        "metrics": {system: metrics(ranks[system]) for system in SYSTEMS},
        "first_hit_rank": {
            system: dict(zip([q.id for q in questions], ranks[system], strict=True)) for system in SYSTEMS
        },
    }


def corpus_markdown(result: dict[str, Any]) -> str:
    """One corpus's table: systems x (hit@5, MRR@5)."""
    kinds = ", ".join(f"{n} {k}" for k, n in result["kinds"].items())
    rows = [[s, result["metrics"][s]["hit@5"], result["metrics"][s]["mrr@5"]] for s in SYSTEMS]
    about = result["docqa_index"]
    return (
        f"{result['questions']} questions ({kinds}); docqa: {about['chunks']:,} chunks (index built "
        f"{about['built_at']}); baseline: {result['baseline_windows']:,} windows.\n\n"
        + common.table(["system", "hit@5", "MRR@5"], rows)
    )


def changed_files() -> list[str]:
    """Uncommitted changes under index/ and service/ (the working tree docqa ran from)."""
    cmd = ["git", "status", "--porcelain", "--", "index", "service"]
    try:
        out = subprocess.run(cmd, cwd=common.ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ["unknown"]
    return [line[3:] for line in out.splitlines()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, default=common.ROOT.parent / "shared" / "eval" / "pool")
    parser.add_argument("--index-root", type=Path, default=common.ROOT / "var" / "pool-idx")
    return parser.parse_args()


def main() -> None:
    from sentence_transformers import SentenceTransformer

    from service.config import Settings

    args = parse_args()
    pool, index_root = args.pool.resolve(), args.index_root.resolve()
    model = Settings().model_path
    encoder = SentenceTransformer(model, device="cpu")
    results = {name: run_corpus(name, pool, index_root, model, encoder) for name in CORPORA}
    info = common.machine_info()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    changed = changed_files()
    head = (
        f"Top {TOP_K}; date {info['date']}; load average after the run (1, 5, 15 min): {load}. "
        f"Questions: kinds {', '.join(KINDS)} with `expect_any`; a hit is a passage containing a phrase "
        "after `service.evaluation.normalise` (docqa: `text` or `display`). docqa ran from the working "
        f"tree; uncommitted files under index/ and service/: {', '.join(changed) or 'none'}.\n\n"
        + BASELINE_NOTE
        + " The windows are fewer and longer than docqa's chunks, which makes a phrase hit easier for them."
    )
    sections = [("Setup", head), *((name, corpus_markdown(results[name])) for name in CORPORA)]
    for heading, body in sections[1:]:
        print(f"\n## {heading}\n\n{body}")
    data = {
        "pool": str(pool),
        "index_root": str(index_root),
        "model": model,
        "top_k": TOP_K,
        "uncommitted": changed,
        "corpora": results,
    }
    md = common.write_results(
        "pool_retrieval", "Pool retrieval: docqa vs a plain baseline", sections, data, info
    )
    print(f"\nwrote {md} (+ .json)", file=sys.stderr)


if __name__ == "__main__":
    main()
