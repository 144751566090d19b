"""Lean start benchmark (issue 12): start-up, `docqa ask`, query latency and builds, ONNX vs torch.

Everything runs in one process tree on the same (shared) machine, the two runtimes interleaved run
by run, so their figures see the same load; medians are reported, with ratios.

- ``docqa serve`` with a built demo index: seconds from launch to ``/readyz`` 200, and the
  server's RSS then, with ``DOCQA_RUNTIME=auto`` (ONNX Runtime: the build exported the model)
  and ``DOCQA_RUNTIME=torch`` (sentence-transformers).
- ``docqa ask`` cold, end to end (a fresh interpreter each time), both runtimes.
- ``POST /v1/query`` on the ONNX server, one client: before each request, one bare
  sentence-transformers encode and one bare ONNX Runtime encode of the same question in this
  process (the floors), then the request; p50s and the median per-request ratios. Every question
  is sent by two clients, ``httpx`` and the standard library's ``http.client`` (thinner, so its
  figure is closer to the service's own time), in alternating order. Then single requests
  with pauses of 0, 0.2 and 1 s between them (how a user asks: the cores idle in between), and 8
  concurrent clients (errors, p50, throughput).
- Builds, cold (a fresh folder, so the embedding cache is empty), torch vs ONNX Runtime (the
  export placed in the folder beforehand, so its one-off cost is reported on its own): wall
  seconds, characters a second, peak RSS.

    .venv/bin/python bench/lean_start.py [--runs 5] [--requests 116] [--pool ../shared/eval/pool]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from http_latency import free_port, load, rss_mb  # noqa: E402

RUNTIMES = {"onnx": "auto", "torch": "torch"}


def env(runtime: str) -> dict[str, str]:
    """This environment plus the runtime, quiet logs, no rate limit, offline."""
    return {
        **os.environ,
        "PYTHONPATH": str(common.ROOT),
        "DOCQA_RUNTIME": RUNTIMES[runtime],
        "DOCQA_LOG_LEVEL": "WARNING",
        "DOCQA_RATE_LIMIT_PER_MINUTE": "0",
        "DOCQA_API_KEYS": "",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def docqa(*args: str) -> list[str]:
    """The ``docqa`` command as this interpreter runs it (``python -m service``)."""
    return [sys.executable, "-m", "service", *args]


def serve(
    index_dir: Path, corpus: Path, runtime: str, log: Path
) -> tuple[subprocess.Popen[bytes], float, str]:
    """Start ``docqa serve``; wait for ``/readyz`` 200; return the process, seconds, base URL."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        docqa("serve", "--index", str(index_dir), "--corpus", str(corpus), "--port", str(port)),
        cwd=common.ROOT,
        env=env(runtime),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    # Polled every 20 ms: the start-up time is the figure measured here.
    return proc, common.wait_ready(proc, base, log, t0, timeout=300, poll=0.02), base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_runs(index_dir: Path, corpus: Path, runs: int, tmp: Path) -> dict[str, list[dict[str, float]]]:
    """Cold starts to ``/readyz`` and RSS then, the runtimes interleaved."""
    out: dict[str, list[dict[str, float]]] = {r: [] for r in RUNTIMES}
    for i in range(runs):
        for runtime in RUNTIMES:
            proc, seconds, _ = serve(index_dir, corpus, runtime, tmp / f"serve-{runtime}-{i}.log")
            out[runtime].append({"ready_s": seconds, "rss_mb": rss_mb(proc.pid)})
            stop(proc)
    return out


def ask_runs(index_dir: Path, runs: int, questions: list[str]) -> dict[str, list[float]]:
    """Wall seconds of ``docqa ask`` in a fresh interpreter (imports, index, model, answer, print)."""
    out: dict[str, list[float]] = {r: [] for r in RUNTIMES}
    for i in range(runs):
        for runtime in RUNTIMES:
            t0 = time.perf_counter()
            subprocess.run(
                docqa("ask", questions[i % len(questions)], "--index", str(index_dir)),
                cwd=common.ROOT,
                env=env(runtime),
                check=True,
                capture_output=True,
            )
            out[runtime].append(time.perf_counter() - t0)
    return out


def floors(model: str, index_dir: Path) -> tuple[Any, Any]:
    """Bare one-question encoders in this process: sentence-transformers, and ONNX Runtime."""
    from sentence_transformers import SentenceTransformer

    from index.runtime import default_onnx_root, make_embedder

    st = SentenceTransformer(model, device="cpu")
    onnx = make_embedder(model, "onnx", onnx_root=default_onnx_root(index_dir))
    onnx.warm_up()
    return (
        lambda q: st.encode([q], normalize_embeddings=True, show_progress_bar=False),
        lambda q: onnx.encode([q]),
    )


def _raw_post(conn: http.client.HTTPConnection, body: bytes) -> int:
    """One ``POST /v1/query`` on a kept-alive HTTP/1.1 connection (the standard library's client)."""
    conn.request("POST", "/v1/query", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    json.loads(resp.read())
    return resp.status


def latency(base: str, questions: list[str], model: str, index_dir: Path, requests: int) -> dict[str, Any]:
    """One client at a time; before each request both floors on the same question, back to back.

    Each question is sent by two clients, ``httpx`` and the standard library's ``http.client`` (a
    thinner client: what is left is the service's own time), in alternating order, so neither
    always comes second (when the answer stage's token cache is warm for that question).
    """
    encode_st, encode_onnx = floors(model, index_dir)
    for q in questions[:3]:  # warm both
        encode_st(q), encode_onnx(q)
    kinds = ("httpx", "http.client")
    st_ms: dict[str, list[float]] = {k: [] for k in kinds}
    onnx_ms: dict[str, list[float]] = {k: [] for k in kinds}
    http_ms: dict[str, list[float]] = {k: [] for k in kinds}
    errors = 0
    host, port = base.removeprefix("http://").split(":")
    raw = http.client.HTTPConnection(host, int(port), timeout=60)
    with httpx.Client(base_url=base, timeout=60) as client:
        client.post("/v1/query", json={"question": questions[0]})
        _raw_post(raw, json.dumps({"question": questions[0]}).encode())
        for i in range(requests):
            q = questions[i % len(questions)]
            body = {"question": q, "top_k": 5}
            for kind in kinds if i % 2 == 0 else kinds[::-1]:
                t0 = common.now_ms()
                encode_st(q)
                t1 = common.now_ms()
                encode_onnx(q)
                t2 = common.now_ms()
                if kind == "httpx":
                    status = client.post("/v1/query", json=body).status_code
                else:
                    status = _raw_post(raw, json.dumps(body).encode())
                t3 = common.now_ms()
                st_ms[kind].append(t1 - t0)
                onnx_ms[kind].append(t2 - t1)
                http_ms[kind].append(t3 - t2)
                errors += status != 200
    raw.close()

    def ratio(floor: dict[str, list[float]], kind: str) -> float:
        return common.percentile([h / f for h, f in zip(http_ms[kind], floor[kind], strict=True)], 50)

    return {
        "requests": requests,
        "errors": errors,
        "query": common.summary(http_ms["httpx"]),
        "query_raw": common.summary(http_ms["http.client"]),
        "st_floor": common.summary(st_ms["httpx"] + st_ms["http.client"]),
        "onnx_floor": common.summary(onnx_ms["httpx"] + onnx_ms["http.client"]),
        "ratio_st": ratio(st_ms, "httpx"),
        "ratio_onnx": ratio(onnx_ms, "httpx"),
        "ratio_st_raw": ratio(st_ms, "http.client"),
        "ratio_onnx_raw": ratio(onnx_ms, "http.client"),
    }


# Seconds between requests, and how many requests at each: a user asking now and then, not a loop.
SPORADIC = ((0.0, 40), (0.2, 40), (1.0, 15))


def sporadic(base: str, questions: list[str]) -> dict[str, Any]:
    """``POST /v1/query`` one at a time with pauses between them (``http.client``): p50 by pause.

    A service mostly waits between questions; its threads and the machine's cores idle then, and
    the first work after a pause is slower than in a tight loop.
    """
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    out: dict[str, Any] = {}
    errors = 0
    for gap, count in SPORADIC:
        times = []
        for i in range(count):
            time.sleep(gap)
            t0 = common.now_ms()
            errors += _raw_post(conn, json.dumps({"question": questions[i % len(questions)]}).encode()) != 200
            times.append(common.now_ms() - t0)
        out[str(gap)] = common.summary(times)
    conn.close()
    return {"by_gap": out, "errors": errors}


def corpus_chars(index_dir: Path) -> int:
    """Characters of the documents a build indexed."""
    with (index_dir / "documents.jsonl").open(encoding="utf-8") as fh:
        return sum(len(json.loads(line)["text"]) for line in fh)


def build_runs(corpora: list[Path], export: Path, tmp: Path) -> list[dict[str, Any]]:
    """Cold builds of each corpus, torch then ONNX, in fresh folders (empty embedding cache)."""
    rows: list[dict[str, Any]] = []
    for corpus in corpora:
        row: dict[str, Any] = {"corpus": corpus.parent.name if corpus.name == "docs" else corpus.name}
        for runtime in RUNTIMES:
            parent = tmp / f"build-{row['corpus']}-{runtime}"
            if runtime == "onnx":  # the export already made once: this measures building alone
                shutil.copytree(export.parent, parent / ".docqa-onnx")
            index_dir = parent / "index"
            measured = common.run_measured(
                docqa("build", "--corpus", str(corpus), "--index", str(index_dir)), env=env(runtime)
            )
            manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["runtime"] == runtime, manifest["runtime"]
            chars = corpus_chars(index_dir)
            row[runtime] = {
                **measured,
                "chars": chars,
                "chars_per_s": chars / measured["seconds"],
                "embedded_texts": manifest["embedded_texts"],
                "build_seconds": manifest["build_seconds"],
            }
            shutil.rmtree(parent, ignore_errors=True)
        rows.append(row)
    return rows


def median(values: list[float]) -> float:
    return common.percentile(values, 50)


def start_table(starts: dict[str, list[dict[str, float]]], asks: dict[str, list[float]]) -> str:
    rows = []
    for runtime in RUNTIMES:
        ready = [r["ready_s"] for r in starts[runtime]]
        rows.append(
            [
                runtime,
                f"{median(ready):.2f} s ({min(ready):.2f}-{max(ready):.2f})",
                f"{median([r['rss_mb'] for r in starts[runtime]]):.0f} MiB",
                f"{median(asks[runtime]):.2f} s ({min(asks[runtime]):.2f}-{max(asks[runtime]):.2f})",
            ]
        )

    def of(runtime: str, key: str) -> float:
        return median([r[key] for r in starts[runtime]])

    ratio = [
        "torch / onnx",
        f"{of('torch', 'ready_s') / of('onnx', 'ready_s'):.1f}x",
        f"{of('torch', 'rss_mb') / of('onnx', 'rss_mb'):.1f}x",
        f"{median(asks['torch']) / median(asks['onnx']):.1f}x",
    ]
    headers = [
        "runtime",
        "`docqa serve` to /readyz (median, range)",
        "server RSS when ready",
        "`docqa ask` cold",
    ]
    return common.table(headers, [*rows, ratio])


def latency_table(lat: dict[str, Any], crowd: dict[str, Any]) -> str:
    rows = [
        [
            "`POST /v1/query`, 1 client (httpx)",
            f"{lat['query']['p50']:.1f}",
            f"{lat['query']['p95']:.1f}",
            lat["errors"],
            "",
        ],
        [
            "`POST /v1/query`, 1 client (http.client, kept alive)",
            f"{lat['query_raw']['p50']:.1f}",
            f"{lat['query_raw']['p95']:.1f}",
            "",
            "",
        ],
        [
            "bare sentence-transformers encode",
            f"{lat['st_floor']['p50']:.1f}",
            f"{lat['st_floor']['p95']:.1f}",
            "",
            "",
        ],
        [
            "bare ONNX Runtime encode",
            f"{lat['onnx_floor']['p50']:.1f}",
            f"{lat['onnx_floor']['p95']:.1f}",
            "",
            "",
        ],
        *[
            [
                f"`POST /v1/query`, one every {gap} s (http.client)",
                f"{figures['p50']:.1f}",
                f"{figures['p95']:.1f}",
                lat["sporadic"]["errors"] if gap == "0.0" else "",
                "",
            ]
            for gap, figures in lat.get("sporadic", {}).get("by_gap", {}).items()
        ],
        [
            f"`POST /v1/query`, {crowd['clients']} clients",
            f"{crowd['p50']:.1f}",
            f"{crowd['p95']:.1f}",
            crowd["errors"],
            f"{crowd['qps']:.1f}",
        ],
    ]
    return (
        common.table(["", "p50 ms", "p95 ms", "errors", "q/s"], rows)
        + "\n\nMedian per-request ratio of `/v1/query` (ONNX server) to the bare encode of the same "
        f"question just before it ({lat['requests']} distinct questions, each sent by both clients, "
        "errors counted over both): "
        f"with httpx **{lat['ratio_st']:.2f}x** the sentence-transformers encode and "
        f"**{lat['ratio_onnx']:.2f}x** the ONNX Runtime encode; with http.client "
        f"**{lat['ratio_st_raw']:.2f}x** and **{lat['ratio_onnx_raw']:.2f}x**. httpx spends about a "
        "millisecond of its own per request in Python; http.client much less, so its figures are "
        "closer to the service's own time."
    )


def build_table(rows: list[dict[str, Any]]) -> str:
    out = []
    for row in rows:
        t, o = row["torch"], row["onnx"]
        out.append(
            [
                row["corpus"],
                f"{t['chars']:,}",
                f"{t['seconds']:.1f} s / {t['chars_per_s']:,.0f}",
                f"{o['seconds']:.1f} s / {o['chars_per_s']:,.0f}",
                f"{t['seconds'] / o['seconds']:.2f}x",
                f"{t['peak_rss_mb']:.0f} / {o['peak_rss_mb']:.0f} MiB",
                f"{o['embedded_texts']:,}",
            ]
        )
    headers = [
        "corpus",
        "chars",
        "torch: wall / chars/s",
        "ONNX: wall / chars/s",
        "ONNX speed-up",
        "peak RSS torch / ONNX",
        "texts embedded",
    ]
    return common.table(headers, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=common.ROOT / "corpus" / "documents")
    parser.add_argument("--runs", type=int, default=5, help="cold starts and asks per runtime")
    parser.add_argument("--requests", type=int, default=116, help="single-client queries")
    parser.add_argument("--crowd", type=int, default=240, help="queries sent by the 8 clients")
    parser.add_argument("--pool", type=Path, help="pool folder (NAME/docs) for build throughput")
    parser.add_argument("--pool-corpora", default="k8s-concepts", help="comma-separated pool corpora")
    args = parser.parse_args()
    model = common.model_path()
    questions = common.question_pool()
    started = common.machine_info()
    with tempfile.TemporaryDirectory(prefix="docqa-lean-") as tmp_name:
        tmp = Path(tmp_name)
        index_dir = tmp / "demo" / "index"
        first = common.run_measured(
            docqa("build", "--corpus", str(args.corpus), "--index", str(index_dir)), env=env("onnx")
        )
        from index.runtime import default_onnx_root, find_export

        export = find_export(default_onnx_root(index_dir), model)
        if export is None:
            raise SystemExit("the build made no ONNX export")
        export_info = json.loads((export / "export.json").read_text(encoding="utf-8"))
        print(f"demo index built (with the export) in {first['seconds']:.1f} s", file=sys.stderr, flush=True)
        starts = start_runs(index_dir, args.corpus, args.runs, tmp)
        asks = ask_runs(index_dir, args.runs, questions)
        print("starts and asks done", file=sys.stderr, flush=True)
        proc, _, base = serve(index_dir, args.corpus, "onnx", tmp / "serve-latency.log")
        try:
            lat = latency(base, questions, model, index_dir, args.requests)
            lat["sporadic"] = sporadic(base, questions)
            crowd = load(base, questions, 8, args.crowd)
        finally:
            stop(proc)
        print("latency done", file=sys.stderr, flush=True)
        corpora = [args.corpus]
        if args.pool:
            corpora += [args.pool / name / "docs" for name in args.pool_corpora.split(",") if name]
        builds = build_runs(corpora, export, tmp)
    info = common.machine_info()
    info["load_average_at_start"] = started["load_average"]
    data = {"first_build": first, "export": export_info, "starts": starts, "asks": asks}
    data.update({"latency": lat, "crowd": crowd, "builds": builds})
    sections = [
        ("Start-up (demo index, 4 documents)", start_table(starts, asks)),
        ("Query latency against the encode floors", latency_table(lat, crowd)),
        ("Cold builds, torch vs ONNX Runtime", build_table(builds)),
        (
            "The export",
            f"Made once by the first build: {export_info['seconds']} s (sentence-transformers load, "
            f"`torch.onnx.export`, check of {export_info['checked_texts']} texts: largest cosine distance "
            f"{export_info['max_cosine_distance']:.1e}, largest coordinate difference "
            f"{export_info['max_abs_difference']:.1e}). "
            f"That first build took {first['seconds']:.1f} s in all.",
        ),
        (
            "Load",
            f"Load average {started['load_average']} at the start and {info['load_average']} at the end: "
            "the two cores were shared with other test runs throughout, so read the ratios (both runtimes "
            "measured interleaved, run by run), not the absolute times.",
        ),
    ]
    path = common.write_results(
        "lean_start", "Lean start: ONNX Runtime vs torch (issue 12)", sections, data, info
    )
    print(path)


if __name__ == "__main__":
    main()
