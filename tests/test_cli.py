"""The `docqa` command, in-process with click's runner and once as the installed executable."""

from __future__ import annotations

import json
import os
import re
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
        # The build ran in a child process: the server itself never loaded torch (issue 12).
        assert "libtorch" not in Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- incremental builds; the index remembers its folder (issue 10) -----------------------------

CHANGED_TRAVEL = "# Travel policy\n\nTrains for trips under 800 km.\n"


@pytest.fixture
def index_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DOCQA_INDEX_DIR set, DOCQA_CORPUS_DIR unset: the corpus folder must come from the index."""
    monkeypatch.delenv("DOCQA_CORPUS_DIR", raising=False)
    monkeypatch.setenv("DOCQA_INDEX_DIR", str(tmp_path / "index"))
    return tmp_path / "index"


def test_build_reports_changed_files_and_what_it_embedded(small_corpus: Path, index_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["build", "--corpus", str(small_corpus)])
    assert first.exit_code == 0, first.output
    assert "added 1, changed 0, removed 0, unchanged 0 files" in first.stderr
    assert re.search(r"embedded [1-9]\d* new texts, 0 from cache", first.stderr)
    again = runner.invoke(cli, ["build", "--corpus", str(small_corpus)])
    assert "added 0, changed 0, removed 0, unchanged 1 files" in again.stderr
    assert "embedded 0 new texts, 0 from cache" in again.stderr and "up to date" in again.stderr
    (small_corpus / "travel.md").write_text(CHANGED_TRAVEL, encoding="utf-8")
    (small_corpus / "hr.md").write_text("# HR\n\nPayslips arrive on the 25th.\n", encoding="utf-8")
    changed = runner.invoke(cli, ["build"])  # no --corpus: the folder the index was built from
    assert changed.exit_code == 0, changed.output
    assert f"building the index of {small_corpus} into" in changed.stderr
    assert "added 1, changed 1, removed 0, unchanged 0 files" in changed.stderr
    assert "  + hr.md" in changed.stderr and "  ~ travel.md" in changed.stderr


def test_ask_uses_the_index_folder_and_warns_when_it_changed(small_corpus: Path, index_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build", "--corpus", str(small_corpus)]).exit_code == 0
    fresh = runner.invoke(cli, ["ask", "When are trains booked?"])
    assert fresh.exit_code == 0 and fresh.stdout.startswith("Trains are booked for trips under 500 km.")
    assert fresh.stderr == ""
    (small_corpus / "travel.md").write_text(CHANGED_TRAVEL, encoding="utf-8")
    stale = runner.invoke(cli, ["ask", "When are trains booked?"])
    assert stale.exit_code == 0 and stale.stdout.startswith("Trains are booked for trips under 500 km.")
    assert f"warning: the corpus in {small_corpus} changed since the index was built" in stale.stderr
    assert "changed 1" in stale.stderr and f"docqa build --corpus {small_corpus}" in stale.stderr


def test_serve_keeps_the_index_of_its_own_folder(small_corpus: Path, index_env: Path) -> None:
    from service.cli import ensure_index
    from service.config import Settings

    runner = CliRunner()
    assert runner.invoke(cli, ["build", "--corpus", str(small_corpus)]).exit_code == 0
    built_at = json.loads((index_env / "manifest.json").read_text(encoding="utf-8"))["built_at"]
    settings = Settings()
    assert not settings.corpus_dir_is_set and settings.index_corpus_dir() == small_corpus
    ensure_index(settings)  # what `docqa serve` / `make serve` run first: nothing to rebuild
    manifest = json.loads((index_env / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["built_at"] == built_at and manifest["corpus_dir"] == str(small_corpus)


def test_eval_names_the_folder_the_index_was_built_from(built_index_dir: Path, corpus_dir: Path) -> None:
    runner = CliRunner()
    table = runner.invoke(cli, ["eval", str(DEV), "--index", str(built_index_dir)])
    assert table.exit_code == 0, table.output
    assert table.stdout.startswith(f"index {built_index_dir}: 4 documents from {corpus_dir}, built ")
    as_json = runner.invoke(
        cli, ["eval", str(DEV), "--json", "--mode", "bm25", "--index", str(built_index_dir)]
    )
    assert json.loads(as_json.stdout)["index"]["corpus_dir"] == str(corpus_dir)


@pytest.mark.integration
def test_index_built_elsewhere_is_served_from_another_directory(small_corpus: Path, tmp_path: Path) -> None:
    """The installed `docqa`: build with relative paths in one directory; `ask` and `serve` (without
    --corpus) from another directory use that folder and find the index current."""
    exe = shutil.which("docqa") or str(Path(sys.executable).parent / "docqa")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env |= {"HF_HUB_OFFLINE": "1", "DOCQA_RATE_LIMIT_PER_MINUTE": "0"}
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    index_dir = tmp_path / "index"
    subprocess.run(
        [exe, "build", "--corpus", "../corpus", "--index", "../index"],
        cwd=here,
        env=env,
        check=True,
        timeout=300,
    )
    asked = subprocess.run(
        [exe, "ask", "When are trains booked?", "--index", str(index_dir)],
        cwd=there,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert asked.stdout.startswith("Trains are booked") and "warning" not in asked.stderr
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [exe, "serve", "--port", str(port), "--index", str(index_dir)],
            cwd=there,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(port, proc, log_path)
        body = httpx.post(
            f"http://127.0.0.1:{port}/v1/query", json={"question": "When are trains booked?"}, timeout=60
        ).json()
        assert body["answer"]["doc_id"] == "travel"
        log_text = log_path.read_text()
        assert "building it now" not in log_text and f"of {small_corpus} on http" in log_text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log_path.read_text()
        time.sleep(0.5)
    raise AssertionError(f"not ready: {log_path.read_text()}")


def test_serve_refuses_several_workers_without_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue #13: N workers without shared state would each keep their own sessions and limits.
    monkeypatch.delenv("DOCQA_REDIS_URL", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--index", str(tmp_path / "idx")])
    assert result.exit_code != 0
    assert "--workers 2 needs DOCQA_REDIS_URL" in result.output


def test_serve_refuses_an_unwritable_data_dir_when_slack_votes_go_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue #11.4: votes must not be acknowledged and lost; say so before serving.
    blocked = tmp_path / "data"
    blocked.write_text("a file, not a folder")
    monkeypatch.delenv("DOCQA_REDIS_URL", raising=False)
    monkeypatch.setenv("DOCQA_DATA_DIR", str(blocked))
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-t")
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "idx")])
    assert result.exit_code != 0
    assert f"The data directory {blocked} is not writable" in result.output
    assert "DOCQA_DATA_DIR" in result.output


def test_serve_exports_the_model_of_an_index_built_without_one(
    tmp_path: Path, corpus_dir: Path, model_path: str
) -> None:
    """`docqa serve` on an index from before ONNX exports: the export is made in a child process,
    so the server loads the model on ONNX Runtime (issue 12)."""
    from index import build_index, load_index
    from index.runtime import default_onnx_root, find_export
    from service.cli import ensure_onnx_export
    from service.config import Settings

    index_dir = tmp_path / "index"
    build_index(corpus_dir, index_dir, model_path, runtime="torch")
    assert find_export(default_onnx_root(index_dir), model_path) is None
    ensure_onnx_export(Settings(index_dir=index_dir, runtime="auto"))
    assert find_export(default_onnx_root(index_dir), model_path) is not None
    assert load_index(index_dir, model_path)._embedder.runtime == "onnx"
