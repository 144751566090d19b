"""The loaded index behind one indirection, so that a rebuilt index can be swapped in live.

Requests call `IndexHolder.get()` once and keep that `Index` for the whole request, so a
reload never pulls the index out from under an in-flight query: the old object simply stays
alive until its last request finishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index import Index, build_index, load_index
from index.errors import IndexNotReady, QAError
from index.store import check_corpus_unchanged, read_manifest, rebuild_hint
from service.config import Settings

logger = logging.getLogger(__name__)


class ReloadInProgress(QAError):
    """Another reload is running; try again when it has finished."""

    status = 409
    code = "reload_in_progress"


@dataclass(frozen=True)
class LoadOutcome:
    """What a (re)load did."""

    documents: int
    seconds: float


class IndexHolder:
    """Holds the current `Index`; loads, rebuilds and swaps it thread-safely.

    Args:
        settings: Where the index and corpus live and which model to use.
        on_swap: Called with the new index after every successful (re)load.
    """

    def __init__(self, settings: Settings, on_swap: Callable[[Index], None] | None = None) -> None:
        self._settings = settings
        self._on_swap = on_swap
        self._index: Index | None = None
        self._error: QAError | None = None
        self._reload_lock = threading.Lock()
        self.generation = 0

    @property
    def ready(self) -> bool:
        """True once an index is loaded."""
        return self._index is not None

    @property
    def error(self) -> QAError | None:
        """Why the last load failed, if it did."""
        return self._error

    def get(self) -> Index:
        """The current index.

        Raises:
            IndexNotReady: Nothing is loaded (yet, or the load failed).
        """
        current = self._index
        if current is None:
            if self._error is not None:
                raise IndexNotReady(self._error.message)
            raise IndexNotReady("The index is still loading; retry in a few seconds.")
        return current

    def load(self, rebuild: bool = False) -> LoadOutcome:
        """Load (optionally rebuild first) the index from disk and swap it in. Blocking.

        Args:
            rebuild: Run `build_index` (incremental) over the corpus folder before loading: the
                folder given in the settings, else the one the index was built from.

        Returns:
            The document count and the time taken.

        Raises:
            ReloadInProgress: Another load is running.
            QAError: The index could not be built or loaded; the current index stays in place.
        """
        if not self._reload_lock.acquire(blocking=False):
            raise ReloadInProgress("An index reload is already running; retry when it has finished.")
        try:
            return self._load_locked(rebuild)
        finally:
            self._reload_lock.release()

    def _load_locked(self, rebuild: bool) -> LoadOutcome:
        s = self._settings
        started = time.perf_counter()
        corpus = s.index_corpus_dir()
        try:
            if rebuild:
                build_index(corpus, s.index_dir, s.model_path, runtime=s.runtime)
            new_index = self._load_checked(corpus)
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, QAError)
                else IndexNotReady(
                    f"Could not load the index from {s.index_dir} ({type(exc).__name__}: {exc}); "
                    f"{rebuild_hint(corpus, s.index_dir)}, then reload."
                )
            )
            if self._index is None:
                self._error = error
            logger.error("index load failed index_dir=%s code=%s: %s", s.index_dir, error.code, error.message)
            if error is exc:
                raise
            raise error from exc
        self.swap(new_index)
        seconds = time.perf_counter() - started
        logger.info(
            "index loaded index_dir=%s corpus_dir=%s documents=%d generation=%d seconds=%.2f",
            s.index_dir,
            corpus,
            len(new_index.documents),
            self.generation,
            seconds,
        )
        return LoadOutcome(documents=len(new_index.documents), seconds=seconds)

    def _load_checked(self, corpus: Path) -> Index:
        """Load the index after checking it against `corpus` (the message names the folder and the
        command that rebuilds the index from it, never one that would replace it)."""
        s = self._settings
        manifest = read_manifest(s.index_dir, s.model_path)
        try:
            check_corpus_unchanged(manifest, corpus, index_dir=s.index_dir)
        except IndexNotReady as exc:
            raise IndexNotReady(f'{exc.message}, or POST /v1/admin/reload with {{"rebuild": true}}') from exc
        return load_index(s.index_dir, s.model_path, runtime=s.runtime)

    def swap(self, new_index: Index) -> None:
        """Make `new_index` the current index (an atomic reference assignment)."""
        self._index = new_index
        self._error = None
        self.generation += 1
        if self._on_swap is not None:
            self._on_swap(new_index)
