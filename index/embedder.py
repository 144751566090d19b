"""Turn text into L2-normalised vectors with a sentence-transformers model, loaded lazily.

Two runtimes run the model: sentence-transformers on torch (`SentenceTransformerEmbedder`, the
reference) and ONNX Runtime (`index.onnx_embedder.OnnxEmbedder`, no torch); `index.runtime`
picks one. With a cache folder, every vector is kept by model + sha256(text), and a text found there is never
embedded again (nor is the model loaded when every text is found).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
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


class CachedEmbedder:
    """The part every runtime shares: each distinct text embedded once, vectors kept in the cache.

    Subclasses load their model in `warm_up` and encode new texts in `_encode_batch`.
    """

    name: str
    batch_size: int
    step: int = 1024
    """Texts handed to `_encode_batch` at a time (progress is reported after each such call)."""
    runtime = "none"
    """Which runtime computes the vectors (``torch`` or ``onnx``), for logs and manifests."""

    def __init__(self, name: str, *, batch_size: int = 32, cache_dir: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.name = name
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.embedded_texts = 0
        """Distinct texts embedded by the model so far (the rest came from the cache)."""
        self.cached_texts = 0
        """Distinct texts whose vectors came from the cache so far."""
        self._cache: _VectorCache | None = None

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe)."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Vector dimension of the model."""
        raise NotImplementedError

    def _encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Normalised vectors of `texts` (the model is loaded)."""
        raise NotImplementedError

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> npt.NDArray[np.float32]:
        """Encode texts to normalised vectors, reusing the on-disk cache when one is configured.

        Each distinct text is embedded once; `embedded_texts` and `cached_texts` count them.

        Args:
            texts: The texts.
            progress: Called as ``progress("embedding", done, total)`` after each batch.

        Returns:
            A ``(len(texts), dim)`` float32 array.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        first: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        cache = self._vector_cache()
        found = cache.lookup(list(first)) if cache is not None else {}
        todo = [i for key, i in first.items() if key not in found]
        vectors = dict(found)
        if todo:
            vectors.update(self._encode_new(texts, keys, todo, progress))
            if cache is not None:
                cache.add([keys[i] for i in todo], np.stack([vectors[keys[i]] for i in todo]))
        self.embedded_texts += len(todo)
        self.cached_texts += len(found)
        return np.stack([vectors[key] for key in keys]).astype(np.float32, copy=False)

    def _vector_cache(self) -> _VectorCache | None:
        # One cache per model id, whatever the runtime: ONNX Runtime's vectors equal torch's
        # within 1e-6 (checked at export, `index.onnx_export`), far below the float16 precision
        # the answer units are stored at, so a vector is the model's, not the runtime's.
        if self._cache is None and self.cache_dir is not None:
            self._cache = _VectorCache.for_model(self.cache_dir, model_id(self.name), self.name)
        return self._cache

    def _encode_new(
        self, texts: Sequence[str], keys: list[bytes], todo: list[int], progress: Progress | None
    ) -> dict[bytes, npt.NDArray[np.float32]]:
        """Embed ``texts[i] for i in todo`` with the model, in long calls (each sorts by length)."""
        self.warm_up()
        out: dict[bytes, npt.NDArray[np.float32]] = {}
        step = max(self.batch_size * 32, self.step)
        for done in range(0, len(todo), step):
            idx = todo[done : done + step]
            for i, vector in zip(idx, self._encode_batch([texts[i] for i in idx]), strict=True):
                out[keys[i]] = vector
            if progress:
                progress("embedding", min(done + step, len(todo)), len(todo))
        return out


class SentenceTransformerEmbedder(CachedEmbedder):
    """A sentence-transformers model (torch), loaded on first use (`warm_up`), offline.

    The reference runtime, and the fallback for models ONNX Runtime cannot run (`index.runtime`).

    Example:
        >>> emb = SentenceTransformerEmbedder("/path/to/all-MiniLM-L6-v2")
        >>> emb.encode(["who reports to the COO?"]).shape
        (1, 384)
    """

    runtime = "torch"

    def __init__(self, name: str, *, batch_size: int = 32, cache_dir: Path | None = None) -> None:
        super().__init__(name, batch_size=batch_size, cache_dir=cache_dir)
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
            self._model = load_sentence_transformer(self.name)
            logger.info("model loaded: %s (sentence-transformers, torch)", self.name)

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it)."""
        self.warm_up()
        return self._model

    @property
    def dim(self) -> int:
        """Vector dimension of the loaded model."""
        model: Any = self.model
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


def load_sentence_transformer(name: str) -> Any:
    """A ``SentenceTransformer`` on the CPU, offline (imports torch: seconds).

    Raises:
        IndexNotReady: The model cannot be loaded from `name`.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    from index.errors import IndexNotReady

    try:
        return SentenceTransformer(name, device="cpu")
    except Exception as exc:  # the library raises many types for a bad path or name
        raise IndexNotReady(
            f"cannot load embedding model {name!r} ({exc.__class__.__name__}: {exc}); "
            "set DOCQA_MODEL to a local sentence-transformers folder or installed model name"
        ) from exc


def normalised(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
    return np.asarray(matrix / norms, dtype=np.float32)


def text_key(text: str) -> bytes:
    """The cache key of a text: its sha256 digest."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def model_id(model: str) -> str:
    """A stable identity of a model: its name, or for a local folder a hash of its config and weights size.

    The same packaged model installed at different paths gets the same id, so an index built on one
    machine loads on another (and reuses the same cached vectors); a different model never does.
    """
    path = Path(model)
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        if (path / name).exists():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"local:{digest.hexdigest()[:16]}"


class _VectorCache:
    """Vectors of one model by sha256(text), in append-only shards under ``<directory>/embeddings-<model>``.

    Each embedding call writes only the vectors it computed, as one shard (``<stamp>.keys.npy`` with the
    32-byte keys, ``<stamp>.vectors.npy`` with the float32 rows); opening reads the key files and
    memory-maps the vectors. Measured with 300 k cached vectors (384 dims, 460 MB) on 2 cores:
    opening 0.17 s, fetching 10 k vectors 0.02 s, writing 1 k new ones 4 ms. The single .npz used
    before was loaded whole (0.4-1.9 s) and rewritten whole twice per build (0.4-0.5 s each), so a
    growing cache made every build slower; a SQLite table took 36 s to fill and 2.6x the space.
    More than `MAX_SHARDS` shards are merged into one (2.5 s for 300 k vectors, about every 16
    builds), so opening stays cheap.

    Files are written to a temporary name and renamed, vectors before keys, so a killed build leaves
    a whole shard or none that is read (the next merge removes its leftovers); concurrent builds
    write separate shards and lose nothing.
    """

    MAX_SHARDS = 32

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self._shards: list[npt.NDArray[np.float32]] = []
        self._where: dict[bytes, tuple[int, int]] = {}
        self._reload()

    @classmethod
    def for_model(cls, directory: Path, model: str, legacy_name: str) -> _VectorCache:
        """The cache of `model` (an id from `model_id`) under `directory`; an .npz cache that earlier
        versions kept for the model name `legacy_name` is moved into it first."""
        folder = directory / f"embeddings-{_short_hash(model)}"
        _migrate(directory / f"embeddings-{_short_hash(legacy_name)}.npz", folder)
        return cls(folder)

    def _reload(self) -> None:
        self.files, self._shards, self._where = [], [], {}
        if self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("*.keys.npy")):
                self._open(keys_file)

    def _open(self, keys_file: Path) -> None:
        try:
            keys = np.load(keys_file)
            vectors = np.load(_vectors_file(keys_file), mmap_mode="r")
        except (OSError, ValueError) as exc:  # removed by a concurrent merge, or damaged
            logger.info("embedding cache shard %s skipped: %s", keys_file.name, exc)
            return
        if keys.dtype != np.dtype("V32") or vectors.ndim != 2 or len(keys) != len(vectors):
            logger.info("embedding cache shard %s skipped: malformed", keys_file.name)
            return
        shard = len(self._shards)
        self._shards.append(vectors)
        self.files.append(keys_file)
        for row, key in enumerate(keys.tolist()):
            self._where.setdefault(key, (shard, row))

    def lookup(self, keys: Sequence[bytes]) -> dict[bytes, npt.NDArray[np.float32]]:
        """The cached vectors of those `keys` the cache holds."""
        out: dict[bytes, npt.NDArray[np.float32]] = {}
        by_shard: dict[int, list[tuple[int, bytes]]] = {}
        for key in keys:
            if key in self._where:
                shard, row = self._where[key]
                by_shard.setdefault(shard, []).append((row, key))
        for shard, wanted in by_shard.items():
            wanted.sort()
            rows = np.asarray(self._shards[shard][[row for row, _ in wanted]], dtype=np.float32)
            out.update((key, rows[i]) for i, (_, key) in enumerate(wanted))
        return out

    def add(self, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> None:
        """Write one new shard with these vectors (then merge the shards if there are too many)."""
        keys_file = _write_shard(self.folder, keys, vectors)
        if len(list(self.folder.glob("*.keys.npy"))) > self.MAX_SHARDS:
            self._merge()
            self._reload()
        else:
            self._open(keys_file)

    def _merge(self) -> None:
        """Rewrite every shard as one (first copy of each key wins), then remove the merged ones."""
        merged = _VectorCache(self.folder)
        rows_by_shard: dict[int, list[int]] = {}
        keys_by_shard: dict[int, list[bytes]] = {}
        for key, (shard, row) in merged._where.items():
            rows_by_shard.setdefault(shard, []).append(row)
            keys_by_shard.setdefault(shard, []).append(key)
        shards = sorted(rows_by_shard)
        if not shards:
            return
        vectors = np.concatenate([merged._shards[s][rows_by_shard[s]] for s in shards])
        _write_shard(self.folder, [key for s in shards for key in keys_by_shard[s]], vectors)
        for keys_file in merged.files:
            keys_file.unlink(missing_ok=True)
            _vectors_file(keys_file).unlink(missing_ok=True)
        _remove_leftovers(self.folder)
        logger.info(
            "embedding cache: merged %d shards into one (%d vectors)", len(merged.files), len(vectors)
        )


def _remove_leftovers(folder: Path, age: float = 600.0) -> None:
    """Remove what killed builds left: temporary files, and vectors whose keys were never written."""
    for path in [*folder.glob(".*.tmp"), *folder.glob("*.vectors.npy")]:
        keys_file = path.with_name(path.name.replace(".vectors.npy", ".keys.npy"))
        with contextlib.suppress(OSError):
            if not keys_file.exists() and time.time() - path.stat().st_mtime > age:
                path.unlink()


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _vectors_file(keys_file: Path) -> Path:
    return keys_file.with_name(keys_file.name.replace(".keys.npy", ".vectors.npy"))


def _write_shard(folder: Path, keys: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> Path:
    """Write one shard (vectors first, then keys, each atomically); returns its keys file."""
    folder.mkdir(parents=True, exist_ok=True)
    keys_file = folder / f"{time.time_ns()}-{os.getpid()}.keys.npy"
    _save_atomic(_vectors_file(keys_file), np.ascontiguousarray(vectors, dtype=np.float32))
    _save_atomic(keys_file, np.frombuffer(b"".join(keys), dtype="V32"))
    return keys_file


def _migrate(legacy: Path, folder: Path) -> None:
    """Turn the single .npz cache of earlier versions into a shard, once."""
    if not legacy.is_file() or (folder.is_dir() and any(folder.glob("*.keys.npy"))):
        return
    try:
        with np.load(legacy) as data:
            keys = [bytes.fromhex(str(k)) for k in data["keys"]]
            vectors = np.asarray(data["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError) as exc:
        logger.info("old embedding cache %s not usable: %s", legacy, exc)
        return
    if keys:
        _write_shard(folder, keys, vectors)
    legacy.unlink(missing_ok=True)
    logger.info("embedding cache: moved %d vectors from %s into %s", len(keys), legacy.name, folder)


def _save_atomic(path: Path, array: npt.NDArray[Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        np.save(fh, array)
    os.replace(tmp, path)
