"""HTTP benchmark of the real service (issue 3): latency and throughput of ``POST /v1/query``.

Builds an index of a corpus in a subprocess (build time and peak RSS), starts the real app with
uvicorn on a free loopback port (cold start to ``/readyz``), then sends distinct questions with 1, 4
and 8 concurrent clients and prints p50/p95 latency, throughput and errors next to the p50 of one bare
model encode of a query measured in the same run. A script printing figures, never a test.

    .venv/bin/python bench/http_latency.py [--corpus corpus/documents] [--requests 120]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

BUILD_SNIPPET = (
    "import sys; from pathlib import Path; from index import build_index; "
    "build_index(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])"
)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(corpus: Path, index_dir: Path, model: str) -> dict[str, float]:
    """Build the index in a fresh interpreter; return its wall seconds and peak RSS."""
    return common.run_measured([sys.executable, "-c", BUILD_SNIPPET, str(corpus), str(index_dir), model])


def server_env(corpus: Path, index_dir: Path) -> dict[str, str]:
    """The service's environment: our index, no rate limit (the load would trip it), quiet logs."""
    env = dict(os.environ)
    env.update(
        DOCQA_CORPUS_DIR=str(corpus),
        DOCQA_INDEX_DIR=str(index_dir),
        DOCQA_RATE_LIMIT_PER_MINUTE="0",
        DOCQA_LOG_LEVEL="WARNING",
        DOCQA_API_KEYS="",
        HF_HUB_OFFLINE="1",
    )
    return env


def start_server(
    corpus: Path, index_dir: Path, port: int, log: Path
) -> tuple[subprocess.Popen[bytes], float]:
    """Start uvicorn and wait for ``/readyz`` to answer 200; return the process and cold start seconds."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "service.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=common.ROOT,
        env=server_env(corpus, index_dir),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return proc, common.wait_ready(proc, f"http://127.0.0.1:{port}", log, t0, timeout=180, poll=0.05)


def rss_mb(pid: int) -> float:
    """Current resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def bare_encoder(model: str) -> Any:
    """One bare ``SentenceTransformer.encode`` of a query in this process: the floor."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model, device="cpu")
    return lambda q: st.encode([q], normalize_embeddings=True, show_progress_bar=False)


def single_client(base: str, questions: list[str], encode: Any, requests: int) -> dict[str, Any]:
    """One client; before each request, the floor on the same question (both see the same load).

    The server is idle while the floor is measured and this process is idle while the server works,
    so neither slows the other down.
    """
    floor: list[float] = []
    lat: list[float] = []
    errors: list[str] = []
    t_start = time.perf_counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(requests):
            q = questions[i % len(questions)]
            t0 = common.now_ms()
            encode(q)
            t1 = common.now_ms()
            resp = client.post("/v1/query", json={"question": q, "top_k": 5})
            lat.append(common.now_ms() - t1)
            floor.append(t1 - t0)
            if resp.status_code != 200 or "passages" not in resp.json():
                errors.append(f"{resp.status_code} {resp.text[:200]}")
    wall = time.perf_counter() - t_start - sum(floor) / 1000.0
    run = {
        "clients": 1,
        "requests": len(lat),
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": wall,
        "qps": len(lat) / wall,
        **common.summary(lat),
    }
    run["ratio_median"] = common.percentile([x / f for x, f in zip(lat, floor, strict=True)], 50)
    return {"run": run, "floor": common.summary(floor)}


def load(base: str, questions: list[str], clients: int, requests: int) -> dict[str, Any]:
    """Send ``requests`` queries from ``clients`` threads; latencies, errors and throughput."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            for i in counter:
                question = questions[i % len(questions)]
                t0 = common.now_ms()
                try:
                    resp = client.post("/v1/query", json={"question": question, "top_k": 5})
                    ok = resp.status_code == 200 and "passages" in resp.json()
                    detail = f"{resp.status_code} {resp.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, repr(exc)
                ms = common.now_ms() - t0
                with lock:
                    latencies.append(ms)
                    if not ok:
                        errors.append(detail)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": wall,
        "qps": len(latencies) / wall,
        **common.summary(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=common.ROOT / "corpus" / "documents")
    parser.add_argument("--requests", type=int, default=120, help="queries per concurrency level")
    parser.add_argument("--clients", default="1,4,8")
    args = parser.parse_args()
    model = common.model_path()
    questions = common.question_pool()
    with tempfile.TemporaryDirectory(prefix="docqa-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        print(f"building the index of {args.corpus} ...", flush=True)
        built = build(args.corpus.resolve(), index_dir, model)
        print(f"  {built['seconds']:.1f} s, peak RSS {built['peak_rss_mb']:.0f} MiB", flush=True)
        port = free_port()
        proc, cold = start_server(args.corpus.resolve(), index_dir, port, Path(tmp) / "server.log")
        try:
            print(f"cold start to /readyz: {cold:.2f} s; measuring the encode floor ...", flush=True)
            rss_ready = rss_mb(proc.pid)
            encode = bare_encoder(model)
            base = f"http://127.0.0.1:{port}"
            load(base, questions[:8], 1, 8)  # warm-up: first-request costs out of the figures
            for q in questions[:4]:
                encode(q)
            single = single_client(base, questions, encode, args.requests)
            floor, runs = single["floor"], [single["run"]]
            print(f"  1 client: p50 {runs[0]['p50']:.1f} ms, floor p50 {floor['p50']:.1f} ms", flush=True)
            for clients in (int(c) for c in args.clients.split(",") if c != "1"):
                runs.append(load(base, questions, clients, args.requests))
                print(
                    f"  {clients} clients: p50 {runs[-1]['p50']:.1f} ms, {runs[-1]['qps']:.1f} q/s",
                    flush=True,
                )
            rss_after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report(args, built, cold, rss_ready, rss_after, floor, runs)


def report(
    args: argparse.Namespace,
    built: dict[str, float],
    cold: float,
    rss_ready: float,
    rss_after: float,
    floor: dict[str, float],
    runs: list[dict[str, Any]],
) -> None:
    """Print the tables and write them to bench/results."""
    fp50 = floor["p50"]
    lat = common.table(
        ["clients", "requests", "errors", "p50 ms", "p95 ms", "p50 / encode floor", "throughput q/s"],
        [
            [
                r["clients"],
                r["requests"],
                r["errors"],
                r["p50"],
                r["p95"],
                f"{r['p50'] / fp50:.2f}x",
                r["qps"],
            ]
            for r in runs
        ],
    )
    ops = common.table(
        ["figure", "value"],
        [
            [
                "encode floor p50 / p95 (bare encode of the same query before each 1-client request)",
                f"{fp50:.2f} / {floor['p95']:.2f} ms",
            ],
            [
                "1 client: median of per-request (HTTP latency / floor of the same question)",
                f"{runs[0].get('ratio_median', float('nan')):.2f}x",
            ],
            ["index build (subprocess, corpus " + str(args.corpus.name) + ")", f"{built['seconds']:.2f} s"],
            ["index build peak RSS", f"{built['peak_rss_mb']:.0f} MiB"],
            ["cold start to /readyz 200 (prebuilt index)", f"{cold:.2f} s"],
            ["server RSS when ready / after the load", f"{rss_ready:.0f} / {rss_after:.0f} MiB"],
        ],
    )
    print("\nPOST /v1/query over HTTP (real uvicorn, loopback), distinct questions:\n" + lat)
    print("\n" + ops)
    path = common.write_results(
        "http_latency",
        "HTTP latency and throughput of POST /v1/query",
        [("Latency and throughput", lat), ("Floor, start-up, build", ops)],
        {
            "encode_floor": floor,
            "build": built,
            "cold_start_s": cold,
            "rss_ready_mb": rss_ready,
            "rss_after_mb": rss_after,
            "runs": runs,
            "corpus": str(args.corpus),
        },
    )
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
