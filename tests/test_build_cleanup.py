"""Folders of killed builds (issue 11, item 13): the next build removes them at its start and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from index import build_index, load_index
from index.builds import builds_dir, live_build
from service.cli import cli

pytestmark = pytest.mark.model


def _kill_while_writing(corpus: Path, index_dir: Path) -> Path | None:
    """Run `docqa build` and SIGKILL it once its new build folder exists but is not yet live.

    Returns:
        The folder the killed build left, or None when the build published before it was stopped.
    """
    before = set(builds_dir(index_dir).iterdir())
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "build", "--corpus", str(corpus), "--index", str(index_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        while proc.poll() is None:
            new = set(builds_dir(index_dir).iterdir()) - before
            if new:
                proc.send_signal(signal.SIGSTOP)  # freeze it, then make sure it has not published
                [folder] = new
                if live_build(index_dir) == folder.resolve():
                    return None
                return folder
            time.sleep(0.001)
        return None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_next_build_removes_a_killed_builds_folder_at_its_start_and_says_so(
    tmp_path: Path, model_path: str
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "leave.md").write_text(
        "# Leave\n\nEvery employee gets 25 days of paid leave.\n", encoding="utf-8"
    )
    build_index(corpus, index_dir, model_path)
    live = live_build(index_dir)
    left = None
    for attempt in range(5):  # the kill must land between the folder's creation and the swap
        for i in range(40):
            (corpus / f"extra{i}.md").write_text(
                f"# Extra {i} take {attempt}\n\n" + f"Filler sentence {attempt} number {i}. " * 150,
                encoding="utf-8",
            )
        left = _kill_while_writing(corpus, index_dir)
        if left is not None:
            break
        live = live_build(index_dir)
    assert left is not None, "no kill landed while the build was writing"
    assert left.is_dir() and live_build(index_dir) == live  # the killed build changed nothing live
    load_index(index_dir, model_path)

    result = CliRunner().invoke(cli, ["build", "--corpus", str(corpus), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    said = result.stderr.index("removed 1 unfinished or replaced build folder (")
    assert said < result.stderr.index("building the index of")  # at the start, before building
    assert f"  - {left}" in result.stderr
    assert not left.exists()
    assert [p.name for p in builds_dir(index_dir).iterdir()] == [live_build(index_dir).name]  # type: ignore[union-attr]
