"""SparseIndex against rank-bm25's BM25Okapi (the reference scorer) on the real default corpus."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from index.sparse import SparseIndex
from index.tokenize import tokenize

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus" / "documents"

QUESTIONS = [
    "Who reports to the COO?",
    "Who does the COO report to?",
    "What does a chief commercial officer do?",
    "What is the difference between a CCO and a CRO?",
    "chief customer officer responsibilities",
    "customer experience and retention",
    "revenue growth strategy sales marketing",
    "company’s day-to-day operations",
    "What is the capital of France?",
]


class LuceneIdfBM25(BM25Okapi):
    """rank-bm25's scorer with only the idf swapped for Lucene's ``log(1 + (N - n + .5) / (n + .5))``."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


@pytest.fixture(scope="module")
def paragraphs() -> list[str]:
    """The default corpus split into paragraphs: a few hundred real, uneven 'documents'."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt"))]
    paras = [para.strip() for text in texts for para in text.split("\n\n") if para.strip()]
    assert len(paras) > 50
    return paras


@pytest.fixture(scope="module")
def tokens(paragraphs: list[str]) -> list[list[str]]:
    return [tokenize(p) for p in paragraphs]


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (1.2, 0.75), (0.9, 0.4), (2.0, 1.0), (1.0, 0.0)])
def test_okapi_scores_equal_rank_bm25(
    paragraphs: list[str], tokens: list[list[str]], k1: float, b: float
) -> None:
    ours = SparseIndex.build(paragraphs, k1=k1, b=b, idf="okapi")
    reference = BM25Okapi(tokens, k1=k1, b=b, epsilon=0.25)
    for question in QUESTIONS:
        np.testing.assert_allclose(
            ours.scores(question), reference.get_scores(tokenize(question)), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (0.9, 0.4)])
def test_lucene_scores_equal_rank_bm25_with_lucene_idf(
    paragraphs: list[str], tokens: list[list[str]], k1: float, b: float
) -> None:
    ours = SparseIndex.build(paragraphs, k1=k1, b=b)
    reference = LuceneIdfBM25(tokens, k1=k1, b=b)
    for question in QUESTIONS:
        np.testing.assert_allclose(
            ours.scores(question), reference.get_scores(tokenize(question)), rtol=1e-5, atol=1e-5
        )


def _reference_ranking(scores: np.ndarray, k: int) -> list[int]:
    positive = [i for i in np.argsort(-scores, kind="stable") if scores[i] > 0]
    return [int(i) for i in positive[:k]]


def test_search_ranking_is_identical_to_rank_bm25(paragraphs: list[str], tokens: list[list[str]]) -> None:
    ours = SparseIndex.build(paragraphs, k1=1.5, b=0.75, idf="okapi")
    reference = BM25Okapi(tokens)
    for question in QUESTIONS:
        expected = reference.get_scores(tokenize(question)).astype(np.float32)
        got = ours.search(question, k=10)
        assert [doc for doc, _ in got] == _reference_ranking(expected, 10), question


def test_search_returns_best_first_positive_scores_only(paragraphs: list[str]) -> None:
    index = SparseIndex.build(paragraphs)
    results = index.search("Who reports to the COO?", k=len(paragraphs))
    assert results, "the COO question must match something"
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert len(results) == int((index.scores("Who reports to the COO?") > 0).sum())


def test_question_about_the_coo_finds_a_paragraph_mentioning_it(paragraphs: list[str]) -> None:
    index = SparseIndex.build(paragraphs)
    top, _ = index.search("COOs’ day-to-day responsibilities", k=1)[0]
    assert "coo" in paragraphs[top].lower()


def test_unknown_and_stopword_only_queries_find_nothing(paragraphs: list[str]) -> None:
    index = SparseIndex.build(paragraphs)
    assert index.search("zyxwvut qqqq", k=5) == []
    assert index.search("who is the what", k=5) == []
    assert not index.scores("").any()


def test_ties_are_broken_by_document_id() -> None:
    index = SparseIndex.build(["alpha beta", "gamma", "alpha beta", "alpha beta"])
    assert [doc for doc, _ in index.search("alpha", k=2)] == [0, 2]
    assert [doc for doc, _ in index.search("alpha", k=3)] == [0, 2, 3]


def test_repeated_query_terms_count_repeatedly(paragraphs: list[str]) -> None:
    index = SparseIndex.build(paragraphs)
    np.testing.assert_allclose(index.scores("revenue revenue"), 2 * index.scores("revenue"), rtol=1e-6)


def test_save_load_round_trip(paragraphs: list[str], tmp_path: Path) -> None:
    index = SparseIndex.build(paragraphs, k1=0.9, b=0.4)
    index.save(tmp_path / "bm25")
    loaded = SparseIndex.load(tmp_path / "bm25")
    assert len(loaded) == len(index) == len(paragraphs)
    assert loaded.params == index.params
    for question in QUESTIONS:
        np.testing.assert_array_equal(loaded.scores(question), index.scores(question))
        assert loaded.search(question, k=5) == index.search(question, k=5)


def test_load_missing_directory_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SparseIndex.load(tmp_path / "nothing")


def test_load_corrupt_metadata_raises_value_error(paragraphs: list[str], tmp_path: Path) -> None:
    SparseIndex.build(paragraphs[:5]).save(tmp_path)
    (tmp_path / "bm25.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="corrupt"):
        SparseIndex.load(tmp_path)


def test_load_other_format_raises_value_error(paragraphs: list[str], tmp_path: Path) -> None:
    SparseIndex.build(paragraphs[:5]).save(tmp_path)
    (tmp_path / "bm25.json").write_text('{"format": 99, "params": {}, "vocab": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match="99"):
        SparseIndex.load(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"k1": 0.0}, "0.0"),
        ({"k1": -1.0}, "-1.0"),
        ({"k1": math.nan}, "nan"),
        ({"b": 1.5}, "1.5"),
        ({"b": -0.1}, "-0.1"),
        ({"idf": "bm11"}, "bm11"),
        ({"epsilon": -1.0}, "-1.0"),
    ],
)
def test_bad_parameters_raise_value_error_naming_the_value(kwargs: dict[str, object], bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        SparseIndex.build(["some text"], **kwargs)  # type: ignore[arg-type]


def test_empty_corpus_and_bad_k_raise_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        SparseIndex.build([])
    with pytest.raises(ValueError, match="single"):
        SparseIndex.build("single string")
    with pytest.raises(ValueError, match="0"):
        SparseIndex.build(["text"]).search("text", k=0)


def test_corpus_of_empty_documents_scores_zero() -> None:
    index = SparseIndex.build(["", "the", "???"])
    assert len(index) == 3
    assert index.search("anything", k=3) == []


_WORDS = st.sampled_from(["coo", "ceo", "cco", "report", "revenu", "custom", "sale", "team", "growth"])


@settings(max_examples=60, deadline=None)
@given(
    corpus=st.lists(st.lists(_WORDS, max_size=12), min_size=1, max_size=15),
    query=st.lists(_WORDS, min_size=1, max_size=4),
    idf=st.sampled_from(["okapi", "lucene"]),
)
def test_scores_equal_reference_on_generated_corpora(
    corpus: list[list[str]], query: list[str], idf: str
) -> None:
    if sum(map(len, corpus)) == 0:
        return  # rank-bm25 divides by the average length; ours returns zeros (tested above)
    ours = SparseIndex.from_tokens(corpus, k1=1.5, b=0.75, idf=idf)  # type: ignore[arg-type]
    reference = BM25Okapi(corpus) if idf == "okapi" else LuceneIdfBM25(corpus, k1=1.5, b=0.75)
    np.testing.assert_allclose(
        ours.scores_for_tokens(query), reference.get_scores(query), rtol=1e-5, atol=1e-5
    )
