"""The BM25 tokenizer: folding rules, stopwords, stemming, and properties over arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.tokenize import STOPWORDS, tokenize


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # case
        ("COO", "coo"),
        ("Chief Operating Officer", "chief operating officer"),
        # curly vs straight apostrophes
        ("company’s", "company's"),
        ("O’Neill", "O'Neill"),
        ("CCO‘s", "CCO's"),
        # possessives
        ("company's", "company"),
        ("company’s", "company"),
        ("COO's", "COO"),
        ("companies'", "companies"),
        # hyphens
        ("day-to-day", "day to day"),
        ("cross‑functional", "cross-functional"),  # U+2011 non-breaking hyphen
        # plurals and inflections
        ("COOs", "COO"),
        ("CCOs", "cco"),
        ("companies", "company"),
        ("reports", "reporting"),
        ("officers", "officer"),
        ("responsibilities", "responsibility"),
        # accents
        ("naïve café", "naive cafe"),
        # numbers spelt out or in digits
        ("one CPU unit", "1 CPU unit"),
        ("within seven calendar days", "within 7 calendar days"),
    ],
)
def test_variants_give_the_same_terms(left: str, right: str) -> None:
    assert tokenize(left) == tokenize(right)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Who reports to the company’s COOs?", ["report", "compani", "coo"]),
        ("day-to-day", ["day", "day"]),  # "to" is a stopword
        ("e-mail", ["e", "mail", "email"]),  # the joined form matches "email"
        ("T-cell", ["t", "cell", "tcell"]),
        ("IL-6 COVID-19", ["il", "6", "il6", "covid", "19", "covid19"]),
        ("back-off day-to-day", ["back", "off", "backoff", "day", "day"]),  # two parts: joined too
        ("snake_case 3.5", ["snake", "case", "3", "5"]),
        ("", []),
        ("   \n\t ", []),
        ("?!… — –", []),
    ],
)
def test_known_tokenizations(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_email_spelled_with_and_without_hyphen_share_a_term() -> None:
    assert set(tokenize("email")) <= set(tokenize("e-mail"))


@pytest.mark.parametrize(
    ("joined", "hyphenated"), [("backoff", "back-off"), ("signin", "sign-in"), ("coworkers", "co-workers")]
)
def test_two_part_compounds_match_their_closed_spelling(joined: str, hyphenated: str) -> None:
    assert set(tokenize(joined)) <= set(tokenize(hyphenated))


@pytest.mark.parametrize("word", ["who", "what", "when", "where", "why", "how", "which", "the", "does"])
def test_question_words_are_stopwords(word: str) -> None:
    assert tokenize(word) == []
    assert tokenize(word.upper()) == []


@pytest.mark.parametrize("typed", ["whats", "Thats", "theres", "its"])
def test_contractions_typed_without_apostrophe_are_stopwords_too(typed: str) -> None:
    # "whats" stems to "what": kept, it read as a rare word the corpus never uses.
    assert tokenize(f"{typed} the max value") == tokenize(f"{typed[:-1]}'s the max value") == ["max", "valu"]


@pytest.mark.parametrize("word", ["not", "no", "before", "after", "against"])
def test_meaningful_function_words_are_kept(word: str) -> None:
    assert tokenize(word) != []


def test_stopword_list_stays_small() -> None:
    assert 30 <= len(STOPWORDS) <= 60


def test_direction_words_survive_so_questions_differ_only_in_order() -> None:
    assert sorted(tokenize("Who reports to the COO?")) == sorted(tokenize("Who does the COO report to?"))


@given(st.text(max_size=200))
def test_terms_are_nonempty_lowercase_words(text: str) -> None:
    for term in tokenize(text):
        assert term
        assert term == term.casefold()
        assert not any(ch.isspace() for ch in term)
        assert "'" not in term and "-" not in term


@given(st.text(max_size=100), st.text(max_size=100))
def test_tokenizing_is_compositional_over_whitespace(left: str, right: str) -> None:
    assert tokenize(left + " " + right) == tokenize(left) + tokenize(right)


@given(st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzS0123456789 -'’.,?"), max_size=200))
def test_tokenizing_is_case_insensitive(text: str) -> None:
    # Acronym plurals ("CCOs") are the one deliberate case-dependent rule, so compare a fully
    # upper-cased text with its lower-cased twin (no mixed "XXs" word exists in either). ASCII
    # only: Unicode case mapping is not a bijection (Turkish dotless "ı" upper-cases to "I").
    assert tokenize(text.upper()) == tokenize(text.lower())


def test_tokenize_is_thread_safe() -> None:
    # PyStemmer objects are not thread-safe; the engine tokenizes from a thread pool.
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"The companies’ COOs reported {i} day-to-day e-mails to their officers" for i in range(400)]
    expected = [tokenize(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(tokenize, texts)) == expected
