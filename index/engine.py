"""`Index`: hybrid retrieval, acronym-aware ranking and cited extractive answers over a built bundle."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from corpus.models import Document
from index.acronyms import acronyms_in, meaning_named_in
from index.answer import AnswerModels, UnitScore, load_models
from index.answerer import Answered, Answerer, order_by_evidence
from index.chunk_vectors import BEST_UNIT_WEIGHT, best_unit_similarities, rerank_by_best_unit, similarities
from index.embedder import CachedEmbedder, normalised
from index.errors import UnknownDocument
from index.hybrid import FusionParams, fuse
from index.pages import locate
from index.question import check_question
from index.runtime import default_onnx_root, make_embedder
from index.store import check_corpus_unchanged, read_bundle, read_manifest
from index.tokenize import STOPWORDS, tokenize
from index.types import AnswerSpan, Chunk, Clarification, Meaning, Passage, QueryResult

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
_SHORT_FUNCTION_WORDS = sorted(w for w in STOPWORDS if 2 <= len(w) <= 5)
# `Index.answer_evidence(leave_out=...)` ranks this many times `top_k` passages to fill the places
# of the ones it leaves out.
LEAVE_OUT_DEPTH = 6


class Index:
    """A loaded index: search it, or ask it a question.

    Example:
        >>> index = load_index(Path("var/index"), Settings().model_path)
        >>> result = index.query("Who reports to the COO?")
        >>> result.answer.text
        'Department heads and managers typically report to the COO.'
    """

    def __init__(
        self,
        manifest: dict[str, Any],
        bundle: dict[str, Any],
        embedder: CachedEmbedder,
        models: AnswerModels | None = None,
    ) -> None:
        self.manifest = manifest
        self.documents: dict[str, Document] = {d.doc_id: d for d in bundle["documents"]}
        self.chunks: list[Chunk] = bundle["chunks"]
        self.acronyms: dict[str, tuple[Meaning, ...]] = bundle["acronyms"]
        self._units: npt.NDArray[np.int64] = bundle["units"]
        self._unit_texts: list[str] = bundle["unit_texts"]
        self._dense = bundle["dense"]
        self._sparse = bundle["sparse"]
        self._embedder = embedder
        self._encode_lock = threading.Lock()  # HF fast tokenizers fail when shared across threads
        self.fusion = FusionParams()
        self.best_unit_weight = BEST_UNIT_WEIGHT  # `rerank_by_best_unit`; benchmarks vary it
        self._idf = self._idf_table()
        self._index_acronyms()
        self._answerer = Answerer(
            documents=self.documents,
            chunks=self.chunks,
            units=self._units,
            unit_texts=self._unit_texts,
            unit_vectors=bundle["unit_vectors"],
            chunk_vectors=self._dense.vectors,
            idf=self.idf,
            max_idf=self._max_idf,
            expand=self._with_acronyms,
            entities=self._entities,
            models=models or load_models(),
        )

    def _idf_table(self) -> dict[str, float]:
        """BM25-style idf of every indexed token."""
        n = max(len(self.chunks), 1)
        self._max_idf = float(np.log1p((n + 0.5) / 0.5))
        return {
            token: float(np.log1p((n - df + 0.5) / (df + 0.5)))
            for token, df in self._sparse.document_frequencies().items()
        }

    def idf(self, token: str) -> float:
        """Rarity of a token in this corpus; unseen tokens are the rarest."""
        return self._idf.get(token, self._max_idf)

    # -- public API -------------------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        """The document with this id.

        Raises:
            UnknownDocument: No such document.
        """
        doc = self.documents.get(doc_id)
        if doc is None:
            raise UnknownDocument(f"no document {doc_id!r}; GET /v1/documents lists the ids")
        return doc

    def encode_query(self, text: str) -> npt.NDArray[np.float32]:
        """One bare model encode of a query (the latency floor of every search)."""
        with self._encode_lock:
            vectors = self._embedder.encode([text])
        return np.asarray(vectors[0], dtype=np.float32)

    def search(
        self, question: str, top_k: int = 5, mode: str = "hybrid", *, max_chars: int = 4000
    ) -> list[Passage]:
        """Rank passages for a question.

        Args:
            question: Free text.
            top_k: How many passages (>= 1).
            mode: ``"hybrid"`` (default), ``"bm25"`` or ``"dense"``.
            max_chars: Longest accepted question.

        Returns:
            Passages, best first, with exact offsets into their documents.

        Raises:
            EmptyQuery, InvalidText, QueryTooLong: Bad question. ValueError: bad `top_k` or `mode`.
        """
        passages, _, _, _ = self._retrieve(question, top_k, mode, max_chars, need_vector=False)
        return passages

    def query(
        self, question: str, top_k: int = 5, *, max_chars: int = 4000, mode: str = "hybrid"
    ) -> QueryResult:
        """Answer a question: passages, the answering sentence, confidence, acronym clarifications.

        The passages are those `search` returns, the ones the answer stage read re-ordered by what
        it found in them (`index.answerer.order_by_evidence`): the answer's passage first.

        Args:
            question: Free text.
            top_k: How many passages (>= 1).
            max_chars: Longest accepted question.
            mode: Retrieval mode (``"hybrid"``; ``"bm25"``/``"dense"`` for comparisons).

        Raises:
            EmptyQuery, InvalidText, QueryTooLong: Bad question. ValueError: bad `top_k` or `mode`.
        """
        started = time.perf_counter()
        passages, q_vector, clarifications, clean = self._retrieve(question, top_k, mode, max_chars)
        answered = self._answerer.answer(self._for_scoring(clean), q_vector, passages)
        passages, answer = order_by_evidence(passages, answered)
        conf = answered.confidence
        abstained = answer is None or conf < self._answerer.models.abstain_below
        logger.info(
            "query answered q_len=%d top_k=%d mode=%s abstained=%s confidence=%.3f ms=%.1f",
            len(question),
            top_k,
            mode,
            abstained,
            conf,
            (time.perf_counter() - started) * 1000,
        )
        return QueryResult(
            question=question,
            answer=None if abstained else answer,
            abstained=abstained,
            confidence=conf,
            passages=tuple(passages),
            clarifications=tuple(clarifications),
        )

    def retrieval_signals(
        self, question: str, *, max_chars: int = 4000
    ) -> dict[str, npt.NDArray[np.float32]]:
        """Every chunk's score on each signal hybrid retrieval ranks by, for one question.

        The question goes through the same corrections and acronym expansion as `search`. Keys:
        ``bm25`` (BM25 of the chunk's tokens), ``chunk`` (cosine of the chunk vector) and ``unit``
        (cosine of the chunk's best unit, its chunk cosine when it has no unit). Fusion and the
        best-unit re-rank are monotone in these, so a chunk that another beats on all three can never
        rank above it (`bench/retrieval_ceiling.py` counts such chunks). Reads every vector: for
        diagnostics, not for serving.

        Raises:
            EmptyQuery, InvalidText, QueryTooLong: Bad question.
        """
        clean = self._with_corrections(self._validate(question, 1, "hybrid", max_chars))
        text, _, _ = self._expanded(clean)
        query = normalised(self.encode_query(text)[None, :])[0]
        ids = np.arange(len(self.chunks), dtype=np.int64)
        chunk = similarities(normalised(self._dense.vectors(ids.tolist())), query)
        answerer = self._answerer
        unit = best_unit_similarities(ids, chunk, answerer.bounds, answerer.unit_vectors, query)
        return {"bm25": self._sparse.scores(text), "chunk": chunk, "unit": unit}

    # -- retrieval --------------------------------------------------------------------------
    def _validate(self, question: str, top_k: int, mode: str, max_chars: int) -> str:
        check_question(question, max_chars)
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        return " ".join(question.split())

    def _index_acronyms(self) -> None:
        """Tokenize every acronym and expansion once, and index them by token (queries touch few)."""
        self._acronym_tokens: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {}
        self._terms_by_token: dict[str, set[str]] = {}
        for term, meanings in self.acronyms.items():
            term_token = (tokenize(term) or [term.lower()])[0]
            expansions = tuple(tuple(tokenize(m.expansion)) for m in meanings)
            self._acronym_tokens[term] = (term_token, expansions)
            for token in {term_token, *(t for e in expansions for t in e)}:
                self._terms_by_token.setdefault(token, set()).add(term)
        self._topic_vocab = frozenset(self._terms_by_token)

    def _terms_for(self, tokens: list[str] | set[str]) -> list[str]:
        """Acronyms whose name or expansion shares a token with `tokens`, in table order."""
        found: set[str] = set()
        for token in tokens:
            found |= self._terms_by_token.get(token, set())
        return sorted(found)

    def _expanded(self, question: str) -> tuple[str, list[Clarification], set[str]]:
        """Add acronym expansions to the query text; find ambiguous acronyms and the docs to demote."""
        extra: list[str] = []
        clarifications: list[Clarification] = []
        demote: set[str] = set()
        used = acronyms_in(question, self.acronyms)
        for term in self._terms_for(tokenize(question)):
            meanings = self.acronyms[term]
            named = meaning_named_in(question, meanings) if len(meanings) > 1 else None
            if named is not None:
                demote.update(
                    d for m in meanings if m is not named for d in m.doc_ids if d not in named.doc_ids
                )
                extra.append(term)
            elif term in used and len(meanings) > 1:
                clarifications.append(Clarification(term, meanings))
            elif term in used:
                extra.append(meanings[0].expansion)
            elif len(meanings) == 1 and meaning_named_in(question, meanings):
                extra.append(term)  # "chief operating officer" also finds passages that say "COO"
        return (question + " " + " ".join(extra)).strip(), clarifications, demote

    def _closest_token(self, token: str) -> str | None:
        """The indexed token nearest to an unknown one (a typo: "reprt" -> "report"), if close enough."""
        if not hasattr(self, "_vocab_by_initial"):
            buckets: dict[str, list[str]] = {}
            for known in self._idf:
                buckets.setdefault(known[:1], []).append(known)
            self._vocab_by_initial = buckets
        candidates = [t for t in self._vocab_by_initial.get(token[:1], []) if abs(len(t) - len(token)) <= 2]
        match = difflib.get_close_matches(token, candidates, n=1, cutoff=0.8)
        return match[0] if match else None

    def _surface(self, stem: str, typed: str) -> str:
        """The corpus's word with this stem spelt nearest to what was typed, the most frequent of
        equally near ones ("expir" for "expries" -> "expires"; "accept" for "acept" -> "accept", not
        the more frequent "acceptance"), so that the model embeds a real word; the stem itself when
        none is found."""
        cache: dict[str, dict[str, int]] = self.__dict__.setdefault("_surface_cache", {})
        if stem not in cache:
            counts: dict[str, int] = {}
            pattern = re.compile(rf"\b{re.escape(stem)}\w*", re.IGNORECASE)
            for doc in self.documents.values():
                for match in pattern.finditer(doc.text):
                    word = match.group(0).lower()
                    counts[word] = counts.get(word, 0) + 1
            cache[stem] = {w: n for w, n in counts.items() if tokenize(w) == [stem]}
        words = cache[stem]
        typed = typed.lower()
        return max(
            words,
            key=lambda w: (difflib.SequenceMatcher(None, typed, w).ratio(), words[w]),
            default=stem,
        )

    # A correction is inserted after its word, marked by a word joiner (U+2060) that tokenization ignores.
    _CORRECTION = re.compile("(\\S+) \u2060(\\S+)")

    def _with_corrections(self, question: str) -> str:
        """The question with the nearest indexed word after each unknown word of 5+ letters (and the
        nearest question word after an unknown word of 3-4 letters).

        "who reprts to the coo" becomes "who reprts report to the coo": the original word stays (the
        embedding model copes with many typos), the correction sits in its place so that BM25 and the
        answer scorer (which looks at word order) see the word the corpus actually uses.
        """

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            tokens = tokenize(word)
            if len(tokens) != 1 or tokens[0] in self._idf:
                return word
            if len(word) < 5:
                # A short unknown word is most often a misspelt question word ("wat", "wen", "hw"):
                # corrected to one of those, or (four letters) to a word of the corpus only when two
                # of its letters were typed in the wrong order ("donw" -> "down"); other near misses
                # are too many, and three letters swap into other words ("die" -> "ide").
                near = difflib.get_close_matches(word.lower(), _SHORT_FUNCTION_WORDS, n=1, cutoff=0.8)
                swapped = near[0] if near else self._transposed(word.lower()) if len(word) == 4 else None
                return f"{word} \u2060{swapped}" if swapped else word
            nearest = self._closest_token(tokens[0])
            return f"{word} \u2060{self._surface(nearest, word)}" if nearest else word

        return re.sub(r"[^\W\d_]{3,}", fix, question)

    def _transposed(self, word: str) -> str | None:
        """The corpus's word that `word` is with two adjacent letters swapped back, if any."""
        for i in range(len(word) - 1):
            candidate = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            tokens = tokenize(candidate)
            if candidate != word and len(tokens) == 1 and tokens[0] in self._idf:
                return candidate
        return None

    def _for_scoring(self, corrected: str) -> str:
        """The corrected question with each misspelt word replaced by its correction, not followed by it.

        Retrieval keeps both (the model copes with many typos); scoring word coverage must not count
        the misspelling as a question word the corpus lacks.
        """
        return self._CORRECTION.sub(lambda m: m.group(2), corrected)

    def _entities(self, tokens: list[str]) -> set[str]:
        """The acronyms a token list names, by the acronym itself or by a full expansion."""
        present = set(tokens)
        found: set[str] = set()
        for term in self._terms_for(present):
            term_token, expansions = self._acronym_tokens[term]
            if term_token in present or any(e and present.issuperset(e) for e in expansions):
                found.add(term)
        return found

    def _is_topic(self, token: str) -> bool:
        """True for an acronym of the corpus or a word of one of its expansions."""
        return token in self._topic_vocab

    def _with_acronyms(self, tokens: list[str]) -> list[str]:
        """Tokens plus their acronym or expansion equivalents ("coo" <-> chief, oper, offic)."""
        present = set(tokens)
        extra: list[str] = []
        for term in self._terms_for(present):
            term_token, expansions = self._acronym_tokens[term]
            for expansion in expansions:
                if term_token in present:
                    extra.extend(expansion)
                elif expansion and present.issuperset(expansion):
                    extra.append(term_token)
        return tokens + extra

    def _ranked_ids(
        self, text: str, q_vector: npt.NDArray[np.float32], mode: str, depth: int
    ) -> list[tuple[int, float]]:
        if mode == "bm25":
            return self._sparse.search(text, depth)  # type: ignore[no-any-return]
        dense_hits = self._dense_search(q_vector, depth)
        if mode == "dense":
            return dense_hits
        return fuse(self._sparse.search(text, depth), dense_hits, depth, self.fusion)

    def _dense_search(self, q_vector: npt.NDArray[np.float32], depth: int) -> list[tuple[int, float]]:
        """The nearest chunks by vector, re-ranked with their best units (`rerank_by_best_unit`)."""
        hits: list[tuple[int, float]] = self._dense.search(q_vector, depth)
        if not self.best_unit_weight:
            return hits
        query = normalised(q_vector[None, :])[0]
        answerer = self._answerer
        return rerank_by_best_unit(hits, answerer.bounds, answerer.unit_vectors, query, self.best_unit_weight)

    def _retrieve(
        self, question: str, top_k: int, mode: str, max_chars: int, need_vector: bool = True
    ) -> tuple[list[Passage], npt.NDArray[np.float32], list[Clarification], str]:
        """Rank passages; also return the query vector, clarifications and the corrected question."""
        clean = self._with_corrections(self._validate(question, top_k, mode, max_chars))
        text, clarifications, demote = self._expanded(clean)
        # BM25-only search needs no embedding; answers always do (sentence similarity).
        q_vector = self.encode_query(text) if mode != "bm25" or need_vector else np.zeros(0, np.float32)
        depth = min(len(self.chunks), max(self.fusion.depth, top_k * 4))
        ranked = self._ranked_ids(text, q_vector, mode, depth)
        if demote:  # passages about the other meaning of an acronym must not outrank the one asked about
            ranked = [r for r in ranked if self.chunks[r[0]].doc_id not in demote] + [
                r for r in ranked if self.chunks[r[0]].doc_id in demote
            ]
        top = ranked[:top_k]
        for clar in clarifications:
            top = self._cover_meanings(top, ranked, clar, top_k)
        return (
            [self._passage(rank, cid, score) for rank, (cid, score) in enumerate(top, 1)],
            q_vector,
            clarifications,
            clean,
        )

    def _cover_meanings(
        self, top: list[tuple[int, float]], ranked: list[tuple[int, float]], clar: Clarification, top_k: int
    ) -> list[tuple[int, float]]:
        """Make sure every meaning of an ambiguous acronym has a passage among the top ones."""
        for meaning in clar.meanings:
            docs = set(meaning.doc_ids)
            if any(self.chunks[cid].doc_id in docs for cid, _ in top):
                continue
            best = next((r for r in ranked if self.chunks[r[0]].doc_id in docs), None)
            if best is not None:
                top = (top[:1] + [best] + top[1:])[:top_k]
        return top

    def _passage(self, rank: int, chunk_id: int, score: float) -> Passage:
        chunk = self.chunks[chunk_id]
        doc = self.documents[chunk.doc_id]
        where = locate(doc, chunk.start, chunk.end)
        return Passage(
            rank=rank,
            score=float(score),
            doc_id=doc.doc_id,
            title=doc.title,
            source=doc.source,
            section=chunk.section,
            start=chunk.start,
            end=chunk.end,
            text=chunk.text,
            chunk_id=chunk_id,
            display=chunk.display,
            page=where.page,
            page_end=where.page_end,
            slide=where.slide,
        )

    # -- answers ----------------------------------------------------------------------------
    def answer_evidence(
        self, question: str, top_k: int = 5, leave_out: Callable[[Passage], bool] | None = None
    ) -> tuple[list[Passage], Answered]:
        """Passages and the answer stage's full result (every scored unit, the confidence evidence).

        With `leave_out`, the passages it accepts are dropped from a deeper ranking and the next
        ones take their places: the question as asked of the corpus without them.
        Used by ``bench/fit_answers.py`` to fit the answer and confidence models.
        """
        depth = top_k if leave_out is None else top_k * LEAVE_OUT_DEPTH
        passages, q_vector, _, clean = self._retrieve(question, depth, "hybrid", 10**6)
        if leave_out is not None:
            kept = [p for p in passages if not leave_out(p)][:top_k]
            passages = [dataclasses.replace(p, rank=rank) for rank, p in enumerate(kept, 1)]
        return passages, self._answerer.answer(self._for_scoring(clean), q_vector, passages)

    def answer_span(self, unit: UnitScore, passages: list[Passage]) -> AnswerSpan:
        """The answer `unit` (one of `answer_evidence`'s ranked units) would give, were it the best."""
        return self._answerer.span(unit, passages)


def load_index(
    index_dir: Path, model: str, corpus_dir: Path | None = None, *, runtime: str = "auto"
) -> Index:
    """Load a built index and the model that embeds queries.

    Args:
        index_dir: The index folder (``docqa build`` writes it).
        model: The query-time model; must be the one the index was built with.
        corpus_dir: When given, refuse the index if this corpus changed since the build.
        runtime: ``auto`` (ONNX Runtime when the build exported the model, else
            sentence-transformers), ``onnx`` or ``torch`` (`index.runtime`).

    Raises:
        IndexNotReady: Missing, corrupt, built with another model, or stale; the message says what to run.
    """
    manifest = read_manifest(index_dir, model)
    if corpus_dir is not None:
        check_corpus_unchanged(manifest, corpus_dir)
    bundle = read_bundle(index_dir)
    embedder = make_embedder(model, runtime, onnx_root=default_onnx_root(index_dir))
    embedder.warm_up()
    return Index(manifest, bundle, embedder)
