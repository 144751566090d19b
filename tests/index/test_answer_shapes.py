"""The shape-of-text features of answer selection: questions that want a value, comparisons."""

from __future__ import annotations

import pytest

from index.answer import comparison_agreement, wants_number


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("How many vacation days carry over?", True),
        ("How long is the grace period before a Pod is killed?", True),
        ("What is the default value of the timeout?", True),
        ("What's the maximum number of replicas?", True),
        ("whats the limit on uploads", True),
        ("What is the longest workday allowed?", True),
        ("What are the smallest units you can deploy?", True),
        ("What is a Pod?", False),
        ("Who is the default owner of a repository?", False),
        ("How do I request time off?", False),
    ],
)
def test_questions_that_want_a_value(question: str, wanted: bool) -> None:
    assert wants_number(question) is wanted


@pytest.mark.parametrize(
    ("question", "text", "agreement"),
    [
        ("Who approves more than 80 hours of leave?", "To request over 80 hours, ask your director.", 1.0),
        ("Who approves more than 80 hours of leave?", "To request 80 hours or less, ask your lead.", -1.0),
        ("Can I spend more than $2,500?", "Purchases above $2,500 need approval.", 1.0),
        ("Can I spend more than $2,500?", "Purchases under $2,500 need no approval.", -1.0),
        ("What can I book with less than a week's notice?", "Up to 3 days ahead: trains only.", 1.0),
        ("Who approves more than 80 hours of leave?", "Ask over the phone or in person.", 0.0),
        ("Who approves leave?", "To request over 80 hours, ask your director.", 0.0),
    ],
)
def test_comparison_direction(question: str, text: str, agreement: float) -> None:
    assert comparison_agreement(question, text) == agreement
