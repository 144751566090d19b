"""Build folders of an index: written aside, published with one atomic rename, cleaned when stale.

``index_dir`` is a symlink to ``.<name>.builds/<stamp>/``. A build writes a fresh folder while it
holds an exclusive lock on the folder's ``.lock``, then points the symlink at it (`publish`).
Readers hold a shared lock on the live folder while they read it (`reading`). So a folder is
stale — left by a build that was killed, or replaced by a newer build — exactly when it is not
the live one and nobody holds its lock; `clean_stale_builds` removes those, at the start of every
build and after every publish, and never touches a build in progress or an index being loaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK = ".lock"
# A build folder without a lock file is one from before locks existed, or one whose build was
# killed between creating it and locking it; a build younger than this may be about to lock it.
UNLOCKED_GRACE_SECONDS = 60.0


def builds_dir(index_dir: Path) -> Path:
    """The folder holding every build of `index_dir` (``.<name>.builds`` beside it)."""
    index_dir = Path(os.path.abspath(index_dir))
    return index_dir.parent / f".{index_dir.name}.builds"


def live_build(index_dir: Path) -> Path | None:
    """The build folder `index_dir` points at now (None when it is no symlink)."""
    index_dir = Path(os.path.abspath(index_dir))
    if not index_dir.is_symlink():
        return None
    return Path(os.path.realpath(index_dir))


def _try_lock(path: Path, kind: int) -> int | None:
    """An open fd holding `kind` (LOCK_EX or LOCK_SH) on `path` without waiting, or None if taken."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _lock_if_stale(folder: Path, index_dir: Path) -> int | None:
    """An fd holding the exclusive lock of a stale build folder (-1: stale, has no lock file), or
    None when the folder must stay (live, or locked by a build or a reader)."""
    if live_build(index_dir) == folder.resolve():
        return None
    lock = folder / LOCK
    if not lock.exists():
        age = time.time() - folder.stat().st_mtime
        return -1 if age > UNLOCKED_GRACE_SECONDS else None
    fd = _try_lock(lock, fcntl.LOCK_EX)
    # A folder becomes live only while its build holds the lock, so once we hold it, a second
    # look settles whether that build published it just before it exited.
    if fd is not None and live_build(index_dir) == folder.resolve():
        os.close(fd)
        return None
    return fd


@dataclass(frozen=True)
class StaleBuild:
    """A build folder `clean_stale_builds` removed, and how many bytes it held."""

    path: Path
    size: int


def _size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path.is_file() else 0
    return total


def clean_stale_builds(index_dir: Path) -> list[StaleBuild]:
    """Remove the build folders of `index_dir` that are neither live nor locked (in use).

    Returns:
        The folders removed, with their sizes (each is also logged).
    """
    builds = builds_dir(index_dir)
    if not builds.is_dir():
        return []
    removed: list[StaleBuild] = []
    for folder in sorted(builds.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        try:
            fd = _lock_if_stale(folder, index_dir)
        except OSError:  # removed meanwhile by another build's cleanup
            continue
        if fd is None:
            continue
        try:
            size = _size(folder)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            if fd >= 0:
                os.close(fd)
        removed.append(StaleBuild(folder, size))
        logger.info("removed stale index build %s (%d bytes)", folder, size)
    for link in index_dir.parent.glob(f".{Path(os.path.abspath(index_dir)).name}.link-*"):
        # A symlink a killed build made just before its swap; its build folder is gone by now.
        if not (builds / link.name.rsplit(".link-", 1)[-1]).exists():
            link.unlink(missing_ok=True)
    return removed


def publish(index_dir: Path, write: Callable[[Path], None]) -> Path:
    """Write a build into a fresh locked folder, then point `index_dir` at it with one atomic rename.

    A build killed at any point leaves the previous index in place; its folder is removed by the
    next build. After the swap the replaced build is removed unless someone is still reading it.

    Args:
        index_dir: The index path (a symlink after the first build).
        write: Writes every file of the build into the folder it is given.

    Returns:
        The new live build folder.
    """
    index_dir = Path(os.path.abspath(index_dir))
    builds = builds_dir(index_dir)
    builds.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    target = builds / stamp
    target.mkdir()
    fd = _try_lock(target / LOCK, fcntl.LOCK_EX)
    try:
        write(target)
        for path in target.rglob("*"):
            if path.is_file() and path.name != LOCK:
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        if index_dir.exists() and not index_dir.is_symlink():
            # A plain folder from elsewhere: keep it as a build so the swap below stays atomic.
            index_dir.rename(builds / f"legacy-{stamp}")
        link = index_dir.parent / f".{index_dir.name}.link-{stamp}"
        os.symlink(os.path.relpath(target, index_dir.parent), link)
        os.replace(link, index_dir)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        if fd is not None:
            os.close(fd)
    clean_stale_builds(index_dir)
    return target


@contextlib.contextmanager
def reading(index_dir: Path, attempts: int = 3) -> Iterator[Path]:
    """The live build folder of `index_dir`, kept from cleanup while the block reads it.

    The symlink is resolved once, so every file comes from the same build even if a new build is
    published meanwhile. Falls back to `index_dir` itself for a plain (unlinked) folder.
    """
    folder = Path(index_dir)
    for _ in range(attempts):
        folder = live_build(index_dir) or Path(index_dir)
        lock = folder / LOCK
        if not lock.exists():
            break
        fd = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if lock.exists():  # not removed while we waited for the lock: safe to read
                yield folder
                return
        finally:
            os.close(fd)
    yield folder
