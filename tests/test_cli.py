"""The `docqa` command, in-process with click's runner and once as the installed executable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from service.cli import cli
from tests.live_server import free_port

pytestmark = pytest.mark.model
DEV = Path(__file__).resolve().parent / "data" / "eval" / "dev_questions.jsonl"
MARKUP = ("**", "](", "{{<", "| --- |")
# In the source this sentence is hard-wrapped after "optional"; `docqa ask` prints it joined.
WRAPPED_SENTENCE = "Every lease runs for twelve months and ends with an optional purchase at a small fee."


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "travel.md").write_text(
        "# Travel policy\n\nTrains are booked for trips under 500 km. Flights need a manager's approval.\n",
        encoding="utf-8",
    )
    return folder


def test_build_then_ask_prints_answer_and_numbered_passages(small_corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    index_dir = tmp_path / "index"
    built = runner.invoke(cli, ["build", "--corpus", str(small_corpus), "--index", str(index_dir)])
    assert built.exit_code == 0, built.output
    assert "index ready: 1 documents" in built.output and "embedding" in built.output
    asked = runner.invoke(cli, ["ask", "When are trains booked?", "--index", str(index_dir)])
    assert asked.exit_code == 0, asked.output
    assert asked.output.startswith("Trains are booked for trips under 500 km.")
    assert "[1] Travel policy" in asked.output and "Travel policy ·" in asked.output


def test_ask_prints_readable_display_not_markup(markdown_index_dir: Path) -> None:
    runner = CliRunner()
    args = ["ask", "How long does a bicycle lease run?", "--top-k", "5", "--index", str(markdown_index_dir)]
    asked = runner.invoke(cli, args)
    assert asked.exit_code == 0, asked.output
    lines = [line.strip() for line in asked.output.splitlines()]
    assert lines[0] == WRAPPED_SENTENCE
    for mark in MARKUP:
        assert mark not in asked.output, mark
    # Passage snippets keep display's lines: table rows with their headers, bulleted list items.
    assert "Bike type: Cargo bike · Monthly limit: 150 euros" in lines
    assert "• Helmets and locks count as accessories." in lines
    assert "Applications close on the last Friday of each quarter." in lines
    assert any(WRAPPED_SENTENCE in line for line in lines[1:])
    # --json prints both: the verbatim span for citations and its display.
    body = json.loads(runner.invoke(cli, [*args, "--json"]).output)
    assert "\n" in body["answer"]["text"] and body["answer"]["display"] == WRAPPED_SENTENCE
    assert all(mark in "".join(p["text"] for p in body["passages"]) for mark in MARKUP)


def test_ask_json_is_the_query_response(built_index_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["ask", "Who reports to the COO?", "--json", "--top-k", "3", "--index", str(built_index_dir)]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) >= {"question", "answer", "abstained", "confidence", "passages", "clarifications"}
    assert len(body["passages"]) == 3 and body["answer"]["text"].startswith("Department heads and managers")


def test_eval_prints_metrics_table_and_json(built_index_dir: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(cli, ["eval", str(DEV), "--index", str(built_index_dir)])
    assert table.exit_code == 0, table.output
    assert "hit@5" in table.output and "citation_integrity" in table.output
    as_json = runner.invoke(
        cli, ["eval", str(DEV), "--json", "--mode", "bm25", "--index", str(built_index_dir)]
    )
    report = json.loads(as_json.output)
    assert report["mode"] == "bm25" and report["metrics"]["questions"] == 12


def test_missing_index_and_bad_question_files_say_what_to_do(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["ask", "anything", "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "docqa build" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "fact"}\n', encoding="utf-8")
    broken = runner.invoke(cli, ["eval", str(bad), "--index", str(tmp_path / "none")])
    assert broken.exit_code == 1 and "bad.jsonl:1" in broken.output


def test_installed_executable_answers(built_index_dir: Path) -> None:
    exe = shutil.which("docqa") or str(Path(sys.executable).parent / "docqa")
    out = subprocess.run(
        [exe, "ask", "What is a fractional COO?", "--json", "--index", str(built_index_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
    )
    assert "part-time Chief Operating Officer" in json.loads(out.stdout)["answer"]["text"]


@pytest.mark.integration
def test_serve_builds_the_index_on_first_run(small_corpus: Path, tmp_path: Path) -> None:
    port, index_dir = free_port(), tmp_path / "index"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--port",
            str(port),
            "--corpus",
            str(small_corpus),
            "--index",
            str(index_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "DOCQA_RATE_LIMIT_PER_MINUTE": "0"},
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        body = httpx.post(
            f"http://127.0.0.1:{port}/v1/query", json={"question": "When are trains booked?"}, timeout=60
        ).json()
        assert body["answer"]["doc_id"] == "travel"
        assert "building it now" in (tmp_path / "serve.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
