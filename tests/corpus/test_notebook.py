"""Jupyter notebooks read as Markdown: Markdown cells as written, code fenced, outputs left out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus.ingest import scan_corpus
from corpus.notebook import NotANotebook, notebook_to_markdown
from index import build_index, load_index

NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "notebook" / "tide-gauge.ipynb"


def test_markdown_cells_as_written_and_code_cells_fenced() -> None:
    text, title = notebook_to_markdown(NOTEBOOK.read_text(encoding="utf-8"))
    assert text.startswith("# Tide gauge quickstart\n\nThe gauge samples the water level every 6 minutes")
    assert '```python\nimport tides\ngauge = tides.connect("harbour-3")\ngauge.level()\n```' in text
    # A fence longer than any backtick run in the code keeps the code whole.
    assert "````python\nprint(```nested```)\n````" in text
    assert "output cell" not in text and "raw cell" not in text
    assert title is None


def test_the_language_and_title_come_from_the_metadata() -> None:
    notebook = {
        "metadata": {"title": "Model fitting", "kernelspec": {"language": "R"}},
        "cells": [{"cell_type": "code", "source": "fit <- lm(y ~ x)", "outputs": []}],
    }
    text, title = notebook_to_markdown(json.dumps(notebook))
    assert text == "```r\nfit <- lm(y ~ x)\n```\n" and title == "Model fitting"


def test_an_nbformat_3_notebook_keeps_its_heading_cells() -> None:
    notebook = {
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 2, "source": ["Loading data"]},
                    {"cell_type": "markdown", "source": ["Read the CSV first."]},
                    {"cell_type": "code", "input": ["df = load()"], "outputs": []},
                ]
            }
        ],
    }
    text, _ = notebook_to_markdown(json.dumps(notebook))
    assert text == "## Loading data\n\nRead the CSV first.\n\n```python\ndf = load()\n```\n"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"metadata": {}}', "no cells"),
        ('{"cells": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(NotANotebook, match=reason):
        notebook_to_markdown(raw)


def test_cells_of_the_wrong_shape_are_read_for_what_text_they_hold() -> None:
    notebook = {
        "metadata": {"kernelspec": "python", "title": 5},
        "cells": [
            {"cell_type": "markdown", "source": ["Kept. ", 7, None, "Also kept."]},
            {"cell_type": "code", "source": {"not": "text"}},
            "not a cell",
        ],
    }
    assert notebook_to_markdown(json.dumps(notebook)) == ("Kept. Also kept.\n", None)


def test_a_broken_notebook_is_reported_and_skipped(tmp_path: Path) -> None:
    shutil.copy(NOTEBOOK, tmp_path / "tide-gauge.ipynb")
    (tmp_path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["tide-gauge.ipynb"]
    assert documents[0].title == "Tide gauge quickstart"
    assert [(s.path, s.reason) for s in skipped] == [
        ("broken.ipynb", "not valid JSON (line 1): not a Jupyter notebook")
    ]


def test_a_notebook_folder_answers_from_prose_with_verbatim_citations(
    tmp_path: Path, model_path: str
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    shutil.copy(NOTEBOOK, corpus / NOTEBOOK.name)
    build_index(corpus, tmp_path / "index", model_path)
    index = load_index(tmp_path / "index", model_path)
    result = index.query("How long does the gauge keep the raw readings?")
    assert result.answer is not None and "90 days" in result.answer.display
    document = index.documents[result.answer.doc_id]
    assert document.text[result.answer.start : result.answer.end] == result.answer.text
    passages, answered = index.answer_evidence("What do I need to recalibrate the gauge?")
    units = {u.candidate.text for u in answered.scored}
    # The list's items are answer units of their own; the code cells never are.
    assert "the harbour master's reference reading" in units
    assert not any("tides.connect" in u or "nested" in u for u in units)
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text
