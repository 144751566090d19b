"""`docqa eval`: run a question set through the real code paths and compute quality metrics.

Question-set format (CONTRACT.md): one JSON object a line with ``id``, ``kind`` (fact, paraphrase,
robust, ambiguous, abstain, chat), ``question`` (or ``turns`` for chat), and ``expect_any`` (phrases,
one of which must appear in a top-k passage) or ``term`` + ``meanings`` for ambiguous questions.
Chat questions go through `ChatService`, the same code as ``POST /v1/chat``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index import Index, QAError, QueryResult
from index.question import check_question
from service.chat import ChatService
from service.config import Settings

KINDS = ("fact", "paraphrase", "robust", "ambiguous", "abstain", "chat")


def normalise(text: str) -> str:
    """Case-fold, unify apostrophes and quotes, collapse whitespace (how phrases are matched)."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.lower().split())


@dataclass
class QuestionOutcome:
    """What happened to one question of the set."""

    id: str
    kind: str
    question: str
    resolved_question: str | None
    hit_rank: int | None
    answer_correct: bool | None
    abstained: bool
    confidence: float
    clarified: bool | None
    citations_ok: bool
    answer: str | None
    answer_display: str | None = None  # what people read (markup and link targets left out)


@dataclass
class EvalReport:
    """Aggregate metrics over a question set."""

    top_k: int
    mode: str
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    questions: list[QuestionOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``docqa eval --json``)."""
        return {
            "top_k": self.top_k,
            "mode": self.mode,
            "metrics": self.metrics,
            "questions": [asdict(q) for q in self.questions],
        }


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Read and check a question set.

    Raises:
        ValueError: A line is not JSON or lacks the fields its kind needs (the message gives the line).
    """
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        kind = row.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{path}:{number}: kind must be one of {KINDS}, got {kind!r}")
        if kind == "chat" and not (isinstance(row.get("turns"), list) and row["turns"]):
            raise ValueError(f"{path}:{number}: a chat question needs a non-empty 'turns' list")
        if kind != "chat" and not isinstance(row.get("question"), str):
            raise ValueError(f"{path}:{number}: needs a 'question' string")
        if kind == "ambiguous" and not (row.get("term") and row.get("meanings")):
            raise ValueError(f"{path}:{number}: an ambiguous question needs 'term' and 'meanings'")
        for text in row["turns"] if kind == "chat" else [row["question"]]:
            try:  # the checks every door applies (empty, lone surrogates); length is the query's
                check_question(text, sys.maxsize)
            except QAError as exc:
                raise ValueError(f"{path}:{number}: {exc.message}") from exc
        row.setdefault("id", f"line{number}")
        rows.append(row)
    return rows


def citations_intact(index: Index, result: QueryResult) -> bool:
    """Every passage's and the answer's text equals the document text at its offsets."""
    spans = [(p.doc_id, p.start, p.end, p.text) for p in result.passages]
    if result.answer is not None:
        spans.append((result.answer.doc_id, result.answer.start, result.answer.end, result.answer.text))
    for doc_id, start, end, text in spans:
        doc = index.documents.get(doc_id)
        if doc is None or doc.text[start:end] != text:
            return False
    return True


def _hit_rank(result: QueryResult, phrases: list[str]) -> int | None:
    """The rank of the first passage that holds a phrase, in its verbatim text or in what it shows
    (`display`; as answers are graded): a table cell wrapped over lines of a grid table, or a
    sentence across a PDF page break, reads whole only there."""
    wanted = [normalise(p) for p in phrases]
    for passage in result.passages:
        seen = normalise(f"{passage.text}\n{passage.display}")
        if any(w in seen for w in wanted):
            return passage.rank
    return None


def _clarified(result: QueryResult, term: str, meanings: list[str]) -> bool:
    for clar in result.clarifications:
        if clar.term.lower() == term.lower():
            offered = {normalise(m.expansion) for m in clar.meanings}
            return all(normalise(m) in offered for m in meanings)
    return False


def _run_one(index: Index, chat: ChatService, row: dict[str, Any], top_k: int, mode: str) -> QuestionOutcome:
    resolved: str | None = None
    if row["kind"] == "chat":
        session: str | None = None
        for turn in row["turns"]:
            reply = chat.chat(session, turn, top_k)
            session = reply.session_id
        result, resolved, question = reply.result, reply.resolved_question, " / ".join(row["turns"])
    else:
        question = row["question"]
        result = index.query(question, top_k, mode=mode)
    phrases = row.get("expect_any") or []
    answer_text = normalise(f"{result.answer.text}\n{result.answer.display}") if result.answer else ""
    return QuestionOutcome(
        id=str(row["id"]),
        kind=row["kind"],
        question=question,
        resolved_question=resolved,
        hit_rank=_hit_rank(result, phrases) if phrases else None,
        answer_correct=any(normalise(p) in answer_text for p in phrases) if phrases else None,
        abstained=result.abstained,
        confidence=round(result.confidence, 4),
        clarified=_clarified(result, row["term"], row["meanings"]) if row["kind"] == "ambiguous" else None,
        citations_ok=citations_intact(index, result),
        answer=result.answer.text if result.answer else None,
        answer_display=result.answer.display if result.answer else None,
    )


def _p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _aggregate(outcomes: list[QuestionOutcome], top_k: int) -> dict[str, float | int | None]:
    graded = [o for o in outcomes if o.hit_rank is not None or o.answer_correct is not None]
    should_abstain = [o for o in outcomes if o.kind == "abstain"]
    answerable = [o for o in outcomes if o.kind != "abstain"]
    abstained = [o for o in outcomes if o.abstained]
    true_abstain = [o for o in should_abstain if o.abstained]
    ambiguous = [o for o in outcomes if o.kind == "ambiguous"]
    chats = [o for o in outcomes if o.kind == "chat"]
    return {
        "questions": len(outcomes),
        f"hit@{top_k}": _ratio(sum(o.hit_rank is not None for o in graded), len(graded)),
        f"mrr@{top_k}": round(sum(1 / o.hit_rank for o in graded if o.hit_rank) / len(graded), 4)
        if graded
        else None,
        "answer_accuracy": _ratio(sum(bool(o.answer_correct) for o in graded), len(graded)),
        "abstention_precision": _ratio(len(true_abstain), len(abstained)),
        "abstention_recall": _ratio(len(true_abstain), len(should_abstain)),
        "false_abstentions": sum(o.abstained for o in answerable),
        "clarification_rate": _ratio(sum(bool(o.clarified) for o in ambiguous), len(ambiguous)),
        "chat_hit_rate": _ratio(sum(o.hit_rank is not None for o in chats), len(chats)),
        "chat_answer_rate": _ratio(sum(bool(o.answer_correct) for o in chats), len(chats)),
        # Words a reader reads: the display (a link's URL or a table's pipes are not words).
        "answer_words_p90": _p90([len((o.answer_display or o.answer).split()) for o in outcomes if o.answer]),
        "citation_integrity": _ratio(sum(o.citations_ok for o in outcomes), len(outcomes)),
    }


def evaluate(
    index: Index,
    rows: list[dict[str, Any]],
    *,
    top_k: int = 5,
    mode: str = "hybrid",
    settings: Settings | None = None,
) -> EvalReport:
    """Run every question and aggregate.

    Args:
        index: A loaded index.
        rows: Questions from `load_questions`.
        top_k: Passages per question (hit@k and MRR@k use it).
        mode: Retrieval mode for single questions (chat always uses the product's hybrid path).
        settings: Settings for the chat layer (defaults from the environment).

    Returns:
        The report (metrics plus one outcome per question).
    """
    chat = ChatService(index, settings or Settings())
    outcomes = [_run_one(index, chat, row, top_k, mode) for row in rows]
    return EvalReport(top_k=top_k, mode=mode, metrics=_aggregate(outcomes, top_k), questions=outcomes)


def format_report(report: EvalReport) -> str:
    """A terminal table: one line a question, then the metrics."""
    lines = [f"{'id':<8} {'kind':<11} {'hit':>4} {'ans':>4} {'abst':>5} {'conf':>5}  question"]
    for o in report.questions:
        hit = "-" if o.hit_rank is None else str(o.hit_rank)
        ans = "-" if o.answer_correct is None else ("yes" if o.answer_correct else "no")
        if o.kind == "ambiguous":
            ans = "clar" if o.clarified else "NO"
        lines.append(
            f"{o.id:<8} {o.kind:<11} {hit:>4} {ans:>4} {o.abstained!s:>5} "
            f"{o.confidence:>5.2f}  {o.question[:70]}"
        )
    lines.append("")
    lines.append(f"mode={report.mode} top_k={report.top_k}")
    for name, value in report.metrics.items():
        lines.append(f"  {name:<22} {'-' if value is None else value}")
    return "\n".join(lines)


_SUMMARY_COLUMNS = (
    ("hit@", "hit@k"),
    ("mrr@", "MRR@k"),
    ("answer_accuracy", "answer"),
    ("false_abstentions", "false abst."),
    ("abstention_recall", "abst. recall"),
    ("chat_answer_rate", "chat right"),
    ("answer_words_p90", "words p90"),
    ("citation_integrity", "citations"),
)


def combined_metrics(reports: list[EvalReport]) -> dict[str, float | int | None]:
    """Metrics over the questions of several reports taken together (micro-average)."""
    if not reports:
        return {}
    outcomes = [o for r in reports for o in r.questions]
    return _aggregate(outcomes, reports[0].top_k)


def _cell(metrics: dict[str, float | int | None], prefix: str) -> str:
    value = next((v for k, v in metrics.items() if k.startswith(prefix)), None)
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def format_summary(reports: list[tuple[str, EvalReport]]) -> str:
    """One row of metrics per question set, then the overall row (all questions together)."""
    header = f"{'corpus':<28}{'n':>5}" + "".join(f"{label:>13}" for _, label in _SUMMARY_COLUMNS)
    lines = [header]
    rows = [(name, report.metrics) for name, report in reports]
    rows.append(("overall", combined_metrics([r for _, r in reports])))
    for name, metrics in rows:
        cells = "".join(f"{_cell(metrics, key):>13}" for key, _ in _SUMMARY_COLUMNS)
        lines.append(f"{name[:27]:<28}{metrics.get('questions', 0)!s:>5}{cells}")
    return "\n".join(lines)
