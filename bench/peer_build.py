"""The build peer, run inside ``bench/.venv-peer`` only: a Haystack indexing pipeline on a folder's files.

Never imported by docqa. ``bench/build_throughput.py`` writes a job file and runs this script with the
peer venv's interpreter; it answers with a result file (timings, counts, versions).

    bench/.venv-peer/bin/python bench/peer_build.py JOB.json RESULT.json

Pipeline: TextFileToDocument (UTF-8) -> DocumentSplitter(split_by="word", split_length, overlap 0)
-> SentenceTransformersDocumentEmbedder (the job's model path, CPU, batch 32, normalised) ->
DocumentWriter into an InMemoryDocumentStore.

Job: ``{"model", "files": [path, ...], "split_length", "batch_size", "windows_file" (optional: where to
write the windows' texts, after the timed run)}``.
Result: ``{"versions", "import_s", "warm_up_s", "run_s", "documents", "windows", "stored",
"window_chars"}``: ``warm_up_s`` is the model load (``Pipeline.warm_up``), ``run_s`` the pipeline run
after it; ``import_s`` the imports of this process.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports, so their cost is reported too

import importlib.metadata  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from haystack import Pipeline  # noqa: E402
from haystack.components.converters import TextFileToDocument  # noqa: E402
from haystack.components.preprocessors import DocumentSplitter  # noqa: E402
from haystack.components.writers import DocumentWriter  # noqa: E402
from haystack.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402
from haystack.utils import ComponentDevice  # noqa: E402
from haystack_integrations.components.embedders.sentence_transformers import (  # noqa: E402
    SentenceTransformersDocumentEmbedder,
)

IMPORTED = time.perf_counter()
VERSIONS = ("haystack-ai", "sentence-transformers-haystack", "sentence-transformers", "torch")


def indexing_pipeline(store: InMemoryDocumentStore, job: dict[str, Any]) -> Pipeline:
    """Converter -> splitter -> embedder -> writer, as a Haystack indexing pipeline."""
    pipe = Pipeline()
    pipe.add_component("converter", TextFileToDocument(encoding="utf-8"))
    pipe.add_component(
        "splitter", DocumentSplitter(split_by="word", split_length=int(job["split_length"]), split_overlap=0)
    )
    pipe.add_component(
        "embedder",
        SentenceTransformersDocumentEmbedder(
            model=job["model"],
            device=ComponentDevice.from_str("cpu"),
            batch_size=int(job["batch_size"]),
            normalize_embeddings=True,
            local_files_only=True,
            progress_bar=False,
        ),
    )
    pipe.add_component("writer", DocumentWriter(document_store=store))
    pipe.connect("converter.documents", "splitter.documents")
    pipe.connect("splitter.documents", "embedder.documents")
    pipe.connect("embedder.documents", "writer.documents")
    return pipe


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    pipe = indexing_pipeline(store, job)
    t0 = time.perf_counter()
    pipe.warm_up()
    t1 = time.perf_counter()
    out = pipe.run(
        {"converter": {"sources": [Path(f) for f in job["files"]]}},
        include_outputs_from={"converter", "splitter"},
    )
    t2 = time.perf_counter()
    windows = out["splitter"]["documents"]
    result = {
        "versions": {n: importlib.metadata.version(n) for n in VERSIONS},
        "import_s": IMPORTED - STARTED,
        "warm_up_s": t1 - t0,
        "run_s": t2 - t1,
        "documents": len(out["converter"]["documents"]),
        "windows": len(windows),
        "stored": store.count_documents(),
        "embedded": sum(1 for d in store.filter_documents() if d.embedding is not None),
        "window_chars": sum(len(d.content or "") for d in windows),
    }
    if job.get("windows_file"):  # the caller counts their tokens with docqa's own tokenizer
        Path(job["windows_file"]).write_text(json.dumps([d.content or "" for d in windows]))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
