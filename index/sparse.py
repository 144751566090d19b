"""Okapi BM25 served from a scipy.sparse matrix, so a query costs a few sparse rows, not a corpus scan.

rank-bm25 (``BM25Okapi``) is the reference scorer the tests compare against, but it loops over every
document in Python for every query term (13.6 ms a query at 5 k documents, linear in corpus size).
Here each term's BM25 contribution ``idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``
is computed once at build time and stored in a terms x documents CSR matrix; a query sums the rows
of its terms (repeated query terms count repeatedly, as in rank-bm25). Over SciFact's 5,183
abstracts that is about 0.12 ms a query on this machine.

``k1 = 1.2, b = 0.75`` (Lucene's defaults): on SciFact train (whole abstracts), the settings
(k1, b) = (0.9, 0.4), (1.2, 0.6), (1.2, 0.75), (1.2, 0.9), (1.5, 0.75), (2.0, 0.75) all land within
0.007 nDCG@10 of each other (0.691-0.697), so the common default stays.

Two idf formulas are available:

- ``"lucene"`` (default): ``log(1 + (N - n + 0.5) / (n + 0.5))``, Lucene's and bm25s's. It is
  always positive and decreases with document frequency.
- ``"okapi"``: rank-bm25's ``BM25Okapi`` exactly: ``log((N - n + 0.5) / (n + 0.5))``, with negative
  values (terms in more than half the chunks) replaced by ``epsilon`` times the mean idf.

The default is Lucene's because on a small corpus (the default one has a few dozen chunks) the Okapi
floor ranks a term found in 60 % of the chunks *below* a term found in 100 % of them, and a term
such as "COO" that most chunks mention then hardly counts. With ``idf="okapi"`` scores equal
``BM25Okapi.get_scores`` within float32 tolerance; with ``idf="lucene"`` they equal a ``BM25Okapi``
whose ``_calc_idf`` uses the Lucene formula (tests check both).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from index.tokenize import tokenize

__all__ = ["SparseIndex"]

logger = logging.getLogger(__name__)

IdfKind = Literal["lucene", "okapi"]
_FORMAT = 1
_MATRIX_FILE = "bm25_weights.npz"
_META_FILE = "bm25.json"


def _idf(
    doc_freq: npt.NDArray[np.float64], n_docs: int, kind: str, epsilon: float
) -> npt.NDArray[np.float64]:
    """Idf of every term from its document frequency (see the module docstring)."""
    if kind == "lucene":
        return np.log1p((n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
    idf = np.log(n_docs - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    floor = epsilon * float(idf.mean()) if idf.size else 0.0
    return np.where(idf < 0, floor, idf)


def _count_matrix(token_lists: list[list[str]]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Documents x terms matrix of raw term counts, with the vocabulary (term -> column)."""
    vocab: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for tokens in token_lists:
        for token in tokens:
            indices.append(vocab.setdefault(token, len(vocab)))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    counts = sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(token_lists), len(vocab)),
    )
    counts.sum_duplicates()  # repeated (doc, term) entries become one count
    return counts, vocab


class SparseIndex:
    """BM25 over pre-weighted sparse rows; build with :meth:`build`, or :meth:`load` a saved one.

    Example:
        >>> idx = SparseIndex.build(["The COO reports to the CEO.", "Managers report to the COO."])
        >>> [doc for doc, _ in idx.search("who reports to the coo", k=2)]
        [0, 1]
    """

    def __init__(self, weights: sp.csr_matrix, vocab: dict[str, int], params: dict[str, Any]) -> None:
        """Wrap a terms x documents weight matrix; use :meth:`build` or :meth:`load` instead."""
        if weights.shape[0] != len(vocab):
            raise ValueError(f"weights has {weights.shape[0]} rows but the vocabulary {len(vocab)} terms")
        self._weights = weights
        self._vocab = vocab
        self._params = params

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        idf: IdfKind = "lucene",
        epsilon: float = 0.25,
    ) -> SparseIndex:
        """Tokenize texts and precompute every BM25 term weight.

        Args:
            texts: One text per document (chunk); its position is its id in results.
            k1: Term-frequency saturation, > 0.
            b: Length normalisation, in [0, 1].
            idf: ``"lucene"`` or ``"okapi"`` (see the module docstring).
            epsilon: Okapi only: floor for negative idfs, as a fraction of the mean idf.

        Returns:
            The index.

        Raises:
            ValueError: If texts is empty or a parameter is out of range.
        """
        if not texts:
            raise ValueError("texts is empty: BM25 needs at least one document")
        if isinstance(texts, str):
            raise ValueError(f"texts must be a sequence of strings, not the single string {texts[:40]!r}")
        return cls.from_tokens([tokenize(t) for t in texts], k1=k1, b=b, idf=idf, epsilon=epsilon)

    @classmethod
    def from_tokens(
        cls,
        token_lists: Sequence[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        idf: IdfKind = "lucene",
        epsilon: float = 0.25,
    ) -> SparseIndex:
        """Like :meth:`build`, over documents already tokenized with :func:`index.tokenize.tokenize`.

        Raises:
            ValueError: If token_lists is empty or a parameter is out of range.
        """
        _check_params(k1, b, idf, epsilon)
        if not token_lists:
            raise ValueError("token_lists is empty: BM25 needs at least one document")
        counts, vocab = _count_matrix([list(tokens) for tokens in token_lists])
        n_docs = counts.shape[0]
        doc_len = np.asarray([len(tokens) for tokens in token_lists], dtype=np.float64)
        avgdl = float(doc_len.mean()) or 1.0  # every document empty: no term has any weight anyway
        doc_freq = np.bincount(counts.indices, minlength=len(vocab)).astype(np.float64)
        term_idf = _idf(doc_freq, n_docs, idf, epsilon)
        tf = counts.data.astype(np.float64)
        norm = np.repeat(k1 * (1 - b + b * doc_len / avgdl), np.diff(counts.indptr))
        weighted = counts.copy().astype(np.float32)
        weighted.data = (term_idf[counts.indices] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        params = {"k1": k1, "b": b, "idf": idf, "epsilon": epsilon, "n_docs": n_docs, "avgdl": avgdl}
        logger.info("bm25 built: %d documents, %d terms", n_docs, len(vocab))
        return cls(weighted.T.tocsr(), vocab, params)

    def __len__(self) -> int:
        """Number of documents."""
        return int(self._weights.shape[1])

    def document_frequencies(self) -> dict[str, int]:
        """How many documents contain each indexed token (what an idf is computed from)."""
        counts = np.diff(self._weights.indptr)
        return {token: int(counts[row]) for token, row in self._vocab.items()}

    @property
    def params(self) -> dict[str, Any]:
        """The BM25 parameters (k1, b, idf, epsilon) and corpus statistics (n_docs, avgdl)."""
        return dict(self._params)

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every document for query (zeros when no query term is indexed).

        Args:
            query: Free text; tokenized like the documents.

        Returns:
            A float32 array of length ``len(self)``.
        """
        return self.scores_for_tokens(tokenize(query))

    def scores_for_tokens(self, tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every document for an already-tokenized query."""
        counts: dict[int, int] = {}
        for token in tokens:
            row = self._vocab.get(token)
            if row is not None:
                counts[row] = counts.get(row, 0) + 1
        if not counts:
            return np.zeros(len(self), dtype=np.float32)
        rows = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        weights = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        summed = self._weights[rows].T @ weights
        return np.asarray(summed, dtype=np.float32).ravel()

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The k best documents for query, best first; only documents scoring above zero.

        Ties are broken by document id, so results are deterministic.

        Raises:
            ValueError: If k < 1.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return _top_k(self.scores(query), k)

    def save(self, directory: Path) -> None:
        """Write ``bm25_weights.npz`` and ``bm25.json`` into directory (created if missing)."""
        directory.mkdir(parents=True, exist_ok=True)
        sp.save_npz(directory / _MATRIX_FILE, self._weights, compressed=False)
        meta = {"format": _FORMAT, "params": self._params, "vocab": self._vocab}
        (directory / _META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> SparseIndex:
        """Read an index written by :meth:`save`.

        Raises:
            FileNotFoundError: If a file is missing.
            ValueError: If the files are corrupt or of another format version.
        """
        try:
            meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
            weights = sp.load_npz(directory / _MATRIX_FILE).tocsr()
        except (json.JSONDecodeError, UnicodeDecodeError, OSError, KeyError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"corrupt BM25 index in {directory}: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(
                f"BM25 index in {directory} has format {meta.get('format')!r}, expected {_FORMAT}"
            )
        index = cls(weights, meta["vocab"], meta["params"])
        if len(index) != index._params.get("n_docs"):
            raise ValueError(f"BM25 index in {directory} is inconsistent: {len(index)} columns")
        return index


def _check_params(k1: float, b: float, idf: str, epsilon: float) -> None:
    if not (math.isfinite(k1) and k1 > 0):
        raise ValueError(f"k1 must be a finite number > 0, got {k1}")
    if not (0.0 <= b <= 1.0):
        raise ValueError(f"b must be in [0, 1], got {b}")
    if idf not in ("lucene", "okapi"):
        raise ValueError(f"idf must be 'lucene' or 'okapi', got {idf!r}")
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")


def _top_k(scores: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
    """Positive scores only, best first, ties by ascending id."""
    positive = np.flatnonzero(scores > 0)
    if positive.size > k:
        # Keep every candidate tied with the k-th score so the id tie-break stays exact.
        kth = np.partition(scores[positive], positive.size - k)[positive.size - k]
        positive = positive[scores[positive] >= kth]
    order = np.lexsort((positive, -scores[positive]))[:k]
    return [(int(positive[i]), float(scores[positive[i]])) for i in order]
