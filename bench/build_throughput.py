"""Build throughput: ``docqa build`` against a Haystack indexing pipeline on the same files, same run.

For each pool corpus (``--pool``: 18f-handbook, k8s-concepts, github-site-policy, each ``NAME/docs``):

- **docqa first build**: ``docqa build --corpus NAME/docs --index <tmp>/NAME/first/index`` in a
  subprocess, in a fresh tmp parent folder: nothing made before, so the build also exports the model to
  ONNX once (``<index parent>/.docqa-onnx``) besides embedding with an empty cache. Wall-clock of the
  whole process (interpreter start, imports, reading, chunking, export, model load, embedding,
  FAISS + BM25, writing).
- **docqa cold**: the same corpus into ``<tmp>/NAME/index``, a folder holding a copy of that export
  but no embedding cache (``index.store.default_embed_cache``, ``<index parent>/.docqa-embeddings``):
  a new corpus on a machine where docqa has built before. Every text is embedded.
- **docqa unchanged**: the same command again (cache warm, nothing changed).
- **docqa 1 % change**: the corpus copied to ``<tmp>/NAME/docs``, indexed once into ``<tmp>/NAME/edited``
  (the shared cache makes that a warm build, reported as well), then one file in a hundred (at least
  one) gets a sentence appended, and the rebuild is timed.
- **peer**: ``bench/peer_build.py`` in ``bench/.venv-peer`` (created when missing, as ``bench/peer.py``
  does): TextFileToDocument -> DocumentSplitter(word, 200, overlap 0) ->
  SentenceTransformersDocumentEmbedder (docqa's model path, CPU, batch 32) -> DocumentWriter into an
  InMemoryDocumentStore, timed the same way (the whole subprocess: model load included for both);
  its in-process model load and pipeline run are reported too.

Texts embedded: docqa embeds its answer units (sentences, items, rows), one heading text per section and
the few chunks without units, and composes chunk vectors from those (`index.chunk_vectors`); the peer
embeds its 200-word windows.
Counts come from the index's manifest.json and the build's own summary line (``embedded N new texts,
M from cache``), which also covers builds that found nothing to do and left the manifest as it was.

    .venv/bin/python bench/build_throughput.py [--pool ../shared/eval/pool]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CORPORA = ("18f-handbook", "k8s-concepts", "github-site-policy")
DOCQA = common.ROOT / ".venv" / "bin" / "docqa"
PEER_PY = common.ROOT / "bench" / ".venv-peer" / "bin" / "python"
APPENDED = "\n\nThis sentence was appended by the build throughput benchmark to change the file.\n"
IMPORT_RETRIES = 5  # other work may leave docqa briefly unimportable; wait and retry
EMBEDDED = re.compile(r"embedded (\d+) new texts, (\d+) from cache")
CHANGES = re.compile(r"added (\d+), changed (\d+), removed (\d+), unchanged (\d+) files")
BUILDS = {
    "first": "first build (export)",
    "cold": "cold",
    "unchanged": "unchanged",
    "copy_first": "copy, first build",
    "changed": "1 % change",
}
METHOD = (
    "Load average before {load_before}, after {load_after} (2 shared cores). Both systems are timed as a "
    "subprocess from start to exit: interpreter start, imports, reading, model load and embedding included "
    "for both (docqa/peer is the ratio of those times). CPU s is user + system time, which other work on "
    "the cores inflates too, though less than wall time; 'load after' is the 1-minute load average when a "
    "build ended. chars are the files' characters as UTF-8 text. docqa embeds its answer units "
    "(sentences, items, rows), one heading text a section and the chunks without units, and composes "
    "chunk vectors from those ('tokens whole chunks would add' is what embedding every chunk's text too "
    "would cost, as builds did before); docqa cold reuses the ONNX export its first build made, as every "
    "build after the first on a machine does; the peer embeds 200-word windows (overlap 0), which "
    "MiniLM cuts at 256 tokens like any longer text, so tokens count what the model actually reads. "
    "Both run all-MiniLM-L6-v2 from "
    "{model} on CPU, batch size 32. Peer: {peer_note}. The 1 % change rebuild works on a copy of the "
    "corpus whose index was first built with the cache already warm (row 'copy, first build'). The "
    "build logs' last lines are in the JSON."
)
# docqa's progress line at the end of each stage (stderr not a terminal): seconds since the build began
STAGE = re.compile(r"^(\w[\w ]*?)\s+\d+/\d+\s+100%\s+([\d.]+)s$", re.MULTILINE)


def corpus_files(docs: Path) -> list[Path]:
    """Every file under a corpus folder (hidden ones aside), sorted."""
    return sorted(
        p for p in docs.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.parts[-1:])
    )


def embed_cache_dir(index_dir: Path) -> Path:
    """Where docqa keeps the embedding cache of `index_dir` (asked of docqa, documented default else)."""
    try:
        from index.store import default_embed_cache

        return default_embed_cache(index_dir)
    except ImportError:  # index/ is being edited: the location its docstring and README give
        return Path(os.path.abspath(index_dir)).parent / ".docqa-embeddings"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def timed(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run `cmd` with stdout and stderr into `log`: exit code, wall and CPU seconds, peak RSS (MiB).

    CPU seconds are user + system time of the process and its children. Other work on the 2 cores
    inflates them too (torch's threads spin while they wait for each other), though less than wall
    seconds; the 1-minute load average at the end tells how shared the cores were.
    """
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=common.ROOT, env=_env(), stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    return {
        "code": os.waitstatus_to_exitcode(status),
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def stage_seconds(log: str) -> dict[str, float]:
    """Seconds each stage of a docqa build took, from its progress lines (model load is in ``embedding``)."""
    out: dict[str, float] = {}
    before = 0.0
    for stage, until in STAGE.findall(log):
        out[stage] = round(float(until) - before, 1)
        before = float(until)
    return out


def docqa_tokens(index_dir: Path, model: str) -> dict[str, Any]:
    """Token counts of the distinct texts a docqa build embedded: answer units, heading texts, and
    the texts of chunks without units (`index.chunk_vectors.embed_chunks_and_units`)."""
    from index.chunk_vectors import chunk_texts
    from index.store import read_bundle

    bundle = read_bundle(index_dir)
    titles = {d.doc_id: d.title for d in bundle["documents"]}
    units = bundle["unit_texts"]
    headings, alone = chunk_texts(bundle["chunks"], titles, bundle["units"][:, 0].astype(np.int64))
    chunks = list(dict.fromkeys([*headings, *(bundle["chunks"][i].embed_text for i in alone)]))
    every = token_stats(list(dict.fromkeys([*units, *chunks])), model)
    return {
        **every,
        "chunks": token_stats(chunks, model),
        "units": token_stats(list(dict.fromkeys(units)), model),
        "whole_chunks": token_stats(list(dict.fromkeys(c.embed_text for c in bundle["chunks"])), model),
    }


def token_stats(texts: list[str], model: str) -> dict[str, int]:
    """Texts, tokens the model reads of them (cut at its max_seq_length) and how many were cut."""
    from transformers import AutoTokenizer

    limit = int(json.loads((Path(model) / "sentence_bert_config.json").read_text())["max_seq_length"])
    tokenizer = AutoTokenizer.from_pretrained(model)
    lengths = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
    return {
        "texts": len(texts),
        "tokens": sum(min(n, limit) for n in lengths),
        "tokens_uncut": sum(lengths),
        "truncated": sum(n > limit for n in lengths),
        "max_seq_length": limit,
    }


def _changes(match: re.Match[str] | None) -> dict[str, int] | None:
    keys = ("added", "changed", "removed", "unchanged")
    return dict(zip(keys, map(int, match.groups()), strict=True)) if match else None


def docqa_build(corpus: Path, index_dir: Path) -> dict[str, Any]:
    """One ``docqa build`` subprocess: wall seconds, peak RSS, and what it says and records it did."""
    log = index_dir.parent / f"{index_dir.name}.log"
    cmd = [str(DOCQA), "build", "--corpus", str(corpus), "--index", str(index_dir)]
    for attempt in range(IMPORT_RETRIES + 1):
        run = timed(cmd, log)
        text = log.read_text(errors="replace")
        if run["code"] == 0:
            break
        if "ImportError" not in text or attempt == IMPORT_RETRIES:
            raise RuntimeError(f"{' '.join(cmd)} failed ({run['code']}):\n{text[-3000:]}")
        print(f"    docqa build could not import (others are editing docqa?); retry in 60 s:\n{text[-400:]}")
        time.sleep(60)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    embedded, changes = EMBEDDED.search(text), CHANGES.search(text)
    return {
        **run,
        "up_to_date": "up to date" in text,
        "said_embedded": int(embedded[1]) if embedded else None,
        "said_cached": int(embedded[2]) if embedded else None,
        "said_changes": _changes(changes),
        "manifest": {
            k: manifest.get(k)
            for k in (
                "documents",
                "chunks",
                "answer_units",
                "embedded_texts",
                "cached_texts",
                "reused_documents",
                "build_seconds",
                "built_at",
            )
        },
        "stages_s": stage_seconds(text),
        "log_tail": text.strip().splitlines()[-6:],
    }


def edit_one_percent(docs: Path) -> list[str]:
    """Append a sentence to one file in a hundred (at least one), spread evenly; the files changed."""
    files = corpus_files(docs)
    count = max(1, round(len(files) / 100))
    chosen = [files[(2 * i + 1) * len(files) // (2 * count)] for i in range(count)]
    for path in chosen:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(APPENDED)
    return [str(p.relative_to(docs)) for p in chosen]


def docqa_runs(docs: Path, work: Path) -> dict[str, Any]:
    """Cold build, unchanged rebuild, and the 1 %-change rebuild of a copy, each in a subprocess."""
    first_dir, index_dir = work / "first" / "index", work / "index"
    first_dir.parent.mkdir()
    print("    docqa first build (ONNX export included) ...", flush=True)
    first = docqa_build(docs, first_dir)
    export = first_dir.parent / ".docqa-onnx"
    if export.is_dir():
        shutil.copytree(export, work / ".docqa-onnx")
    cache = embed_cache_dir(index_dir)
    if cache.exists():
        raise RuntimeError(f"{cache} exists before the cold build: not a cold cache")
    print(f"      {first['seconds']:.1f} s; cold build (export made, empty embedding cache) ...", flush=True)
    cold = docqa_build(docs, index_dir)
    cold["cache_mb"] = common.dir_size_mb(cache) if cache.exists() else 0.0
    cold["tokens"] = docqa_tokens(index_dir, common.model_path())
    print(f"      {cold['seconds']:.1f} s; unchanged rebuild ...", flush=True)
    unchanged = docqa_build(docs, index_dir)
    copy = work / "docs"
    shutil.copytree(docs, copy)  # copy2 keeps the times, as a checkout of the same files would
    print(f"      {unchanged['seconds']:.1f} s; copy, first build of the copy (warm cache) ...", flush=True)
    copy_first = docqa_build(copy, work / "edited")
    edited = edit_one_percent(copy)
    time.sleep(3)  # past docqa's racy-timestamp window, as an edit some seconds before a build would be
    print(f"      {copy_first['seconds']:.1f} s; rebuild after editing {edited} ...", flush=True)
    changed = docqa_build(copy, work / "edited")
    print(f"      {changed['seconds']:.1f} s", flush=True)
    return {
        "cache_dir": str(cache),
        "first": first,
        "cold": cold,
        "unchanged": unchanged,
        "copy_first": copy_first,
        "edited_files": edited,
        "changed": changed,
    }


def ensure_peer() -> str | None:
    """Create the peer venv when missing (``bench/peer.py``); None when ready, else why not."""
    import peer

    try:
        peer.ensure_peer_venv()
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"could not create bench/.venv-peer ({exc}); the peer was not run"
    return None


def peer_run(files: list[Path], model: str, work: Path) -> dict[str, Any]:
    """The Haystack pipeline on the files in a peer-venv subprocess: wall seconds plus its own timings."""
    job, out, log = work / "peer-job.json", work / "peer-result.json", work / "peer.log"
    job.write_text(
        json.dumps(
            {
                "model": model,
                "files": [str(f) for f in files],
                "split_length": 200,
                "batch_size": 32,
                "windows_file": str(work / "peer-windows.json"),
            }
        )
    )
    cmd = [str(PEER_PY), str(common.ROOT / "bench" / "peer_build.py"), str(job), str(out)]
    print("    peer (Haystack) pipeline ...", flush=True)
    run = timed(cmd, log)
    if run["code"] != 0:
        raise RuntimeError(f"the peer failed ({run['code']}):\n{log.read_text(errors='replace')[-3000:]}")
    print(f"      {run['seconds']:.1f} s", flush=True)
    windows = json.loads((work / "peer-windows.json").read_text(encoding="utf-8"))
    return {**run, "tokens": token_stats(windows, model), **json.loads(out.read_text())}


def measure_corpus(name: str, pool: Path, model: str, tmp: Path, with_peer: bool) -> dict[str, Any]:
    """Every measurement of one corpus, in a fresh tmp folder of its own."""
    docs = (pool / name / "docs").resolve()
    files = corpus_files(docs)
    chars = sum(len(f.read_text(encoding="utf-8", errors="replace")) for f in files)
    work = tmp / name
    work.mkdir()
    print(f"{name}: {len(files)} files, {chars:,} chars", flush=True)
    row: dict[str, Any] = {"corpus": name, "files": len(files), "chars": chars}
    row["docqa"] = docqa_runs(docs, work)
    row["peer"], row["peer_error"] = None, None
    if with_peer:
        try:
            row["peer"] = peer_run(files, model, work)
        except RuntimeError as exc:  # report it and keep docqa's figures
            print(f"    {exc}", flush=True)
            row["peer_error"] = str(exc)
    return row


def texts_of(run: dict[str, Any]) -> int:
    """Texts docqa embedded in a build, by its own summary line (the manifest's count as a fallback)."""
    said = run["said_embedded"]
    return int(said if said is not None else run["manifest"].get("embedded_texts") or 0)


def main_table(rows: list[dict[str, Any]]) -> str:
    """The per-corpus throughput table."""
    out = []
    for r in rows:
        cold, peer = r["docqa"]["cold"], r["peer"]
        m = cold["manifest"]
        out.append(
            [
                r["corpus"],
                r["files"],
                r["chars"],
                round(r["docqa"]["first"]["seconds"], 1),
                round(cold["seconds"], 1),
                round(r["chars"] / cold["seconds"]),
                round(r["docqa"]["unchanged"]["seconds"], 2),
                round(r["docqa"]["changed"]["seconds"], 2),
                round(peer["seconds"], 1) if peer else "n/a",
                round(r["chars"] / peer["seconds"]) if peer else "n/a",
                f"{cold['seconds'] / peer['seconds']:.2f}x" if peer else "n/a",
                f"{cold['cpu_s'] / peer['cpu_s']:.2f}x" if peer else "n/a",
                f"{texts_of(cold):,} (of {m['chunks']:,} chunks + {m['answer_units']:,} units)",
                f"{peer['embedded']:,} windows" if peer else "n/a",
            ]
        )
    heads = ["corpus", "files", "chars", "docqa first build s (export)", "docqa cold s", "docqa chars/s"]
    heads += ["docqa unchanged s"]
    heads += ["docqa 1 % change s", "peer s", "peer chars/s", "docqa/peer wall", "docqa/peer CPU"]
    heads += ["docqa embedded", "peer embedded"]
    return common.table(heads, out)


def rebuild_table(rows: list[dict[str, Any]]) -> str:
    """What each docqa build did: seconds, files changed, texts embedded and found in the cache."""
    out = []
    for r in rows:
        for key, label in BUILDS.items():
            run = r["docqa"][key]
            ch = run["said_changes"] or {}
            files = f"+{ch.get('added', 0)} ~{ch.get('changed', 0)} -{ch.get('removed', 0)}"
            up = "yes" if run["up_to_date"] else "no"
            seconds = [round(run["seconds"], 2), run["manifest"]["build_seconds"], up, files]
            out.append([r["corpus"], label, *seconds, run["said_embedded"], run["said_cached"]])
            out[-1] += [round(run["cpu_s"], 1), round(run["peak_rss_mb"]), run["load_1min_after"]]
    heads = [
        "corpus",
        "build",
        "wall s",
        "manifest build_seconds",
        "up to date",
        "files +added ~changed -removed",
    ]
    return common.table([*heads, "embedded", "from cache", "CPU s", "peak RSS MiB", "load after"], out)


def peer_table(rows: list[dict[str, Any]]) -> str:
    """Where the peer's time goes, in its own process."""
    out = [
        [
            r["corpus"],
            round(p["seconds"], 1),
            round(p["cpu_s"], 1),
            round(p["import_s"], 1),
            round(p["warm_up_s"], 1),
            round(p["run_s"], 1),
            p["documents"],
            p["windows"],
            round(p["window_chars"] / max(p["windows"], 1)),
            round(p["peak_rss_mb"]),
            p["load_1min_after"],
        ]
        for r in rows
        if (p := r["peer"])
    ]
    heads = ["corpus", "process s", "CPU s", "imports s", "model load s", "pipeline run s", "documents"]
    return common.table([*heads, "windows", "chars/window", "peak RSS MiB", "load after"], out)


def work_table(rows: list[dict[str, Any]]) -> str:
    """How much each system embedded in its cold build, and how long embedding took."""
    out = []
    for r in rows:
        cold, p = r["docqa"]["cold"], r["peer"]
        ours, st = cold["tokens"], cold["stages_s"]
        out.append(
            [
                r["corpus"],
                ours["texts"],
                ours["tokens"],
                f"{ours['chunks']['truncated']} headings/chunks, {ours['units']['truncated']} units",
                f"{ours['whole_chunks']['tokens']:,}",
                st.get("chunking", "n/a"),
                st.get("embedding", "n/a"),
                st.get("embedding sentences", "n/a"),
                st.get("indexing", "n/a"),
                p["tokens"]["texts"] if p else "n/a",
                f"{p['tokens']['tokens']:,} of {p['tokens']['tokens_uncut']:,}" if p else "n/a",
                p["tokens"]["truncated"] if p else "n/a",
                round(p["run_s"], 1) if p else "n/a",
            ]
        )
    heads = ["corpus", "docqa texts", "docqa tokens", "docqa texts cut at 256", "docqa chunking s"]
    heads.insert(4, "tokens whole chunks would add")
    heads += ["docqa embed s (+ model load)", "docqa embed units s", "docqa FAISS+BM25+write s"]
    heads += ["peer windows", "peer tokens", "peer windows cut at 256", "peer pipeline run s"]
    return common.table(heads, out)


def findings(rows: list[dict[str, Any]]) -> list[str]:
    """Anything in docqa's builds that does not look as it should."""
    notes = []
    for r in rows:
        d, name = r["docqa"], r["corpus"]
        if texts_of(d["unchanged"]) or not d["unchanged"]["up_to_date"]:
            notes.append(f"{name}: the unchanged rebuild was not a no-op ({d['unchanged']['log_tail']})")
        if texts_of(d["copy_first"]):
            notes.append(
                f"{name}: the first build of an identical copy embedded {texts_of(d['copy_first'])} texts"
            )
        changed = (d["changed"]["said_changes"] or {}).get("changed")
        if changed != len(d["edited_files"]):
            notes.append(
                f"{name}: {len(d['edited_files'])} files edited, the build reports {changed} changed"
            )
        reused = d["changed"]["manifest"].get("reused_documents")
        if reused is not None and reused != d["changed"]["manifest"]["documents"] - len(d["edited_files"]):
            notes.append(f"{name}: the 1 % change rebuild reused {reused} documents' chunks")
        cut = d["cold"]["tokens"]["chunks"]
        if cut["truncated"]:
            notes.append(
                f"{name}: {cut['truncated']} of {cut['texts']} chunk texts exceed the model's "
                f"{cut['max_seq_length']} tokens, so their vectors miss their tail"
            )
        busy = [("docqa cold", d["cold"]), ("peer", r["peer"] or {})]
        for label, run in busy:
            if run.get("load_1min_after", 0) > (os.cpu_count() or 1):
                notes.append(
                    f"{name}: the {label} build ended with a 1-minute load of {run['load_1min_after']} on "
                    f"{os.cpu_count()} cores: other work slowed it"
                )
        if r.get("peer_error"):
            notes.append(f"{name}: the peer failed: {r['peer_error'][:300]}")
        if d["cold"]["said_cached"]:
            notes.append(f"{name}: the cold build found {d['cold']['said_cached']} texts in a cache")
    return notes


def report(rows: list[dict[str, Any]], info: dict[str, Any], extra: dict[str, Any]) -> Path:
    """Print the tables and write them to ``bench/results/<date>_build_throughput.md`` (+ .json)."""
    versions = next((r["peer"]["versions"] for r in rows if r["peer"]), {})
    peer_note = extra["peer_error"] or ", ".join(f"{k} {v}" for k, v in versions.items()) or "n/a"
    notes = findings(rows)
    sections = [
        ("Throughput (one run each; seconds are wall-clock of the whole build process)", main_table(rows)),
        ("docqa builds, one by one", rebuild_table(rows)),
        ("Work embedded by the cold builds (tokens as the model reads them)", work_table(rows)),
        ("Peer, inside its process", peer_table(rows) if not extra["peer_error"] else extra["peer_error"]),
        (
            "How it was measured",
            METHOD.format(**extra, peer_note=peer_note),
        ),
        ("Findings", "\n".join(f"- {n}" for n in notes) or "- nothing unexpected"),
    ]
    for heading, body in sections:
        print(f"\n{heading}\n{body}")
    data = {**extra, "corpora": rows, "findings": notes}
    return common.write_results(
        "build_throughput", "Build throughput: docqa vs Haystack", sections, data, info
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, default=common.ROOT.parent / "shared" / "eval" / "pool")
    parser.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated corpus names")
    parser.add_argument("--no-peer", action="store_true", help="measure docqa only")
    args = parser.parse_args()
    info = common.machine_info()  # its load average is the one before the run
    extra: dict[str, Any] = {"load_before": info["load_average"], "model": common.model_path()}
    extra["peer_error"] = "skipped (--no-peer)" if args.no_peer else ensure_peer()
    rows = []
    with tempfile.TemporaryDirectory(prefix="docqa-build-bench-") as tmp:
        for name in args.corpora.split(","):
            rows.append(
                measure_corpus(name, args.pool, extra["model"], Path(tmp), extra["peer_error"] is None)
            )
    extra["load_after"] = [round(x, 2) for x in os.getloadavg()]
    path = report(rows, info, extra)
    print(f"\nwritten: {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
