"""Conversations: follow-up resolution (issue 3's examples) over HTTP, plus the rules and session store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from corpus.ingest import iter_documents
from index.types import Clarification, Meaning
from service.followup import Turn, resolve
from service.state import SessionState
from service.state.memory import MemorySessions
from service.topics import is_plural, topic_phrase
from service.vocabulary import Vocabulary


def _talk(client: httpx.Client, *messages: str, session_id: str | None = None) -> list[dict[str, Any]]:
    replies = []
    for message in messages:
        payload: dict[str, object] = {"message": message}
        if session_id is not None:
            payload["session_id"] = session_id
        response = client.post("/v1/chat", json=payload)
        assert response.status_code == 200, response.text
        reply = response.json()
        session_id = str(reply["session_id"])
        replies.append(reply)
    return replies


def _passage_text(reply: dict[str, Any]) -> str:
    return " ".join(p["text"] for p in reply["passages"])


def _doc_ids(reply: dict[str, Any], k: int = 3) -> list[str]:
    return [p["doc_id"] for p in reply["passages"][:k]]


# -- over HTTP, on the real index ----------------------------------------------------------------


@pytest.mark.integration
def test_they_after_chief_revenue_officer_searches_the_cro_reporting_line(client: httpx.Client) -> None:
    first, second = _talk(client, "What does a chief revenue officer focus on?", "Who do they report to?")
    assert second["session_id"] == first["session_id"]
    assert second["resolved_question"] == "Who does the chief revenue officer report to?"
    assert second["question"] == "Who do they report to?"
    assert "Typically reports to the CEO" in _passage_text(second)


@pytest.mark.integration
def test_their_success_stays_on_the_chief_customer_officer(client: httpx.Client) -> None:
    _, reply = _talk(client, "What does a chief customer officer do?", "And how is their success measured?")
    assert reply["resolved_question"] == "How is the chief customer officer's success measured?"
    assert _doc_ids(reply)[0] == "customer-officer-vs-coo"
    assert "Chief Customer Officer" in _passage_text(reply)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("choice", "resolved", "expected_doc"),
    [
        (
            "Chief Customer Officer",
            "What is a Chief Customer Officer in healthcare?",
            "customer-officer-vs-coo",
        ),
        ("the commercial one", "What is a Chief Commercial Officer in healthcare?", None),
    ],
)
def test_answering_a_clarification_searches_with_that_meaning(
    client: httpx.Client, choice: str, resolved: str, expected_doc: str | None
) -> None:
    first, second, third = _talk(client, "What is a CCO in healthcare?", choice, "What do CCOs earn?")
    assert [c["term"] for c in first["clarifications"]] == ["CCO"]
    assert second["resolved_question"] == resolved
    assert second["clarifications"] == []
    if expected_doc:
        assert _doc_ids(second)[0] == expected_doc
    else:
        assert "customer-officer-vs-coo" not in _doc_ids(second, 2)
    # The meaning sticks for the rest of the session.
    meaning = resolved.split(" in ")[0].removeprefix("What is a ")
    assert meaning in str(third["resolved_question"])
    assert third["clarifications"] == []


@pytest.mark.integration
def test_elliptical_follow_ups(client: httpx.Client) -> None:
    replies = _talk(
        client,
        "Who does the CRO report to?",
        "what about the COO?",
        "and the salary?",
        "and in a law firm?",
    )
    assert [r["resolved_question"] for r in replies[1:]] == [
        "Who does the COO report to?",
        "What is the salary of the COO?",
        "What is the salary of the COO in a law firm?",
    ]
    assert "150,000" in _passage_text(replies[2])


@pytest.mark.integration
def test_sessions_do_not_leak_into_each_other(client: httpx.Client) -> None:
    [cro] = _talk(client, "What does a chief revenue officer focus on?")
    [cco] = _talk(client, "What does a chief customer officer do?")
    [follow_cro] = _talk(client, "Who do they report to?", session_id=str(cro["session_id"]))
    [follow_cco] = _talk(client, "Who do they report to?", session_id=str(cco["session_id"]))
    assert "revenue" in str(follow_cro["resolved_question"])
    assert "customer" in str(follow_cco["resolved_question"])


@pytest.mark.integration
@pytest.mark.parametrize(
    "sid",
    ["T0123:C0456:1700000000.000100", "slack:T0DOCQA:C1:1700000000.000100", "0" * 32],
)
def test_a_session_id_the_service_did_not_issue_is_refused(client: httpx.Client, sid: str) -> None:
    # Issue #11.5: ids are issued by the service; a chosen or guessed one (here shaped like a
    # Slack thread's) is a 404, never a session, so HTTP cannot read or steer a Slack thread.
    response = client.post("/v1/chat", json={"session_id": sid, "message": "Who do they report to?"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_session"
    assert "Omit session_id" in response.json()["error"]["message"]


@pytest.mark.integration
def test_issued_session_ids_are_unguessable(client: httpx.Client) -> None:
    ids = {str(_talk(client, "Who reports to the COO?")[0]["session_id"]) for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", sid) for sid in ids)  # 192 random bits each


@pytest.mark.integration
def test_first_message_is_searched_as_sent(client: httpx.Client) -> None:
    [reply] = _talk(client, "Who do they report to?")
    assert reply["resolved_question"] == "Who do they report to?"


# -- the rules, over the corpus's own vocabulary -------------------------------------------------


@pytest.fixture(scope="module")
def vocab(corpus_dir: Path) -> Vocabulary:
    return Vocabulary.build({}, [d.text for d in iter_documents(corpus_dir)])


def _turn(question: str, vocab: Vocabulary, clarifications: tuple[Clarification, ...] = ()) -> Turn:
    subjects = tuple(dict.fromkeys(m.surface for m in vocab.mentions(question)))
    return Turn(question, question, subjects, clarifications)


def test_vocabulary_comes_from_definitions_in_the_corpus(vocab: Vocabulary) -> None:
    found = {
        m.key for m in vocab.mentions("the CRO, a chief operating officer and the Chief Executive Officer")
    }
    assert found == {"CRO", "chief operating officer", "chief executive officer"}
    assert vocab.mentions("Is it new?") == []


@pytest.mark.parametrize(
    ("earlier", "message", "expected"),
    [
        (
            "What does a chief revenue officer focus on?",
            "Who do they report to?",
            "Who does the chief revenue officer report to?",
        ),
        ("What does the COO do?", "What is their salary?", "What is the COO's salary?"),
        ("What does the COO do?", "Is this role new?", "Is the COO role new?"),
        ("What does the COO do?", "Are they second in command?", "Is the COO second in command?"),
        (
            "What is the difference between a CCO and a CRO?",
            "Who do they report to?",
            "Who do the CCO and the CRO report to?",
        ),
        (
            "What does a chief revenue officer focus on?",
            "and the salary?",
            "What is the salary of the chief revenue officer?",
        ),
        (
            "What does a chief revenue officer focus on?",
            "How about their background?",
            "What about the chief revenue officer's background?",
        ),
        ("Who does the CRO report to?", "And the CFO?", "Who does the CFO report to?"),
        ("What does a CCO do?", "and in healthcare?", "What does a CCO do in healthcare?"),
        ("What does the COO do?", "Who reports to the CEO?", "Who reports to the CEO?"),
        ("What is a fractional COO?", "Thanks, that helps.", "Thanks, that helps."),
        (
            "What does a chief revenue officer focus on?",
            "How do they compare to the COO?",
            "How does the chief revenue officer compare to the COO?",
        ),
        ("What does the COO do?", "Does the CRO say what they earn?", "Does the CRO say what they earn?"),
        (
            "What does the COO do?",
            "Is it true that the CEO hires them?",
            "Is it true that the CEO hires them?",
        ),
        ("What does the COO do?", "Is it a new role?", "Is the COO a new role?"),
    ],
)
def test_follow_up_rules(vocab: Vocabulary, earlier: str, message: str, expected: str) -> None:
    assert resolve(message, [_turn(earlier, vocab)], vocab, {}).question == expected


def test_a_pronoun_refers_to_the_previous_topic_when_it_names_no_acronym(vocab: Vocabulary) -> None:
    history = [_turn("What is a static Pod?", vocab)]
    assert resolve("Who supervises them?", history, vocab, {}).question == "Who supervises the static Pod?"
    history = [_turn("How do I get a PIV card?", vocab)]
    assert resolve("What if I forget it at home?", history, vocab, {}).question == (
        "What if I forget the PIV card at home?"
    )


def test_the_verb_of_a_how_to_question_is_not_part_of_its_topic(vocab: Vocabulary) -> None:
    # "it" is what was enabled or configured, not the doing of it.
    history = [_turn("How do I enable debug mode?", vocab)]
    assert resolve("Should I use it in production?", history, vocab, {}).question == (
        "Should I use the debug mode in production?"
    )
    history = [_turn("How to rotate the signing key?", vocab)]
    assert resolve("What happens if it leaks?", history, vocab, {}).question == (
        "What happens if the signing key leaks?"
    )
    assert topic_phrase("Can we archive old projects?") == "old projects"
    # After a noun subject, the word a determiner follows is the verb.
    assert topic_phrase("How does the scheduler pick a node?") == "scheduler"
    history = [_turn("How does the garbage collector delete the dependents of an owner?", vocab)]
    assert (
        resolve("Can it be turned off?", history, vocab, {}).question
        == "Can the garbage collector be turned off?"
    )


def test_a_light_verb_after_a_noun_subject_ends_the_topic(vocab: Vocabulary) -> None:
    # The documents say "impact reviews take place", but "take" is the question's verb.
    said = {"impact reviews take place", "cycle to work scheme"}.__contains__
    assert topic_phrase("When do impact reviews take place?", None, said) == "impact reviews"
    assert topic_phrase("How long do impact reviews take?", None, said) == "impact reviews"
    # A verb after "to" is inside the subject; the last one is the question's.
    assert topic_phrase("How does the cycle to work scheme work?", None, said) == "cycle to work scheme"
    history = [Turn("When do impact reviews take place?", "When do impact reviews take place?", (), ())]
    assert resolve("Am I eligible for one?", history, vocab, {}, occurs=said).question == (
        "Am I eligible for the impact reviews?"
    )


def test_a_pronoun_means_the_entity_as_the_topic_named_it(vocab: Vocabulary) -> None:
    # "they" is the fractional COO asked about, not any COO.
    first = _turn("What is a fractional COO?", vocab)
    history = [Turn(first.message, first.resolved, first.subjects, (), topic_phrase(first.resolved))]
    assert history[0].topic == "fractional COO"
    assert resolve("Who do they work for?", history, vocab, {}).question == (
        "Who does the fractional COO work for?"
    )


def test_a_phrase_the_documents_say_does_not_cut_the_topic_short() -> None:
    # The documents say "specific log" and "log entries", never the three words together.
    said = {"specific log", "log entries", "virtual manifest", "cargo workspace"}.__contains__
    assert topic_phrase("How do I delete specific log entries in Loki?", None, said) == "specific log entries"
    assert topic_phrase("What is a virtual manifest in a Cargo workspace?", None, said) == "virtual manifest"


def test_a_singular_it_after_a_plural_topic_means_what_was_asked_for(vocab: Vocabulary) -> None:
    # The topic is the plural "COO candidates" (its acronym only a modifier): "it" can only be the
    # salary the question asked for, neither the candidates nor the COO.
    history = [_turn("Which salary do COO candidates get?", vocab)]
    assert resolve("Is it negotiable?", history, vocab, {}).question == "Is the salary negotiable?"
    history = [_turn("Which port do the web servers use?", vocab)]
    assert resolve("Can I change it?", history, vocab, {}).question == "Can I change the port?"
    # A singular topic keeps "it" (the rule above is for number agreement only), and "they" still
    # means the plural topic.
    history = [_turn("Which port does the web server use?", vocab)]
    assert resolve("Can I restart it?", history, vocab, {}).question == "Can I restart the web server?"
    history = [_turn("Which port do the web servers use?", vocab)]
    assert "web servers" in resolve("Can they share it?", history, vocab, {}).question


def test_the_verb_that_ends_a_question_about_an_asked_noun_is_not_in_the_topic(vocab: Vocabulary) -> None:
    # "Which port ... listen on?": the asked noun is the object, so the clause ends with its verb.
    assert topic_phrase("Which port do the web servers listen on?") == "web servers"
    assert topic_phrase("Which salary do COO candidates expect?") == "COO candidates"
    said = {"build scripts"}.__contains__
    assert topic_phrase("Which file do the build scripts read?", None, said) == "build scripts"
    history = [_turn("Which port do the web servers listen on?", vocab)]
    assert resolve("Where are they configured?", history, vocab, {}).question == (
        "Where are the web servers configured?"
    )


def test_the_verb_after_a_noun_subject_is_not_in_the_topic(vocab: Vocabulary) -> None:
    # "When does the office open?": the subject is "office"; "open" is what it does.
    assert topic_phrase("When does the office open?") == "office"
    assert topic_phrase("How often do the runners restart?") == "runners"
    assert topic_phrase("Who does the COO report to?") == "COO"
    # A last word that looks like a noun of its own (plural, a name) is not taken for the verb.
    assert topic_phrase("Where does the exporter write logs?").endswith("logs")
    assert topic_phrase("Why does the API return JSON?").endswith("JSON")
    history = [_turn("When does the office open?", vocab)]
    assert resolve("Is it open on Sundays?", history, vocab, {}).question == "Is the office open on Sundays?"


def test_a_capitalised_function_word_inside_a_question_is_a_name() -> None:
    # "Go" is the language here, not the verb; the documents say "Go code" and "Make targets".
    said = {"go code", "make targets"}.__contains__
    assert topic_phrase("Which formatter must all Go code be run through?", None, said) == "Go code"
    assert topic_phrase("Where do I find the Make targets?", None, said) == "Make targets"
    # In a question written in title case a capital says nothing: "Get" stays a light verb.
    assert topic_phrase("How Do I Get A PIV Card?") == "PIV Card"
    # Lower case, "go" is the verb it usually is.
    assert topic_phrase("Where does all the code go?") == "code"


def test_on_its_own_has_no_owner_to_spell_out(vocab: Vocabulary) -> None:
    history = [_turn("What is a library chart?", vocab)]
    assert resolve("Can it be installed on its own?", history, vocab, {}).question == (
        "Can the library chart be installed on its own?"
    )
    assert resolve("Does it have its own values file?", history, vocab, {}).question == (
        "Does the library chart have the library chart's own values file?"
    )
    history = [_turn("Who are the interns?", vocab)]
    assert resolve("Can they work on their own?", history, vocab, {}).question == (
        "Can the interns work on their own?"
    )


def test_a_plural_topic_keeps_its_verbs_plural(vocab: Vocabulary) -> None:
    history = [_turn("How does the registry handle deletion requests from partners?", vocab)]
    assert resolve("Are they logged?", history, vocab, {}).question == "Are the deletion requests logged?"
    assert resolve("Do they expire?", history, vocab, {}).question == "Do the deletion requests expire?"
    history = [_turn("How does the registry handle a deletion request?", vocab)]
    assert resolve("Is it logged?", history, vocab, {}).question == "Is the deletion request logged?"


def test_a_condition_or_circumstance_continues_the_previous_question(vocab: Vocabulary) -> None:
    history = [_turn("How do sponsorship payouts work?", vocab)]
    assert resolve("And if I'm paid by wire transfer?", history, vocab, {}).question == (
        "How do sponsorship payouts work if I'm paid by wire transfer?"
    )
    history = [_turn("How many vacation days do I get?", vocab)]
    assert resolve("And for contractors?", history, vocab, {}).question == (
        "How many vacation days do I get for contractors?"
    )
    # A follow-up that asks something of its own is not a continuation.
    assert resolve("And for how long?", history, vocab, {}).question != (
        "How many vacation days do I get for how long?"
    )


@pytest.mark.parametrize(
    ("earlier", "message", "question"),
    [
        (
            "What is the monthly limit for a road bike?",
            "And for a cargo bike?",
            "What is the monthly limit for a cargo bike?",
        ),
        (
            "What is the fee for international transfers?",
            "For domestic ones?",
            "What is the fee for domestic transfers?",
        ),
        (
            "How many days of leave do I get in Canada?",
            "And in Spain?",
            "How many days of leave do I get in Spain?",
        ),
        (
            "What is the default value of server.host?",
            "And of server.port?",
            "What is the default value of server.port?",
        ),
        (
            "How do payouts work if I'm paid by wire?",
            "And if I'm paid by cheque?",
            "How do payouts work if I'm paid by cheque?",
        ),
        # "for a phone plan" is what is reimbursed, not the circumstance the follow-up swaps
        (
            "How much is reimbursed for a phone plan in on-call roles?",
            "And for other roles?",
            "How much is reimbursed for a phone plan in on-call roles for other roles?",
        ),
    ],
)
def test_a_parallel_phrase_takes_the_place_of_the_one_the_question_ended_with(
    vocab: Vocabulary, earlier: str, message: str, question: str
) -> None:
    assert resolve(message, [_turn(earlier, vocab)], vocab, {}).question == question


@pytest.mark.parametrize(
    ("earlier", "message", "question", "alternative"),
    [
        # Another subject, the same question; the aspect reading stays as a fallback.
        (
            "What is a Deployment?",
            "What about a StatefulSet?",
            "What is a StatefulSet?",
            "What about a StatefulSet (Deployment)?",
        ),
        ("How do I create a Job?", "And a CronJob?", "How do I create a CronJob?", "A CronJob (Job)?"),
        ("How do I delete the Pod?", "And the Service?", "How do I delete the Service?", None),
        # "one" after an adjective is a kind of the topic.
        ("What is a Service?", "And a headless one?", "What is a headless Service?", None),
        # A definite noun phrase where the topic had none is first read as an aspect of the topic.
        (
            "How do I request time off?",
            "And the deadline?",
            "The deadline (time off)?",
            "How do I request the deadline?",
        ),
    ],
)
def test_an_elliptical_noun_phrase_names_a_new_subject_or_an_aspect(
    vocab: Vocabulary, earlier: str, message: str, question: str, alternative: str | None
) -> None:
    resolution = resolve(message, [_turn(earlier, vocab)], vocab, {})
    assert resolution.question == question
    assert resolution.fallback
    if alternative is not None:
        assert resolution.alternative == alternative


def test_the_new_subject_takes_the_place_of_the_topic_and_its_article(vocab: Vocabulary) -> None:
    # The rarest phrase ("road bike", by the corpus's idf in the service) is the topic.
    earlier = "What is the monthly limit for a road bike?"
    history = [Turn(earlier, earlier, (), (), "road bike")]
    assert resolve("What about cargo bikes?", history, vocab, {}).question == (
        "What is the monthly limit for cargo bikes?"
    )


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("And the maximum value?", "What is the maximum value for spec.duration?"),  # the noun they share
        ("And the minimum?", "What is the minimum for spec.duration?"),  # the topic's own phrase stays
    ],
)
def test_a_new_noun_phrase_replaces_the_part_of_the_topic_it_stands_for(
    vocab: Vocabulary, message: str, question: str
) -> None:
    # The documents say "Default value for spec.duration": that whole phrase is the topic.
    earlier = "What is the default value for spec.duration?"
    history = [Turn(earlier, earlier, (), (), "default value for spec.duration")]
    assert resolve(message, history, vocab, {}).question == question


@pytest.mark.parametrize(
    ("earlier", "message", "question"),
    [
        (
            "How do I see Express's internal logs?",
            "And only the router's?",
            "How do I see only the router's internal logs?",
        ),
        ("What is the head of sales's salary?", "What about the auditor's?", "What is the auditor's salary?"),
        (
            "What is the chief executive officer's salary?",
            "And the treasurer's?",
            "What is the treasurer's salary?",
        ),
    ],
)
def test_a_possessive_follow_up_asks_about_the_same_thing_of_another_owner(
    vocab: Vocabulary, earlier: str, message: str, question: str
) -> None:
    assert resolve(message, [_turn(earlier, vocab)], vocab, {}).question == question


def test_when_with_an_auxiliary_asks_its_own_question(vocab: Vocabulary) -> None:
    history = [_turn("What is a DaemonSet?", vocab)]
    assert resolve("When should I use it instead of a Deployment?", history, vocab, {}).question == (
        "When should I use the DaemonSet instead of a Deployment?"
    )
    history = [_turn("How do sponsorship payouts work?", vocab)]
    assert resolve("And when I'm paid by wire transfer?", history, vocab, {}).question == (
        "How do sponsorship payouts work when I'm paid by wire transfer?"
    )


def test_plural_noun_phrases() -> None:
    assert is_plural("takedown requests from governments") and is_plural("static pods")
    # Capitalised heads are names; -ss, -us and -is endings are singular.
    assert not is_plural("GitHub Sponsors") and not is_plural("access") and not is_plural("status")
    assert not is_plural("analysis") and not is_plural("deletion request")


def test_an_elliptical_follow_up_gets_the_topic_and_the_message_alone_as_an_alternative(
    vocab: Vocabulary,
) -> None:
    history = [_turn("How do I request time off?", vocab)]
    explicit = resolve("And how many days do I get?", history, vocab, {})
    assert explicit.question == "How many days do I get (time off)?"
    assert explicit.alternative is None  # "And ..." says it continues the conversation
    implicit = resolve("How many days do I get?", history, vocab, {})
    assert implicit.question == "How many days do I get (time off)?"
    assert implicit.alternative == "How many days do I get?"


def test_what_a_question_is_about_is_its_rarest_content_phrase() -> None:
    idf = {"pod": 2.0, "static": 3.0, "kubernet": 0.1, "job": 2.5}.get
    assert topic_phrase("What is a static Pod?", lambda t: idf(t) or 1.0) == "static Pod"
    assert topic_phrase("What is a Job in Kubernetes?", lambda t: idf(t) or 1.0) == "Job"
    assert topic_phrase("How long can its name be?") == "name"


def test_a_topic_keeps_its_notation() -> None:
    # Type parameters, paths and "++" are part of the name a follow-up must repeat.
    assert topic_phrase("What is Rc<T> used for?") == "Rc<T>"
    assert topic_phrase("What does std::fs::read do?") == "std::fs::read"
    assert topic_phrase("What is C++?") == "C++"


CCO = Clarification(
    "CCO",
    (
        Meaning("Chief Commercial Officer", ("cco-vs-coo", "cco-vs-cro", "what-does-a-cco-do")),
        Meaning("Chief Customer Officer", ("customer-officer-vs-coo",)),
    ),
)


@pytest.mark.parametrize(
    ("reply", "expansion"),
    [
        ("Chief Customer Officer", "Chief Customer Officer"),
        ("chief customer officer.", "Chief Customer Officer"),
        ("I mean the Chief Commercial Officer", "Chief Commercial Officer"),
        ("customer", "Chief Customer Officer"),
        ("2", "Chief Customer Officer"),
    ],
)
def test_clarification_replies(vocab: Vocabulary, reply: str, expansion: str) -> None:
    history = [_turn("What does a CCO earn?", vocab, (CCO,))]
    resolution = resolve(reply, history, vocab, {})
    assert resolution.question == f"What does a {expansion} earn?"
    assert resolution.chosen == {"CCO": expansion}


def test_a_new_question_after_a_clarification_is_not_taken_as_a_choice(vocab: Vocabulary) -> None:
    history = [_turn("What does a CCO earn?", vocab, (CCO,))]
    resolution = resolve("Who reports to the COO?", history, vocab, {})
    assert resolution.question == "Who reports to the COO?"
    assert resolution.chosen == {}


# -- the session store ---------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_after_the_ttl() -> None:
    clock = _Clock()
    store = MemorySessions(ttl_seconds=60, max_sessions=10, clock=clock)
    state = SessionState().after(Turn("q", "q", ()), {}, 3)
    assert store.save("http:a", state, 0)
    clock.now += 59
    assert store.load("http:a") == state and store.count() == 1
    clock.now += 2
    assert store.load("http:a") is None and store.count() == 0


def test_session_and_turn_caps() -> None:
    clock = _Clock()
    store = MemorySessions(ttl_seconds=3600, max_sessions=3, clock=clock)
    for n in range(5):
        clock.now += 1
        store.save(f"http:{n}", SessionState(), 0)
    assert store.count() == 3
    state = SessionState()
    for n in range(5):
        state = state.after(Turn(f"q{n}", f"q{n}", ()), {}, 2)
    assert [t.message for t in state.turns] == ["q3", "q4"] and state.version == 5


def test_session_saves_are_compare_and_set() -> None:
    store = MemorySessions(ttl_seconds=60, max_sessions=10)
    first = SessionState().after(Turn("a", "a", ()), {}, 5)
    assert store.save("http:s", first, 0)
    assert not store.save("http:s", first, 0)  # a second writer that read the empty session loses
    assert store.save("http:s", first.after(Turn("b", "b", ()), {}, 5), 1)


def test_session_state_round_trips_through_json() -> None:
    clar = Clarification("CCO", (Meaning("Chief Customer Officer", ("d1",)),))
    state = SessionState().after(
        Turn("What is a CCO?", "What is a CCO?", ("CCO",), (clar,), "cco"), {"CCO": "x"}, 5
    )
    assert SessionState.from_json(state.to_json()) == state


@pytest.mark.integration
def test_resolution_never_pushes_a_valid_message_over_the_limit(client: httpx.Client) -> None:
    message = ("they " * 799).strip() + "?"
    assert len(message) <= 4000
    _, reply = _talk(client, "What does a chief revenue officer focus on?", message)
    assert reply["resolved_question"] == message


@pytest.mark.integration
def test_follow_ups_about_non_acronym_subjects_through_the_live_chat(markdown_server_url: str) -> None:
    """A pronoun and an ellipsis about plain noun phrases, through the real /v1/chat of a real server."""
    with httpx.Client(base_url=markdown_server_url, timeout=60.0) as http:
        first = http.post("/v1/chat", json={"message": "What is the cycle to work scheme?"}).json()
        session = first["session_id"]
        second = http.post("/v1/chat", json={"session_id": session, "message": "Who can join it?"}).json()
        assert "cycle to work scheme" in second["resolved_question"].lower()
        assert second["answer"] is not None and "Permanent employees" in second["answer"]["display"]

        road = http.post("/v1/chat", json={"message": "What is the monthly limit for a road bike?"}).json()
        cargo = http.post("/v1/chat", json={"session_id": road["session_id"], "message": "And a cargo bike?"})
        body = cargo.json()
        assert body["resolved_question"] == "What is the monthly limit for a cargo bike?"
        assert body["answer"] is not None and "150 euros" in body["answer"]["display"]

        # a phrase parallel to the one the question ended with takes its place
        cargo = http.post(
            "/v1/chat", json={"session_id": road["session_id"], "message": "And for a road bike?"}
        )
        assert cargo.json()["resolved_question"] == "What is the monthly limit for a road bike?"
        assert "80 euros" in cargo.json()["answer"]["display"]

        kiln = http.post("/v1/chat", json={"message": "What is the kiln room?"}).json()
        days = http.post("/v1/chat", json={"session_id": kiln["session_id"], "message": "And on which days?"})
        body = days.json()
        assert "kiln room" in body["resolved_question"].lower()
        assert body["answer"] is not None and "Tuesdays and Thursdays" in body["answer"]["display"]


@pytest.mark.integration
def test_a_possessive_follow_up_through_the_live_chat(tmp_path: Path, service_env: dict[str, str]) -> None:
    """ "And the school's?" after "What is the studio's firing fee?", through a real server's /v1/chat."""
    from tests.live_server import live_server

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "fees.md").write_text(
        "# Kiln fees\n\nThe studio's firing fee is 12 euros a load. The school's firing fee is 8\n"
        "euros a load.\n\n## Booking\n\nBook a firing slot with the warden a week ahead.\n",
        encoding="utf-8",
    )
    with (
        live_server(service_env, corpus_dir=corpus, index_dir=tmp_path / "index") as url,
        httpx.Client(base_url=url, timeout=60.0) as http,
    ):
        first = http.post("/v1/chat", json={"message": "What is the studio's firing fee?"}).json()
        body = http.post(
            "/v1/chat", json={"session_id": first["session_id"], "message": "And the school's?"}
        ).json()
        assert body["resolved_question"] == "What is the school's firing fee?"
        assert body["answer"] is not None and "8 euros" in body["answer"]["display"]


@pytest.mark.integration
def test_a_topic_is_the_phrase_as_readers_see_it(tmp_path: Path, model_path: str) -> None:
    """ "the `A3` colour printer" says "A3 colour printer": markup does not split the topic phrase."""
    from index import build_index, load_index
    from service.chat import ChatService
    from service.config import Settings

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "print-room.md").write_text(
        "# Print room\n\nThe `A3` colour printer prints 20 pages a minute and jams on card\n"
        "thicker than 250 gsm. Report a jam to the front desk.\n\n"
        "## Scanner\n\nThe colour printer's scanner sends scans to your email.\n",
        encoding="utf-8",
    )
    build_index(corpus, tmp_path / "index", model_path)
    chat = ChatService(load_index(tmp_path / "index", model_path), Settings())
    first = chat.chat(None, "What is the A3 colour printer?")
    follow = chat.chat(first.session_id, "How fast is it?")
    assert follow.resolved_question == "How fast is the A3 colour printer?"
