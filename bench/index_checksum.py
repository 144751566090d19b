"""What index integrity costs at 100 k chunks: checksums at build time, verification at load time.

A synthetic index of ``--chunks`` chunks is written to disk by the product's own writer
(`index.bundle.write_bundle`, which checksums every file and seals the manifest), with the
product's file layout and realistic sizes: documents of generated sentences, ~4 sentences (answer
units) a chunk, 384-dim float16 unit vectors, a FAISS file of float32 chunk vectors, a BM25 matrix
of ~80 terms a chunk. Two shortcuts keep the run to a few minutes, neither changes what is hashed:
the FAISS index is the exact (flat) kind (HNSW, which the product uses at this size, takes minutes
to build and its file is ~10 % larger — the cost scales with bytes, see MB/s), and the BM25 matrix
is filled with random weights instead of being computed from the text.

Then, on a warm page cache (the files were just written — a cold cache adds the disk read, which
the loader pays anyway and which verifying first moves ahead of parsing):

- build: `file_checksums` over the written files, the share of `write_bundle`;
- load: `read_bundle` (seal, every checksum, parse, structural checks) against parsing alone,
  and each check on its own;
- sha256 against blake2b, sha1 and md5 over the same files (why sha256).

    .venv/bin/python bench/index_checksum.py [--chunks 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SEED = 20261130
DIM = 384
WORDS_PER_SENTENCE = 20
SENTENCES_PER_CHUNK = 4
CHUNKS_PER_DOCUMENT = 50
TERMS_PER_CHUNK = 80
VOCAB = 30_000


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return np.array(["".join(rng.choice(letters, size=rng.integers(3, 10))) for _ in range(5000)])


def synthetic_parts(n_chunks: int) -> tuple[Any, dict[str, Any]]:
    """Documents, chunks, units, vectors, dense and sparse indexes of `n_chunks` chunks, all consistent."""
    from corpus.models import Document
    from index.bundle import BundleParts
    from index.dense import DenseIndex
    from index.sparse import SparseIndex
    from index.types import Chunk

    rng = np.random.default_rng(SEED)
    vocab = _vocabulary(rng)
    n_docs = max(1, n_chunks // CHUNKS_PER_DOCUMENT)
    documents, chunks, units, unit_texts = [], [], [], []
    words = rng.integers(0, len(vocab), size=(n_chunks * SENTENCES_PER_CHUNK, WORDS_PER_SENTENCE))
    sentence = 0
    for d in range(n_docs):
        per_doc = n_chunks // n_docs + (1 if d < n_chunks % n_docs else 0)
        parts, spans, offset = [], [], 0
        for _ in range(per_doc):
            chunk_start, sentence_spans = offset, []
            for _ in range(SENTENCES_PER_CHUNK):
                text = " ".join(vocab[words[sentence]]).capitalize() + ". "
                sentence += 1
                parts.append(text)
                sentence_spans.append((offset, offset + len(text) - 1, text[:-1]))
                offset += len(text)
            spans.append((chunk_start, offset - 1, sentence_spans))
        doc_text = "".join(parts)
        doc_id = f"doc-{d:05d}"
        documents.append(Document(doc_id=doc_id, title=f"Document {d}", source=f"{doc_id}.md", text=doc_text))
        for start, end, sentence_spans in spans:
            chunk_id = len(chunks)
            text = doc_text[start:end]
            chunks.append(Chunk(chunk_id, doc_id, "Section", start, end, text, f"Document {d}\n{text}", text))
            for s_start, s_end, s_text in sentence_spans:
                units.append((chunk_id, s_start, s_end))
                unit_texts.append(s_text)
    unit_vectors = rng.standard_normal((len(units), DIM), dtype=np.float32)
    chunk_vectors = rng.standard_normal((n_chunks, DIM), dtype=np.float32)
    dense = DenseIndex.build(chunk_vectors, exact_threshold=n_chunks + 1)
    rows = np.repeat(np.arange(n_chunks), TERMS_PER_CHUNK)
    cols = rng.integers(0, VOCAB, size=n_chunks * TERMS_PER_CHUNK)
    weights = sp.csr_matrix(
        (rng.random(len(rows), dtype=np.float32), (rows, cols)), shape=(n_chunks, VOCAB)
    ).T.tocsr()  # terms x chunks, as SparseIndex stores it
    params = {"k1": 1.5, "b": 0.75, "idf": "lucene", "epsilon": 0.25, "n_docs": n_chunks, "avgdl": 80.0}
    sparse = SparseIndex(weights, {f"t{i}": i for i in range(VOCAB)}, params)
    parts = BundleParts(
        documents, chunks, np.asarray(units, dtype=np.int64), unit_texts, unit_vectors, {}, dense, sparse
    )
    manifest = {
        "format_version": 3,
        "dimension": DIM,
        "documents": len(documents),
        "chunks": n_chunks,
        "answer_units": len(units),
        "synthetic": True,
    }
    return parts, manifest


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(n_chunks: int, repeat: int, work: Path) -> dict[str, Any]:
    from index.bundle import _read_files, read_bundle, write_bundle
    from index.integrity import check_seal, check_structure, file_checksums, index_files, verify_files
    from index.manifest import raw_manifest

    started = time.perf_counter()
    parts, manifest = synthetic_parts(n_chunks)
    print(f"generated {n_chunks:,} chunks in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if len(parts.sparse) != n_chunks:
        raise SystemExit(f"synthetic BM25 matrix has {len(parts.sparse)} columns, expected {n_chunks}")
    folder = work / "index"
    folder.mkdir()
    started = time.perf_counter()
    write_bundle(folder, parts, manifest)
    write_s = time.perf_counter() - started
    checksum_build_s = _median_s(lambda: file_checksums(folder), repeat)
    written = raw_manifest(folder)
    assert written is not None
    hint = "run `docqa build --force` to rebuild it"
    bundle = read_bundle(folder)  # warms the page cache, and proves the synthetic index is consistent
    files = {name: (folder / name).stat().st_size for name in index_files(folder)}
    total_mb = sum(files.values()) / 1e6
    figures = {
        "seal_s": _median_s(lambda: check_seal(written, str(folder), hint), repeat),
        "verify_files_s": _median_s(lambda: verify_files(folder, written, hint), repeat),
        "structure_s": _median_s(lambda: check_structure(bundle, written, str(folder), hint), repeat),
        "parse_only_s": _median_s(lambda: _read_files(folder), repeat),
        "read_bundle_s": _median_s(lambda: read_bundle(folder), repeat),
    }
    per_file = {
        name: {"mb": size / 1e6, "sha256_s": _median_s(lambda n=name: file_checksums_one(folder / n), repeat)}
        for name, size in sorted(files.items(), key=lambda kv: -kv[1])
    }
    algorithms = {
        algo: total_mb / _median_s(lambda a=algo: [_digest(folder / n, a) for n in files], repeat)
        for algo in ("sha256", "blake2b", "sha1", "md5")
    }
    return {
        "chunks": n_chunks,
        "documents": manifest["documents"],
        "answer_units": manifest["answer_units"],
        "files": len(files),
        "index_mb": total_mb,
        "write_bundle_s": write_s,
        "checksum_build_s": checksum_build_s,
        **figures,
        "per_file": per_file,
        "hash_mb_per_s": algorithms,
        "repeat": repeat,
    }


def file_checksums_one(path: Path) -> str:
    from index.integrity import file_digest

    return file_digest(path)


def _digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def report(data: dict[str, Any]) -> list[tuple[str, str]]:
    d = data
    verify = d["seal_s"] + d["verify_files_s"] + d["structure_s"]
    cost = common.table(
        ["step", "seconds", "share"],
        [
            ["build: write_bundle (all files, checksums included)", common.fmt(d["write_bundle_s"]), "100 %"],
            [
                "build: of which file checksums",
                common.fmt(d["checksum_build_s"]),
                f"{100 * d['checksum_build_s'] / d['write_bundle_s']:.1f} %",
            ],
            ["load: parse every file (no checks, as before)", common.fmt(d["parse_only_s"]), "100 %"],
            ["load: read_bundle (seal + checksums + parse + structure)", common.fmt(d["read_bundle_s"]), ""],
            ["load: of which manifest seal", common.fmt(d["seal_s"], 4), ""],
            [
                "load: of which file checksums",
                common.fmt(d["verify_files_s"]),
                f"{100 * d['verify_files_s'] / d['parse_only_s']:.1f} % of parsing",
            ],
            [
                "load: of which structural checks",
                common.fmt(d["structure_s"]),
                f"{100 * d['structure_s'] / d['parse_only_s']:.1f} % of parsing",
            ],
            ["load: all checks", common.fmt(verify), f"{100 * verify / d['parse_only_s']:.1f} % of parsing"],
        ],
    )
    files = common.table(
        ["file", "MB", "sha256 s", "MB/s"],
        [
            [
                name,
                common.fmt(f["mb"], 1),
                common.fmt(f["sha256_s"], 3),
                common.fmt(f["mb"] / max(f["sha256_s"], 1e-9), 0),
            ]
            for name, f in d["per_file"].items()
        ],
    )
    algos = common.table(
        ["algorithm", "MB/s over the index files"],
        [[name, common.fmt(rate, 0)] for name, rate in d["hash_mb_per_s"].items()],
    )
    summary = (
        f"{d['chunks']:,} chunks, {d['documents']:,} documents, {d['answer_units']:,} answer units: "
        f"{d['files']} files, {d['index_mb']:.0f} MB. Medians of {d['repeat']} runs, warm page cache. "
        f"Verifying costs {verify:.2f} s at load ({100 * verify / d['parse_only_s']:.0f} % on top of "
        f"parsing the files, {d['parse_only_s']:.2f} s; `load_index` at 100 k chunks took 11.35 s in "
        "bench/results/2026-11-22_scale.md, model warm-up included); checksumming at build time "
        f"costs {d['checksum_build_s']:.2f} s."
    )
    return [
        ("Summary", summary),
        ("Cost at build and at load", cost),
        ("Checksum time by file", files),
        ("Hash algorithms over the same files", algos),
        ("Notes", NOTES),
    ]


NOTES = """\
- Why sha256: the standard library has no faster non-cryptographic hash worth its weaker guarantee
  at these sizes, and on CPUs with SHA extensions (`sha_ni` in /proc/cpuinfo) sha256 is the fastest
  of the hashlib algorithms: 1,225 MB/s against 710 for blake2b, 1,314 for sha1 and 419 for md5
  over a 256 MB buffer on this machine when it was quiet (2026-11-30 08:30 UTC). Under load (the
  table above, load average 7 on 2 cores) every rate drops and varies from run to run; none
  changes the picture: verification is a fraction of parsing.
- The files were just written, so they are hashed from the page cache. On a cold cache the
  loader reads every file from disk anyway; verifying first only moves that read ahead of parsing.
- Verification runs before any file is parsed, so a damaged FAISS or NumPy file is never handed
  to its parser; the structural checks then cost well under a second even at 100 k chunks.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="docqa-checksum-bench-"))
    try:
        data = measure(args.chunks, args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    md = common.write_results(
        "index_checksum", "Index integrity: checksum and verification cost", report(data), data
    )
    print(md.read_text())


if __name__ == "__main__":
    main()
