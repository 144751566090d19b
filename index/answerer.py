"""The answer stage: from the ranked passages to the answering span, its display and a confidence.

Kept apart from retrieval (`index/engine.py`) so that the scorer can be refitted or replaced without
touching search. Features and models are in `index/answer.py`.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from corpus.models import Document
from index.answer import (
    CONFIDENCE_FEATURES,
    AnswerModels,
    Candidate,
    QuestionInfo,
    UnitScore,
    asks_who,
    choose,
    coverage,
    extend_anaphora,
    is_answerable_text,
    quantity_check,
    question_tokens,
    rank_units,
    shaped_as_asked,
    sigmoid,
    unit_features,
    unit_sims,
    wants_number,
)
from index.chunk_vectors import unit_bounds
from index.markup import CODE_DIRECTIVES
from index.pages import locate
from index.tokenize import tokenize
from index.types import AnswerSpan, Chunk, Passage

# A list item's marker before its text: a bullet, a number, or AsciiDoc's runs ("** " nests once
# deeper than "* ", ".. " than ". ").
_ITEM_PREFIX = re.compile(r"[ \t>]*(?:\*{1,5}|\.{1,5}|[-+•]|\d{1,3}[.)])[ \t]+$")
ANSWER_PASSAGES = 5  # answer units come from this many top passages
MAX_JOINED_WORDS = 45  # a list item joined with its lead-in stays a short answer
EVIDENCE_PASSAGES = 3  # "is the question's vocabulary anywhere near the top?" looks at this many


def _item_depth(text: str, start: int) -> int | None:
    """How far the list item that the unit at `start` begins is indented (only a bullet or number
    before it on its line), or None when the unit begins no list item."""
    line_start = text.rfind("\n", 0, start) + 1
    if start <= line_start or not _ITEM_PREFIX.match(text, line_start, start):
        return None
    prefix = text[line_start:start]
    marker = prefix.strip(" \t>")
    run = len(marker) - 1 if marker[:1] in "*." and marker == marker[0] * len(marker) else 0
    return len(prefix) - len(prefix.lstrip(" \t>")) + run


def _is_list_item(text: str, start: int) -> bool:
    """True when the unit at `start` begins a list item."""
    return _item_depth(text, start) is not None


# A label documentation sites put over a code block ("Filename: src/main.rs", "**app.py**"): one
# line of at most this many characters that does not end like a sentence.
_LABEL_CHARS = 60
# Blank lines, then maybe one such label line, then a fence or an indented block; or a
# reStructuredText code directive (``.. code-block:: console``), its options and its indented body;
# or an AsciiDoc listing (``[source,toml]`` over ``----``, maybe under a ``.Title`` line); or an
# included source file.
_CODE_NAMES = "|".join(sorted(CODE_DIRECTIVES))
_CODE_AFTER = re.compile(
    rf"[ \t]*\n(?:[ \t]*\n)*(?:(?:[^\s][^\n]{{0,{_LABEL_CHARS - 2}}}[^.!?\s]\n(?:[ \t]*\n)*)?"
    # (a MyST directive fence is code only for a code directive: ```{note} holds prose)
    rf"(?:[ \t]{{0,3}}(?:```|~~~)(?![`~]*[ \t]*\{{(?!(?:{_CODE_NAMES})\}}))|    |\t)"
    rf"|\.\.[ \t]+(?:\w+:)?(?:{_CODE_NAMES})::[^\n]*\n"
    r"(?:[ \t]+:[^\n]*\n)*(?:[ \t]*\n)*[ \t]+\S"
    r"|(?:\.[^\s.][^\n]*\n)?\[(?:source|listing|literal)\b[^\]\n]*\]\n(?:-{4,}|\.{4,})[ \t]*\n"
    # a source file included in its place (MkDocs ``{* ../src/app.py hl[3] *}``)
    r"|[ \t]*\{\*[^\n]*\*\}[ \t]*(?:\n|$))"
)


_INDENTED_AFTER = re.compile(r"[ \t]*\n(?:[ \t]*\n)+[ \t]+\S")


# A command shown with the lead-in that introduces it: a code block of one line of at most this
# many characters ("Then, reload the configuration: $ curl -X POST …/-/reload"). Longer or
# multi-line code is left to the passage (read off typical one-line shell commands, not fitted).
_SHOWN_CODE_CHARS = 120
_FENCE = re.compile(r"[ \t]{0,3}(```|~~~)")
_ASCIIDOC_DELIMITER = re.compile(r"(-{4,}|\.{4,})[ \t]*\n?$")


def _code_block_after(text: str, end: int, literal: bool) -> re.Match[str] | None:
    """The opening of the code block that follows offset `end` (`_CODE_AFTER`), or, after a
    reStructuredText "::" (`literal`), of any indented block; None when no code follows."""
    found = _CODE_AFTER.match(text, end)
    if found is None and literal:
        found = _INDENTED_AFTER.match(text, end)
    return found


def one_line_code(text: str, end: int) -> tuple[int, int] | None:
    """``(start, end)`` of the code a lead-in ending at `end` ("... run:") introduces, when that
    code block (a fence, an indented block, a reStructuredText code directive or an AsciiDoc
    listing) holds one line of at most `_SHOWN_CODE_CHARS` characters; else None."""
    found = _code_block_after(text, end, text[:end].rstrip().endswith("::"))
    if found is None:
        return None
    tail = found.group(0)
    if tail.rstrip().endswith("*}"):
        return None  # an included source file: its text is not here
    fence = _FENCE.search(tail[-6:]) if tail.endswith(("```", "~~~")) else None
    listing = _ASCIIDOC_DELIMITER.search(tail)
    if fence is not None:
        body, mark = text.find("\n", found.end()), fence.group(1)
    elif listing is not None:
        body, mark = found.end() - 1, listing.group(1)
    else:  # indented: the block ends at the first line that is not
        body, mark = text.rfind("\n", 0, found.end() - 1), ""
    lines: list[tuple[int, int]] = []
    at = body + 1
    while body >= 0 and at < len(text):
        stop = text.find("\n", at)
        stop = len(text) if stop < 0 else stop
        line = text[at:stop]
        if line.strip() and (line.lstrip().startswith(mark) if mark else not line[:1].isspace()):
            break
        if line.strip():
            lead = len(line) - len(line.lstrip())
            lines.append((at + lead, at + len(line.rstrip())))
            if len(lines) > 1:
                return None
        at = stop + 1
    if len(lines) != 1 or lines[0][1] - lines[0][0] > _SHOWN_CODE_CHARS:
        return None
    return lines[0]


def _introduces_code(text: str, start: int, end: int, layout: _Layout | None = None) -> bool:
    """True when the unit `text[start:end]` ends with ":" and a code block follows ("... add this:").

    In Markdown (and the Markdown that HTML, Word and slides are read as) the block is a fence or
    an indented block; in reStructuredText a code directive, or any indented block after "::"; in a
    PDF the loader's layout says where code is (`layout`)."""
    if not text[start:end].rstrip().endswith(":"):
        return False
    if layout is not None:
        return layout.code_after(text, end)
    # after "::", a reStructuredText literal block: any indentation
    return _code_block_after(text, end, text[start:end].rstrip().endswith("::")) is not None


@dataclass(frozen=True)
class _Layout:
    """The blocks a PDF's loader read from its page layout: (start, end, kind), in text order."""

    starts: tuple[int, ...]
    blocks: tuple[tuple[int, int, str], ...]

    @classmethod
    def of(cls, document: Document) -> _Layout | None:
        rows = json.loads(document.meta.get("layout") or "[]")
        if not rows:
            return None
        blocks = tuple((int(s), int(e), str(kind)) for s, e, kind, _ in rows)
        return cls(tuple(b[0] for b in blocks), blocks)

    def code_after(self, text: str, end: int) -> bool:
        """Whether the next block after offset `end` is code, or one short label line and then code
        ("Filename: src/main.rs", as the Markdown rule allows)."""
        i = bisect.bisect_left(self.starts, end)
        if i < len(self.blocks) and self.blocks[i][2] != "code":
            s, e, _ = self.blocks[i]
            label = text[s:e]
            if "\n" in label or len(label) > _LABEL_CHARS or label.rstrip()[-1:] in ".!?":
                return False
            i += 1
        return i < len(self.blocks) and self.blocks[i][2] == "code"


def _row_cells(text: str, start: int, end: int, readable: str) -> str | None:
    """A table row's cells as written (`Candidate.cells`), or None for any other unit: a row that
    opens with its pipe or tag, or a GFM row written without the outer pipes (one line with a pipe,
    read as "Name: cell · Name: cell")."""
    source = text[start:end]
    if source[:1] in ("|", "<"):
        return source
    if "|" in source and "\n" not in source.strip() and " · " in readable:
        return source
    return None


def _lead_in(text: str, rows: list[tuple[int, int]], here: int) -> int | None:
    """The unit that introduces the list item `rows[here]` begins: the nearest sentence before it
    ending with ":" that is either not a list item or an item less indented (the item a nested list
    hangs from: "- Three to five weeks in advance for:" above "  - Conference events ..."), with only
    sibling or deeper items between. None for a unit that begins no item, or an item without one."""
    depth = _item_depth(text, rows[here][0])
    if depth is None:
        return None
    for j in range(here - 1, -1, -1):
        s, e = rows[j]
        other = _item_depth(text, s)
        if other is not None and other >= depth:
            continue
        return j if text[s:e].rstrip().endswith(":") else None
    return None


# A unit that ends like a sentence (its full stop maybe inside closing quotes or markup).
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]*_`]*\s*$")


def _is_phrase_item(text: str, start: int, end: int) -> bool:
    """True for a list item that is one phrase ("a millisecond-precision timestamp"), not a
    sentence: such items complete their lead-in together, while a sentence item says its own
    thing ("healthTimeout - How long a check may run. Defaults to 5 seconds.")."""
    return _is_list_item(text, start) and not _ENDS_SENTENCE.search(text, start, end)


def _blank_line_between(text: str, end: int, start: int) -> bool:
    """True when a blank (or whitespace-only) line separates `text[:end]` from `text[start:]`."""
    return "\n\n" in text[end:start].replace(" ", "").replace("\t", "")


def _list_end(text: str, rows: list[tuple[int, int]], here: int) -> int:
    """The last unit of the list that begins at `rows[here]`: its items, the items nested in
    them and each item's wrapped continuation, up to the first unit that is none of these."""
    depth = _item_depth(text, rows[here][0])
    last = here
    for j in range(here + 1, len(rows)):
        other = _item_depth(text, rows[j][0])
        if other is None:
            if _blank_line_between(text, rows[j - 1][1], rows[j][0]):
                break
        elif depth is None or other < depth:
            break
        last = j
    return last


def order_by_evidence(passages: list[Passage], answered: Answered) -> tuple[list[Passage], AnswerSpan | None]:
    """The passages the answer stage scored, re-ordered by what it found in them, and the answer
    with its passage's new rank.

    The passage of the answer comes first, then the others by the score of their best answer unit;
    a passage without units (code, a bare list of links) keeps its place, and every place keeps its
    retrieval score, so scores stay non-increasing down the list. Retrieval ranks a passage by how
    much it is about the question; the answer model by whether one of its sentences answers it. On
    the Rust book check set, whose questions no weight was fitted on, MRR@5 rose 0.667 -> 0.786
    (hit@5 cannot change: the same passages); see bench/results/2026-11-30_pool_eval_rerank.md.
    """
    best: dict[int, float] = {}
    for unit in answered.scored:
        chunk = unit.candidate.chunk_id
        best[chunk] = max(best.get(chunk, -math.inf), unit.score)
    span = answered.span
    answer_chunk = passages[span.passage_rank - 1].chunk_id if span is not None else None
    scored = [i for i, p in enumerate(passages) if p.chunk_id in best]
    ranked = iter(
        sorted(scored, key=lambda i: (passages[i].chunk_id != answer_chunk, -best[passages[i].chunk_id], i))
    )
    order = [next(ranked) if p.chunk_id in best else i for i, p in enumerate(passages)]
    reordered = [
        dataclasses.replace(passages[old], rank=place + 1, score=passages[place].score)
        for place, old in enumerate(order)
    ]
    if span is not None:
        new_rank = order.index(span.passage_rank - 1) + 1
        span = dataclasses.replace(span, passage_rank=new_rank)
    return reordered, span


@dataclass(frozen=True)
class Answered:
    """The answer stage's result: the span (or None), the confidence and the evidence behind it.

    ``ranked`` is the units the answer is chosen from, best first (`index.answer.choose`);
    ``scored`` every unit of the top passages in the answer model's order, before that choice.
    """

    span: AnswerSpan | None
    confidence: float
    evidence: dict[str, float] = field(default_factory=dict)
    ranked: tuple[UnitScore, ...] = ()
    scored: tuple[UnitScore, ...] = ()


TOKEN_CACHE_SIZE = 200_000


@dataclass
class Answerer:
    """Scores the answer units of the top passages and calibrates a confidence.

    Attributes:
        documents: Documents by id.
        chunks: All chunks, by chunk id.
        units: ``(chunk_id, start, end)`` rows, grouped by chunk.
        unit_texts: Readable text of each unit.
        unit_vectors: Normalised embeddings of the unit texts.
        chunk_vectors: Returns the stored vectors of chunk ids.
        idf: Rarity of a token in the corpus.
        max_idf: The largest idf (of a token seen once, or never).
        expand: Adds acronym/expansion equivalents to a token list.
        entities: The acronyms (named things) a token list talks about.
        models: The fitted answer and confidence models.
    """

    documents: dict[str, Document]
    chunks: list[Chunk]
    units: npt.NDArray[np.int64]
    unit_texts: list[str]
    unit_vectors: npt.NDArray[np.float32]
    chunk_vectors: Callable[[list[int]], npt.NDArray[np.float32]]
    idf: Callable[[str], float]
    max_idf: float
    expand: Callable[[list[str]], list[str]]
    entities: Callable[[list[str]], set[str]]
    models: AnswerModels

    def __post_init__(self) -> None:
        # Where each chunk's unit rows start and end (`unit_bounds`); dense search reads them too.
        self.bounds = unit_bounds(
            self.units[:, 0] if len(self.units) else np.zeros(0, dtype=np.int64), len(self.chunks)
        )
        # Tokens (with acronym equivalents) of unit and context texts, kept across questions: the
        # same top passages come back again and again, and tokenizing their units was 4 of the 7
        # ms an answer took once ONNX Runtime made the encode 3 ms (issue 12). Bounded; a race
        # between two requests only computes an entry twice.
        self._tokens: dict[str, list[str]] = {}
        self._layouts = {doc_id: _Layout.of(doc) for doc_id, doc in self.documents.items()}

    def units_of(self, chunk_id: int) -> list[tuple[int, int, int]]:
        """``(row, start, end)`` of the chunk's answer units, in order."""
        lo, hi = int(self.bounds[chunk_id]), int(self.bounds[chunk_id + 1])
        return [(row, int(self.units[row, 1]), int(self.units[row, 2])) for row in range(lo, hi)]

    def _candidates(self, passages: list[Passage]) -> list[Candidate]:
        out: list[Candidate] = []
        best_score = passages[0].score if passages else 0.0
        for passage in passages[:ANSWER_PASSAGES]:
            doc = self.documents[passage.doc_id]
            rows = self.units_of(passage.chunk_id)
            heading = f"{doc.title} {passage.section}"
            spans = [(s, e) for _, s, e in rows]
            for i, (row, start, end) in enumerate(rows):
                text = self.unit_texts[row]
                cells = _row_cells(doc.text, start, end, text)
                # A row is judged by its cells: a column named "Supported?" makes no row a question.
                if not is_answerable_text(text if cells is None else cells):
                    continue
                lead = _lead_in(doc.text, spans, i)
                context = heading if lead is None else f"{heading} {self.unit_texts[rows[lead][0]]}"
                neighbours = tuple(rows[j][0] for j in (i - 1, i + 1) if 0 <= j < len(rows))
                out.append(
                    Candidate(
                        row=row,
                        chunk_id=passage.chunk_id,
                        rank=passage.rank,
                        gap=best_score - passage.score,
                        start=start,
                        end=end,
                        text=text,
                        context=context,
                        neighbours=neighbours,
                        cells=cells,
                        previous=rows[i - 1][0] if i else None,
                        before_code=_introduces_code(doc.text, start, end, self._layouts.get(doc.doc_id)),
                    )
                )
        return out

    def answer(self, question: str, q_vector: npt.NDArray[np.float32], passages: list[Passage]) -> Answered:
        """Choose the answer span among the top passages and compute the confidence.

        Args:
            question: The question as scored (typos corrected, acronyms as asked).
            q_vector: Its normalised embedding.
            passages: The ranked passages.
        """
        tokens = question_tokens(question)
        info = QuestionInfo(
            text=question,
            tokens=tokens,
            vector=q_vector,
            wants_number=wants_number(question),
            entities=frozenset() if asks_who(question) else frozenset(self.entities(tokens)),
        )
        memo = self._tokens
        if len(memo) > TOKEN_CACHE_SIZE:
            memo.clear()

        def tokens_of(text: str) -> list[str]:
            """Tokens with acronym equivalents; a text (a unit is also its neighbours' neighbour)
            is tokenized once, then read from the cache (callers never modify the list)."""
            found = memo.get(text)
            if found is None:
                found = memo[text] = self.expand(tokenize(text))
            return found

        candidates = self._candidates(passages)
        top_ids = [p.chunk_id for p in passages[:ANSWER_PASSAGES]]
        sims = self.chunk_vectors(top_ids) @ q_vector if top_ids else np.zeros(0)
        chunk_sims = {cid: float(s) for cid, s in zip(top_ids, sims, strict=True)}
        sim_of = unit_sims(q_vector, candidates, self.unit_vectors)
        features = unit_features(
            info,
            candidates,
            self.unit_vectors,
            chunk_sims,
            lambda row: self.unit_texts[row],
            self.idf,
            self.entities,
            tokens_of,
            sim_of,
        )
        scored = rank_units(candidates, features, self.models.answer)
        # Each unit's neighbours' similarity to the question and words said, for the answer span.
        lex_of = {(u.candidate.chunk_id, u.candidate.row): u.features["lex"] for u in scored}
        scored = [
            dataclasses.replace(
                u,
                neighbour_sims=tuple(sim_of[r] for r in u.candidate.neighbours),
                neighbour_lex=tuple(
                    lex_of.get((u.candidate.chunk_id, r), 0.0) for r in u.candidate.neighbours
                ),
            )
            for u in scored
        ]
        shaped = shaped_as_asked(question)
        order, about_other = choose(
            [u.score for u in scored],
            [u.features for u in scored],
            [shaped(u.candidate.text) for u in scored],
        )
        ranked = [scored[i] for i in order]
        evidence = self._evidence(tokens, passages, ranked, chunk_sims, tokens_of)
        if about_other:
            return Answered(None, 0.0, evidence, tuple(ranked), tuple(scored))
        x = np.asarray([[evidence[name] for name in CONFIDENCE_FEATURES]], dtype=np.float64)
        conf = sigmoid(float(self.models.confidence.logits(x)[0])) if ranked else 0.0
        span = self.span(ranked[0], passages) if ranked else None
        quantity = quantity_check(question)
        if span is not None and quantity and not quantity(span.display, ranked[0].candidate.context):
            # A "how many ...?" or "what is the maximum ...?" question whose answer gives no such
            # number: the corpus does not say, whatever the words in common (`quantity_check`).
            return Answered(None, 0.0, evidence, tuple(ranked), tuple(scored))
        return Answered(span, conf, evidence, tuple(ranked), tuple(scored))

    def _evidence(
        self,
        tokens: list[str],
        passages: list[Passage],
        ranked: list[UnitScore],
        chunk_sims: dict[int, float],
        tokens_of: Callable[[str], list[str]],
    ) -> dict[str, float]:
        """The `CONFIDENCE_FEATURES` of one question."""
        per_passage = [
            tokens_of(f"{p.title} {p.section} {p.display or p.text}") for p in passages[:EVIDENCE_PASSAGES]
        ]
        near = [t for toks in per_passage for t in toks]
        top_tokens = per_passage[0] if per_passage else []
        present = set(near)
        missing = [self.idf(t) for t in set(tokens) if t not in present]
        best = ranked[0] if ranked else None
        around: set[str] = set()
        if best is not None:
            cand = best.candidate
            texts = [cand.text, cand.context, *(self.unit_texts[r] for r in cand.neighbours)]
            around = {t for text in texts for t in tokens_of(text)}
        unanswered = [self.idf(t) for t in set(tokens) if t not in around]
        return {
            "best_p": sigmoid(best.score) if best else 0.0,
            "best_sim": best.sim if best else 0.0,
            "best_lex_ctx": best.features["lex_ctx"] if best else 0.0,
            "top_cover": coverage(tokens, top_tokens, self.idf),
            "found_share": coverage(tokens, near, self.idf),
            "max_missing_idf": max(missing, default=0.0) / max(self.max_idf, 1e-9),
            "answer_missing_idf": max(unanswered, default=0.0) / max(self.max_idf, 1e-9),
            "ctx_sim_top": max(chunk_sims.values(), default=0.0),
            "off_topic": best.features["off_topic"] if best else 0.0,
        }

    def _with_list_context(
        self, doc: Document, rows: list[tuple[int, int]], start: int, end: int
    ) -> tuple[int, int]:
        """A list item with the sentence that introduces it, or a lead-in with its list (its
        first item when the whole list is long).

        "Three to five weeks in advance for:" means nothing without its item, "6 hours per pay
        period" nothing without its lead-in, and "Each sample consists of:" half its answer with
        one of its two items. Joined only while the answer stays short. `rows` are
        the ``(start, end)`` of the chunk's units.
        """
        here = next((i for i, (s, _) in enumerate(rows) if s == start), None)
        if here is None:
            return start, end
        if doc.text[start:end].rstrip().endswith(":") and here + 1 < len(rows):
            if _is_list_item(doc.text, rows[here + 1][0]):
                last = _list_end(doc.text, rows, here + 1)
                return self._with_list(doc, (start, rows[last][1]), (start, rows[here + 1][1]), (start, end))
        lead = _lead_in(doc.text, rows, here)
        if lead is None:
            return start, end
        last = _list_end(doc.text, rows, lead + 1)
        if not all(_is_phrase_item(doc.text, s, e) for s, e in rows[lead + 1 : last + 1]):
            return self._if_short(doc, rows[lead][0], end, (start, end))
        return self._with_list(doc, (rows[lead][0], rows[last][1]), (rows[lead][0], end), (start, end))

    def _with_list(
        self, doc: Document, whole: tuple[int, int], part: tuple[int, int], alone: tuple[int, int]
    ) -> tuple[int, int]:
        """`whole` (a lead-in with its whole list) when that is short, else `part` (the lead-in
        and one item) when that is, else `alone`."""
        return self._if_short(doc, *whole, self._if_short(doc, *part, alone))

    def _with_closer_neighbour(
        self, best: UnitScore, doc: Document, in_chunk: list[tuple[int, int, int]]
    ) -> tuple[int, int]:
        """A prose answer sentence with the sentence beside it in its paragraph when that one is
        closer in meaning to the question or says more of its words, or follows it and says as many
        (the answer saying some), and is no question itself, while the two stay short.

        The answer model often picks a sentence for what its neighbour says ("The -w option sets
        how many workers run." for "How many workers start by default?", before "The default is
        one worker."; "The output is hidden during normal compilation." before "To see the output
        in your terminal, use -vv."): shown alone, it misses the answer its score came from. Lists,
        table rows and answers already joined (an anaphor, a list item) keep their shape.
        """
        cand = best.candidate
        start, end = cand.start, cand.end
        if _is_list_item(doc.text, cand.start) or cand.cells is not None:
            return start, end
        where = {row: (s, e) for row, s, e in in_chunk}
        closer = [
            (sim, row)
            for row, sim, said in zip(cand.neighbours, best.neighbour_sims, best.neighbour_lex, strict=False)
            if row in where
            and (
                sim > best.sim
                or said > best.features["lex"]
                or (0 < said == best.features["lex"] and where[row][0] > start)
            )
            and is_answerable_text(self.unit_texts[row])
        ]
        if not closer:
            return start, end
        s, e = where[max(closer)[1]]
        if _is_list_item(doc.text, s) or _blank_line_between(doc.text, min(e, end), max(s, start)):
            return start, end
        return self._if_short(doc, min(s, start), max(e, end), (start, end))

    def _whole_item(
        self, doc: Document, rows: list[tuple[int, int]], start: int, end: int
    ) -> tuple[int, int]:
        """The whole list item an answer sentence belongs to, when the item is short.

        An item often names its subject in one sentence and gives the value in the next
        ("max_age - Sets the time browsers cache responses. Defaults to 600."): either sentence
        alone answers half. Items of one line group (no blank line inside) only. `rows` are the
        ``(start, end)`` of the chunk's units.
        """
        first = next((i for i, (s, _) in enumerate(rows) if s == start), None)
        last = next((i for i, (_, e) in enumerate(rows) if e == end), None)
        if first is None or last is None:
            return start, end

        def joined(i: int) -> bool:  # unit i continues the item of unit i - 1
            return not _blank_line_between(doc.text, rows[i - 1][1], rows[i][0]) and not _is_list_item(
                doc.text, rows[i][0]
            )

        while first > 0 and not _is_list_item(doc.text, rows[first][0]) and joined(first):
            first -= 1
        if not _is_list_item(doc.text, rows[first][0]):
            return start, end
        while last + 1 < len(rows) and joined(last + 1):
            last += 1
        return self._if_short(doc, rows[first][0], rows[last][1], (start, end))

    @staticmethod
    def _if_short(doc: Document, start: int, end: int, fallback: tuple[int, int]) -> tuple[int, int]:
        return (start, end) if len(doc.text[start:end].split()) <= MAX_JOINED_WORDS else fallback

    def span(self, best: UnitScore, passages: list[Passage]) -> AnswerSpan:
        """The answer a unit gives: the unit, with the sentence an anaphor needs and a list item's
        lead-in (or a lead-in's first item) when short."""
        cand = best.candidate
        doc = self.documents[self.chunks[cand.chunk_id].doc_id]
        in_chunk = self.units_of(cand.chunk_id)
        rows = [(s, e) for _, s, e in in_chunk]
        start, end = extend_anaphora(best, rows, doc.text)
        start, end = self._whole_item(doc, rows, start, end)
        start, end = self._with_list_context(doc, rows, start, end)
        if (start, end) == (cand.start, cand.end):
            start, end = self._with_closer_neighbour(best, doc, in_chunk)
        # a list item after another unit of the answer keeps its bullet: "consists of: • a … • b"
        display = " ".join(
            f"• {self.unit_texts[row]}" if s > start and _is_list_item(doc.text, s) else self.unit_texts[row]
            for row, s, e in in_chunk
            if s >= start and e <= end
        )
        # "Then, reload the configuration:" says what to do, the line of code after it how: an
        # answer that ends by introducing one short line of code shows it (in the same chunk).
        lead_in = doc.text[start:end].rstrip().endswith(":") and not self._layouts.get(doc.doc_id)
        code = one_line_code(doc.text, end) if lead_in else None
        if code is not None and code[1] <= self.chunks[cand.chunk_id].end and display:
            end, display = code[1], f"{display} {doc.text[code[0] : code[1]]}"
        rank = next(p.rank for p in passages if p.chunk_id == cand.chunk_id)
        where = locate(doc, start, end)
        return AnswerSpan(
            text=doc.text[start:end],
            doc_id=doc.doc_id,
            start=start,
            end=end,
            passage_rank=rank,
            display=display or " ".join(doc.text[start:end].split()),
            page=where.page,
            page_end=where.page_end,
            slide=where.slide,
        )
