"""Turn text into L2-normalised vectors with a sentence-transformers model, loaded lazily."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str

    @property
    def dim(self) -> int:
        """Vector dimension."""

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> npt.NDArray[np.float32]:
        """Normalised float32 vectors, one row per text."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (`warm_up`), offline.

    Example:
        >>> emb = SentenceTransformerEmbedder("/path/to/all-MiniLM-L6-v2")
        >>> emb.encode(["who reports to the COO?"]).shape
        (1, 384)
    """

    def __init__(self, name: str, *, batch_size: int = 32, cache_dir: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.name = name
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self._model: object | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe).

        Raises:
            IndexNotReady: The model cannot be loaded from `name`.
        """
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            from index.errors import IndexNotReady

            try:
                self._model = SentenceTransformer(self.name, device="cpu")
            except Exception as exc:  # the library raises many types for a bad path or name
                raise IndexNotReady(
                    f"cannot load embedding model {self.name!r} ({exc.__class__.__name__}: {exc}); "
                    "set DOCQA_MODEL to a local sentence-transformers folder or installed model name"
                ) from exc
            logger.info("model loaded: %s", self.name)

    @property
    def dim(self) -> int:
        """Vector dimension of the loaded model."""
        self.warm_up()
        model: Any = self._model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(  # type: ignore[union-attr]
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> npt.NDArray[np.float32]:
        """Encode texts to normalised vectors, reusing the on-disk cache when one is configured.

        Args:
            texts: The texts.
            progress: Called as ``progress("embedding", done, total)`` after each batch.

        Returns:
            A ``(len(texts), dim)`` float32 array.
        """
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cache = _VectorCache(self.cache_dir, self.name) if self.cache_dir else None
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = list(range(len(texts)))
        if cache is not None:
            todo = [i for i in todo if not cache.fill(texts[i], out, i)]
        step = max(self.batch_size * 32, 1024)  # long calls let the model sort by length
        for done in range(0, len(todo), step):
            idx = todo[done : done + step]
            out[idx] = self._encode_batch([texts[i] for i in idx])
            if cache is not None:
                cache.add([texts[i] for i in idx], out[idx])
            if progress:
                progress("embedding", min(done + step, len(todo)), len(todo))
        if cache is not None:
            cache.flush()
        return out


class _VectorCache:
    """Vectors keyed by model + sha256(text), stored as one .npz per model under `directory`."""

    def __init__(self, directory: Path, model: str) -> None:
        key = hashlib.sha256(model.encode()).hexdigest()[:16]
        self.path = directory / f"embeddings-{key}.npz"
        self.vectors: dict[str, npt.NDArray[np.float32]] = {}
        self.dirty = False
        if self.path.exists():
            with np.load(self.path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def fill(self, text: str, out: npt.NDArray[np.float32], row: int) -> bool:
        vector = self.vectors.get(self._key(text))
        if vector is None or vector.shape[0] != out.shape[1]:
            return False
        out[row] = vector
        return True

    def add(self, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self.vectors[self._key(text)] = vector
        self.dirty = True

    def flush(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors))
        matrix = np.stack(list(self.vectors.values())).astype(np.float32)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=matrix)
        os.replace(tmp, self.path)
