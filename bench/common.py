"""Shared helpers of the benchmark scripts: timing, percentiles, tables, machine info, result files.

Benchmarks print figures; they never assert on time. Every script writes its tables to
``bench/results/<date>_<name>.md`` and the raw numbers to ``.json`` next to it, with the machine
they were measured on (``nproc``, CPU model, library versions, git commit).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / "bench" / ".cache"

# Model weights cannot be downloaded here: everything loads the packaged MiniLM by path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LIBRARIES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "faiss-cpu",
    "numpy",
    "scipy",
    "rank-bm25",
    "PyStemmer",
    "fastapi",
    "uvicorn",
    "httpx",
    "haystack-ai",
)


def model_path() -> str:
    """The embedding model docqa loads (the packaged MiniLM unless DOCQA_MODEL says otherwise)."""
    from service.config import Settings

    return Settings().model_path


def now_ms() -> float:
    """A monotonic clock in milliseconds."""
    return time.perf_counter() * 1000.0


def time_calls(fn: Callable[[Any], object], args: Iterable[Any], *, warmup: int = 2) -> list[float]:
    """Call ``fn(arg)`` for every argument and return each call's wall time in milliseconds."""
    items = list(args)
    for arg in items[:warmup]:
        fn(arg)
    out: list[float] = []
    for arg in items:
        t0 = now_ms()
        fn(arg)
        out.append(now_ms() - t0)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, mean, min and count of a list of milliseconds."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values) if values else float("nan"),
        "min": min(values) if values else float("nan"),
    }


def fmt(value: object, digits: int = 2) -> str:
    """Format a table cell: floats rounded, everything else as text."""
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-markdown table (readable in a terminal too)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(c) for c in row) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of the libraries that matter to the figures (absent ones omitted)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_commit() -> str:
    """The short commit the benchmark ran on (``+dirty`` when the tree has changes)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        return sha
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    """Where and with what the figures were measured."""
    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:
        threads = -1
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch_threads": threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "git_commit": git_commit(),
        "libraries": library_versions(),
    }


def machine_markdown(info: dict[str, Any]) -> str:
    """The machine block that heads every result file."""
    libs = ", ".join(f"{k} {v}" for k, v in info["libraries"].items())
    return (
        f"- date: {info['date']}; git commit: {info['git_commit']}\n"
        f"- machine: nproc={info['nproc']}, CPU: {info['cpu']}, {info['memory_gib']} GiB RAM, "
        f"torch threads {info['torch_threads']}, load average {info['load_average']} "
        "(the 2 cores are shared with other work: figures carry that noise)\n"
        f"- python {info['python']} on {info['platform']}\n- libraries: {libs}\n"
    )


def write_results(
    name: str,
    title: str,
    sections: Sequence[tuple[str, str]],
    data: dict[str, Any],
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``bench/results/<date>_<name>.md`` (+ ``.json``) and return the markdown path.

    Args:
        name: Short benchmark name (``http_latency``).
        title: Heading of the markdown file.
        sections: (heading, markdown body) pairs, printed in order.
        data: Raw figures, stored in the JSON file beside the machine info.
        info: The machine info of the run (re-rendering saved figures); measured now when None.
    """
    info = info or machine_info()
    RESULTS.mkdir(parents=True, exist_ok=True)
    day = info["date"][:10]
    md = RESULTS / f"{day}_{name}.md"
    parts = [f"# {title}\n", machine_markdown(info)]
    for heading, body in sections:
        parts.append(f"\n## {heading}\n\n{body}\n")
    md.write_text("\n".join(parts))
    md.with_suffix(".json").write_text(json.dumps({"machine": info, **data}, indent=2, default=str) + "\n")
    return md


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def run_measured(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, quiet: bool = True
) -> dict[str, float]:
    """Run a command to completion; return its wall seconds and peak RSS (MiB) via ``wait4``.

    Args:
        cmd: The command.
        env: Its environment (this one's when None).
        cwd: Its working directory.
        quiet: Capture its stderr (shown only on failure) instead of passing it through.

    Raises:
        RuntimeError: if the command fails.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
    )
    err = proc.stderr.read() if proc.stderr is not None else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024.0}


def dir_size_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024.0 / 1024.0


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def seed_questions(path: Path | None = None) -> list[dict[str, Any]]:
    """The dev question set (``tests/data/eval/dev_questions.jsonl``)."""
    return load_jsonl(path or ROOT / "tests" / "data" / "eval" / "dev_questions.jsonl")


def latency_questions() -> list[str]:
    """Realistic single-turn questions for latency runs: the dev set's questions, chat turns included."""
    out: list[str] = []
    for row in seed_questions():
        if "question" in row:
            out.append(row["question"])
        out.extend(row.get("turns", []))
    return out


def load_scifact(
    folder: Path,
) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, dict[str, dict[str, int]]]]:
    """Read BEIR SciFact: ``(corpus by _id, queries by _id, qrels by split -> query -> doc -> rel)``.

    Raises:
        SystemExit: when the folder does not hold the BEIR files.
    """
    if not (folder / "corpus.jsonl").is_file():
        raise SystemExit(f"{folder} has no corpus.jsonl: pass the BEIR SciFact folder")
    corpus = {
        row["_id"]: {"title": row.get("title", ""), "text": row["text"]}
        for row in load_jsonl(folder / "corpus.jsonl")
    }
    queries = {row["_id"]: row["text"] for row in load_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for split_file in sorted((folder / "qrels").glob("*.tsv")):
        split: dict[str, dict[str, int]] = {}
        for line in split_file.read_text().splitlines()[1:]:
            qid, did, score = line.split("\t")
            split.setdefault(qid, {})[did] = int(score)
        qrels[split_file.stem] = split
    return corpus, queries, qrels


def with_ratio(value: float, floor: float) -> str:
    """``12.3 ms (1.4x)``: a time and its ratio to the encode floor."""
    return f"{value:.2f} ms ({value / floor:.2f}x)" if floor > 0 else f"{value:.2f} ms"


_ROLES = (
    "chief operating officer",
    "COO",
    "chief commercial officer",
    "chief customer officer",
    "chief revenue officer",
    "CRO",
    "CCO",
    "chief executive",
)
_ASPECTS = (
    "What does a {r} do?",
    "Who does the {r} report to?",
    "How much does a {r} earn?",
    "What skills does a {r} need?",
    "How is the success of a {r} measured?",
    "What is the difference between a {r} and a CEO?",
    "When should a company hire a {r}?",
    "What background does a {r} usually have?",
    "what are the main responsibilities of the {r}",
    "Which teams work with the {r}?",
    "Is a {r} part of the executive team?",
    "What does a {r} do in a startup?",
    "What is a fractional {r}?",
)


def question_pool() -> list[str]:
    """Distinct realistic questions (dev set + role x aspect templates), so no cache can flatter a run."""
    seen: dict[str, None] = dict.fromkeys(latency_questions())
    for aspect in _ASPECTS:
        for role in _ROLES:
            seen.setdefault(aspect.format(r=role), None)
    return list(seen)


def wait_ready(
    proc: subprocess.Popen[bytes], base: str, log: Path, t0: float, timeout: float, poll: float
) -> float:
    """Poll ``base/readyz`` until it answers 200; return the seconds since `t0` (perf_counter).

    Exits with the server log's tail when the process ends first, or when `timeout` passes.
    """
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(poll)
    proc.terminate()
    raise SystemExit(f"/readyz not 200 after {timeout:.0f} s; see {log}")
