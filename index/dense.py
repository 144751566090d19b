"""FAISS search over L2-normalised float32 vectors by inner product (= cosine similarity).

Below ``exact_threshold`` vectors the index is ``IndexFlatIP``: exact, no build cost, and a scan of
50 k x 384 floats takes about 5 ms on this 2-core machine. Above it the index is HNSW
(``IndexHNSWFlat``, inner product, M = 32, efConstruction = 80, efSearch = 512), chosen over IVF
because:

- it needs no training step: no k-means over a sample at build time, no choice of ``nlist`` that
  must grow with the corpus, and the result does not depend on which sample was drawn;
- at the recall we want (>= 0.95 recall@10 against exact) its queries touch a few thousand vectors
  instead of the ``nprobe / nlist`` share of the whole corpus that IVF scans, so query time grows
  roughly with log(n) rather than linearly;
- the price is memory (M x 2 neighbour ids, 256 bytes a vector on top of the 1,536 of the vector
  itself) and a slower build, both acceptable at 1 M chunks.

Its recall@10 against exact search is checked in ``tests/index/test_dense.py`` (>= 0.95 on clustered
vectors) and measured on SciFact's 7,656 real chunk vectors by ``bench/scifact.py`` (0.997).
``bench/scale.py`` found efSearch = 128 too low at 1 M clustered vectors (recall@10 0.93); 256
gave 0.968 and 512 gave 0.988 for 0.56 ms a query (top 100), still a few % of one query encode.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_EXACT_THRESHOLD", "DenseIndex"]

logger = logging.getLogger(__name__)

DEFAULT_EXACT_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 512
_FORMAT = 1
_INDEX_FILE = "dense.faiss"
_META_FILE = "dense.json"


def _as_matrix(vectors: npt.ArrayLike, name: str) -> npt.NDArray[np.float32]:
    """A C-contiguous float32 copy of a 2-D finite array."""
    array = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array (n, dim) with dim > 0, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _read_into_memory(path: Path) -> faiss.Index:
    """Read a FAISS file into memory.

    Not memory-mapped, although mapping would load large indexes faster: the files' checksums are
    verified at load, and a mapped file edited in place afterwards would change what the running
    service answers (issue 11); builds never edit files in place, but disks and people can.
    """
    return faiss.read_index(str(path))


class DenseIndex:
    """Nearest-neighbour search by cosine similarity; build with :meth:`build` or :meth:`load`.

    Example:
        >>> import numpy as np
        >>> idx = DenseIndex.build(np.eye(3, dtype=np.float32))
        >>> idx.search(np.array([0.0, 1.0, 0.1], dtype=np.float32), k=1)[0][0]
        1
    """

    def __init__(self, index: faiss.Index, kind: str) -> None:
        """Wrap a FAISS index; use :meth:`build` or :meth:`load` instead."""
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"kind must be 'flat' or 'hnsw', got {kind!r}")
        self._index = index
        self._kind = kind

    @classmethod
    def build(cls, vectors: npt.ArrayLike, *, exact_threshold: int = DEFAULT_EXACT_THRESHOLD) -> DenseIndex:
        """Normalise vectors and index them: exact below exact_threshold, HNSW at or above it.

        Args:
            vectors: Array (n, dim); row i is document i. Rows are L2-normalised (a copy).
            exact_threshold: Smallest n that gets the approximate (HNSW) index, >= 1.

        Returns:
            The index.

        Raises:
            ValueError: If vectors is not a non-empty finite 2-D array or exact_threshold < 1.
        """
        if exact_threshold < 1:
            raise ValueError(f"exact_threshold must be >= 1, got {exact_threshold}")
        matrix = _as_matrix(vectors, "vectors")
        if matrix.shape[0] == 0:
            raise ValueError("vectors is empty: the dense index needs at least one vector")
        faiss.normalize_L2(matrix)
        dim = matrix.shape[1]
        if matrix.shape[0] < exact_threshold:
            index: faiss.Index = faiss.IndexFlatIP(dim)
            kind = "flat"
        else:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            kind = "hnsw"
        index.add(matrix)
        logger.info("dense index built: %s, %d vectors of dim %d", kind, matrix.shape[0], dim)
        return cls(index, kind)

    def __len__(self) -> int:
        """Number of vectors."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    @property
    def kind(self) -> str:
        """``"flat"`` (exact) or ``"hnsw"`` (approximate)."""
        return self._kind

    def search(self, query_vector: npt.ArrayLike, k: int) -> list[tuple[int, float]]:
        """The k nearest documents by cosine similarity, best first.

        Args:
            query_vector: Shape (dim,) or (1, dim); normalised here (a copy).
            k: Number of results wanted, >= 1; fewer come back when the index is smaller.

        Returns:
            (document id, cosine similarity) pairs, best first.

        Raises:
            ValueError: If k < 1 or the vector has the wrong shape or non-finite values.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        query = _as_matrix(np.reshape(np.asarray(query_vector, dtype=np.float32), (1, -1)), "query_vector")
        if query.shape[1] != self.dim:
            raise ValueError(f"query_vector has dimension {query.shape[1]}, the index has {self.dim}")
        faiss.normalize_L2(query)
        k = min(k, len(self))
        if self._kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))  # type: ignore[attr-defined]
            scores, ids = self._index.search(query, k, params=params)
        else:
            scores, ids = self._index.search(query, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors(self, ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """The stored (normalised) vectors of these ids, one row each (for answer context scores)."""
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = np.asarray(ids, dtype=np.int64)
        return np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32).reshape(len(keys), self.dim)

    def save(self, directory: Path) -> None:
        """Write ``dense.faiss`` and ``dense.json`` into directory (created if missing)."""
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(directory / _INDEX_FILE))
        meta = {"format": _FORMAT, "kind": self._kind, "n": len(self), "dim": self.dim}
        (directory / _META_FILE).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> DenseIndex:
        """Read an index written by :meth:`save`.

        Raises:
            FileNotFoundError: If a file is missing.
            ValueError: If the files are corrupt or disagree with each other.
        """
        meta_path, index_path = directory / _META_FILE, directory / _INDEX_FILE
        if not index_path.is_file():
            raise FileNotFoundError(f"no dense index file at {index_path}")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            index = _read_into_memory(index_path)
        except (json.JSONDecodeError, UnicodeDecodeError, RuntimeError) as exc:
            raise ValueError(f"corrupt dense index in {directory}: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"dense index in {directory} has an unknown format: {meta!r}")
        if (meta.get("n"), meta.get("dim")) != (index.ntotal, index.d):
            raise ValueError(f"dense index in {directory} does not match its metadata {meta!r}")
        return cls(index, str(meta.get("kind")))
