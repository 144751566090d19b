"""Run a file reader in a child process with a time limit, so one bad file cannot stop a build.

A hostile or broken file can make a parser loop forever, exhaust memory or crash the interpreter
(PDFium is C++). The reader therefore runs in a child process started with the ``forkserver``
method (``spawn`` where that is missing): never ``fork``, which would copy the parent's threads
and locks (uvicorn, torch). The parent waits at most `PARSE_TIMEOUT` seconds, then kills the child
and reports the file as skipped; a crash is reported the same way.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from corpus.loaders import Loaded, UnreadableFile

PARSE_TIMEOUT = 60.0
"""Seconds a child process may spend reading one file before it is killed."""

MEMORY_LIMIT = 4 * 1024**3
"""Bytes of memory a child may map beyond its start: a decompression bomb fails there, not the build."""

# Modules the fork server imports once, so each child starts with its parser already loaded.
_PRELOAD = ["__main__", "corpus.pdf", "corpus.office"]

Reader = Callable[[Path], Loaded]


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _lower(limit: int, soft: int) -> None:
    hard = resource.getrlimit(limit)[1]
    resource.setrlimit(limit, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _limit_resources(timeout: float) -> None:
    """Cap the child's memory (what it maps already + `MEMORY_LIMIT`) and CPU time.

    The CPU limit ends a parser spinning in a loop even when the parent died before killing it.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        mapped = 0
    _lower(resource.RLIMIT_AS, mapped + MEMORY_LIMIT)
    _lower(resource.RLIMIT_CPU, math.ceil(timeout) + 1)


def _child(read: Reader, path: str, conn: Connection, timeout: float) -> None:
    """The child's side: read the file and send back ``("ok", Loaded)`` or ``("skip", reason)``."""
    _limit_resources(timeout)
    try:
        result: tuple[str, Loaded | str] = ("ok", read(Path(path)))
    except UnreadableFile as exc:
        result = ("skip", exc.reason)
    except MemoryError:
        result = ("skip", f"needs more than {MEMORY_LIMIT // 1024**3} GiB of memory to read")
    except Exception as exc:  # any parser failure is a line in the build report, not a failed build
        result = ("skip", f"unreadable ({type(exc).__name__}: {exc})")
    conn.send(result)
    conn.close()


def run_isolated(read: Reader, path: Path, timeout: float = PARSE_TIMEOUT) -> Loaded:
    """Call ``read(path)`` in a child process and return its result.

    Args:
        read: A module-level reader (it is sent to the child by reference).
        path: The file to read.
        timeout: Seconds the child may take; it is killed after that.

    Returns:
        What `read` returned.

    Raises:
        UnreadableFile: The reader raised, the child crashed, or it ran out of time.
        ValueError: `timeout` is not positive.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(read, str(path), sender, timeout))
    try:
        process.start()
        sender.close()
        ready = wait([receiver, process.sentinel], timeout)
        if receiver in ready:
            return _received(receiver, process)
        if ready:
            raise UnreadableFile(_crashed(process))
        raise UnreadableFile(f"timeout (parsing took longer than {timeout:g} s)")
    finally:
        _stop(process)
        receiver.close()


def _received(receiver: Connection, process: BaseProcess) -> Loaded:
    try:
        status, value = receiver.recv()
    except (EOFError, OSError) as exc:
        raise UnreadableFile(_crashed(process)) from exc
    if status == "ok" and isinstance(value, Loaded):
        return value
    raise UnreadableFile(str(value))


def _crashed(process: BaseProcess) -> str:
    process.join(timeout=5)
    return f"the parser crashed (exit code {process.exitcode})"


def _stop(process: BaseProcess) -> None:
    """Kill the child if it still runs, reap it and release its handles."""
    if process.is_alive():
        process.kill()
    process.join(timeout=5)
    if process.exitcode is not None:
        process.close()
