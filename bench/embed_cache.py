"""Embeddings cached on disk by model and text hash, so benchmark reruns skip the slow encode."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BATCH = 64


def _key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def _cache_file(cache_dir: Path, model: str) -> Path:
    slug = hashlib.sha256(model.encode()).hexdigest()[:16]
    return cache_dir / f"embeddings-{Path(model).name}-{slug}.npz"


def _load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))


def _save(path: Path, cache: dict[str, np.ndarray]) -> None:
    """Merge with what is on disk (other scripts may share the file) under a lock, then swap in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / (path.name + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {**_load(path), **cache}
        cache.update(merged)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.asarray(list(merged)), vectors=np.stack(list(merged.values())))
        tmp.replace(path)


def embed(texts: Sequence[str], model: str, cache_dir: Path, *, label: str = "texts") -> np.ndarray:
    """Normalised float32 embeddings of texts, computing only those not cached yet."""
    path = _cache_file(cache_dir, model)
    cache = _load(path)
    keys = [_key(model, t) for t in texts]
    missing = sorted({k: i for i, k in enumerate(keys) if k not in cache}.values())
    if missing:
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(model, device="cpu")
        start = time.perf_counter()
        for n in range(0, len(missing), BATCH):
            batch = missing[n : n + BATCH]
            vectors = encoder.encode([texts[i] for i in batch], normalize_embeddings=True)
            cache.update({keys[i]: v.astype(np.float32) for i, v in zip(batch, vectors, strict=True)})
            done = min(n + BATCH, len(missing))
            rate = done / (time.perf_counter() - start)
            print(f"\r  embedding {label}: {done}/{len(missing)} ({rate:.0f}/s)", end="", file=sys.stderr)
            if n // BATCH % 20 == 19:
                _save(path, cache)  # a killed run keeps what it has done
        print(file=sys.stderr)
        _save(path, cache)
    return np.stack([cache[k] for k in keys]).astype(np.float32)
