"""The child process that reads untrusted files: killed on hang, reported on crash or memory blow-up."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from corpus.isolation import MEMORY_LIMIT, run_isolated
from corpus.loaders import Loaded, UnreadableFile

# Readers are sent to the child by reference, so these live at module level.


def _hang(path: Path) -> Loaded:
    path.write_text(str(os.getpid()), encoding="ascii")
    time.sleep(120)
    return Loaded("never")


def _segfault(path: Path) -> Loaded:
    os.kill(os.getpid(), signal.SIGSEGV)
    return Loaded("never")


def _allocate(path: Path) -> Loaded:
    return Loaded(str(len(bytearray(2 * MEMORY_LIMIT))))


def _raise(path: Path) -> Loaded:
    raise KeyError(path.name)


def _read(path: Path) -> Loaded:
    return Loaded(path.read_text(encoding="utf-8"), title="T", pages=(0,), meta={"format": "x"})


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_hanging_parser_is_killed_after_the_limit(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(UnreadableFile, match=r"^timeout \(parsing took longer than 2 s\)$"):
        run_isolated(_hang, pid_file, timeout=2)
    assert time.monotonic() - started < 10
    assert _gone(int(pid_file.read_text(encoding="ascii")), within=5)


def test_a_crashing_parser_is_reported_not_fatal(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^the parser crashed \(exit code -11\)$"):
        run_isolated(_segfault, tmp_path / "x.pdf")


def test_a_parser_that_needs_too_much_memory_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="needs more than 4 GiB of memory"):
        run_isolated(_allocate, tmp_path / "bomb.docx")


def test_an_unexpected_parser_error_becomes_a_reason(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"^unreadable \(KeyError: 'odd.pptx'\)$"):
        run_isolated(_raise, tmp_path / "odd.pptx")


def test_the_result_comes_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello " * 100_000, encoding="utf-8")  # larger than a pipe buffer
    assert run_isolated(_read, path) == Loaded(
        "hello " * 100_000, title="T", pages=(0,), meta={"format": "x"}
    )


def test_the_time_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timeout must be positive, got 0"):
        run_isolated(_read, tmp_path / "a.txt", timeout=0)
