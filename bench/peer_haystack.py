"""The peer, run inside ``bench/.venv-peer`` only: Haystack in-memory BM25 + embedding retrievers, RRF.

Never imported by docqa. ``bench/peer.py`` writes a job file and runs this script with the peer
venv's interpreter; it answers with a result file (rankings, per-query latency, build times).

    bench/.venv-peer/bin/python bench/peer_haystack.py JOB.json RESULT.json

Job: ``{"model", "cache_dir", "split_words" (0 = index documents whole), "top_k", "vectors_file"
(optional .npy of the documents' vectors, same model, same texts: skips the document encode),
"documents": [{"id", "text"}], "queries": [{"id", "text"}]}``.
Result: ``{"versions", "build_s", "embed_s", "latency_ms": [...], "rankings": {qid: [[doc_id, score,
text], ...]}, "chunks"}``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

import numpy as np  # noqa: E402
from haystack import Document, Pipeline  # noqa: E402
from haystack.components.joiners import DocumentJoiner  # noqa: E402
from haystack.components.preprocessors import DocumentSplitter  # noqa: E402
from haystack.components.retrievers.in_memory import (  # noqa: E402
    InMemoryBM25Retriever,
    InMemoryEmbeddingRetriever,
)
from haystack.document_stores.in_memory import InMemoryDocumentStore  # noqa: E402
from haystack.utils import ComponentDevice  # noqa: E402
from haystack_integrations.components.embedders.sentence_transformers import (  # noqa: E402
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)


def split(job: dict[str, Any]) -> list[Document]:
    """The job's documents as Haystack documents, split by words the Haystack way when asked."""
    docs = [Document(content=d["text"], meta={"doc_id": d["id"]}) for d in job["documents"]]
    if not job.get("split_words"):
        return docs
    splitter = DocumentSplitter(
        split_by="word", split_length=int(job["split_words"]), split_overlap=int(job["split_words"]) // 5
    )
    return list(splitter.run(documents=docs)["documents"])


def embed(
    docs: list[Document], model: str, cache_dir: Path, vectors_file: str | None = None
) -> tuple[list[Document], float]:
    """Embed the documents (cached by model and text hash, so a rerun takes seconds); and seconds spent."""
    key = hashlib.sha256(
        model.encode() + b"\0" + "\0".join(d.content or "" for d in docs).encode()
    ).hexdigest()
    cache = cache_dir / f"haystack-{key[:20]}.npy"
    t0 = time.perf_counter()
    if vectors_file:
        cache = Path(vectors_file)  # the same model's vectors of the same texts, computed by the caller
    if cache.is_file():
        vectors = np.load(cache)
        docs = [replace(d, embedding=v.tolist()) for d, v in zip(docs, vectors, strict=True)]
        return docs, time.perf_counter() - t0
    embedder = SentenceTransformersDocumentEmbedder(
        model=model,
        device=ComponentDevice.from_str("cpu"),
        normalize_embeddings=True,
        local_files_only=True,
        progress_bar=True,
        batch_size=32,
    )
    embedder.warm_up()
    docs = list(embedder.run(documents=docs)["documents"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache, np.asarray([d.embedding for d in docs], dtype=np.float32))
    return docs, time.perf_counter() - t0


def pipeline(store: InMemoryDocumentStore, model: str, top_k: int) -> Pipeline:
    """Query embedder -> embedding retriever, BM25 retriever, both -> RRF joiner."""
    pipe = Pipeline()
    pipe.add_component(
        "text_embedder",
        SentenceTransformersTextEmbedder(
            model=model,
            device=ComponentDevice.from_str("cpu"),
            normalize_embeddings=True,
            local_files_only=True,
            progress_bar=False,
        ),
    )
    pipe.add_component("embedding_retriever", InMemoryEmbeddingRetriever(document_store=store, top_k=top_k))
    pipe.add_component("bm25_retriever", InMemoryBM25Retriever(document_store=store, top_k=top_k))
    pipe.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=top_k))
    pipe.connect("text_embedder.embedding", "embedding_retriever.query_embedding")
    pipe.connect("bm25_retriever", "joiner")
    pipe.connect("embedding_retriever", "joiner")
    pipe.warm_up()
    return pipe


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    model, top_k = job["model"], int(job["top_k"])
    t0 = time.perf_counter()
    docs = split(job)
    docs, embed_s = embed(docs, model, Path(job["cache_dir"]), job.get("vectors_file"))
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    store.write_documents(docs)
    pipe = pipeline(store, model, top_k)
    build_s = time.perf_counter() - t0
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(model, device="cpu")  # the floor, timed back to back with each query
    latencies: list[float] = []
    floors: list[float] = []
    rankings: dict[str, list[list[Any]]] = {}
    queries = job["queries"] * int(job.get("repeat", 1))
    for i, query in enumerate(queries):
        f0 = time.perf_counter()
        bare.encode([query["text"]], normalize_embeddings=True, show_progress_bar=False)
        q0 = time.perf_counter()
        out = pipe.run({"text_embedder": {"text": query["text"]}, "bm25_retriever": {"query": query["text"]}})
        if i >= 2 or len(queries) <= 2:  # the first calls pay one-off costs
            latencies.append((time.perf_counter() - q0) * 1000.0)
            floors.append((q0 - f0) * 1000.0)
        rankings.setdefault(
            query["id"],
            [[d.meta["doc_id"], float(d.score or 0.0), d.content] for d in out["joiner"]["documents"]],
        )
    versions = {
        n: importlib.metadata.version(n)
        for n in ("haystack-ai", "sentence-transformers-haystack", "sentence-transformers", "torch")
    }
    Path(sys.argv[2]).write_text(
        json.dumps(
            {
                "versions": versions,
                "build_s": build_s,
                "embed_s": embed_s,
                "latency_ms": latencies,
                "floor_ms": floors,
                "rankings": rankings,
                "chunks": len(docs),
            }
        )
    )


if __name__ == "__main__":
    main()
