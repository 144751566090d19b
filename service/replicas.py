"""One index, many readers: a reload on any replica reaches every replica; builds never overlap.

Every replica loads the same built index (a shared, read-only folder). A reload (``POST
/v1/admin/reload`` or SIGHUP) on one replica loads the index there, then bumps the shared
generation number (in Redis); every other replica checks that number every
``DOCQA_RELOAD_POLL_SECONDS`` and loads the index again when it changed. A rebuild runs under
the shared build lock, so two replicas never build at once (the second gets 409). Polling a
number, rather than pub/sub, also catches announcements made while a replica was restarting or
cut off from Redis.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from index.errors import QAError
from service.holder import IndexHolder, ReloadInProgress
from service.metrics import Metrics
from service.routes.admin import reload_index
from service.state.base import Coordinator, StateUnavailable

logger = logging.getLogger(__name__)


class ReplicaSync:
    """Reloads that reach every replica.

    Args:
        holder: This replica's index holder.
        metrics: Where reload outcomes are counted.
        coordinator: The shared generation and build lock (a local one for a single process).
    """

    def __init__(self, holder: IndexHolder, metrics: Metrics, coordinator: Coordinator) -> None:
        self.holder = holder
        self.metrics = metrics
        self.coordinator = coordinator
        self.seen: int | None = None

    def remember_current(self) -> None:
        """Note the shared generation before the startup load, so later announcements are seen."""
        try:
            self.seen = self.coordinator.generation()
        except StateUnavailable:
            self.seen = None

    def reload(self, rebuild: bool = False) -> dict[str, object]:
        """Reload here (rebuilding first under the build lock if asked), then tell every replica.

        Raises:
            ReloadInProgress: A reload runs here, or a build runs on any replica.
            QAError: The index could not be built or loaded; the old one keeps serving.
        """
        if rebuild:
            with self.coordinator.build_lock() as acquired:
                if not acquired:
                    self.metrics.reloads.labels("busy").inc()
                    raise ReloadInProgress(
                        "Another replica is building the index; retry when it has finished."
                    )
                outcome = reload_index(self.holder, self.metrics, rebuild=True)
        else:
            outcome = reload_index(self.holder, self.metrics)
        try:
            self.seen = self.coordinator.bump()
        except StateUnavailable:
            logger.warning("reloaded here, but Redis is away: other replicas were not told")
            return {**outcome, "replicas_notified": False}
        return {**outcome, "replicas_notified": True, "shared_generation": self.seen}

    def check_once(self) -> bool:
        """Load the index again if another replica announced a new one; True when it did."""
        try:
            current = self.coordinator.generation()
        except StateUnavailable:
            return False
        if current is None or current == self.seen:
            return False
        logger.info("index generation %s announced (had %s): reloading", current, self.seen)
        try:
            reload_index(self.holder, self.metrics)
        except ReloadInProgress:
            return False  # a local reload is running; look again next time
        except QAError as exc:
            logger.error("reload announced by another replica failed: %s", exc.message)
        self.seen = current
        return True

    async def watch(self, interval: float) -> None:
        """Check the shared generation every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(self.check_once)
            except Exception:  # never let the watcher die: the next round tries again
                logger.exception("index generation check failed")
