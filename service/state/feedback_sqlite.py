"""Feedback votes in SQLite under the data directory: the single-process default.

Each vote is one row keyed by (answer, user): a re-vote replaces the rating, a replayed request
changes nothing. The database runs in WAL mode with ``synchronous=FULL``, so a committed vote
survives a SIGKILL of the process and a power cut; ``record`` returns only after the commit, and
the Slack handler acknowledges the press only after ``record`` returned.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from service.state.base import FeedbackNotSaved, Vote

logger = logging.getLogger(__name__)

FEEDBACK_DB = "slack_feedback.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    answer_key TEXT NOT NULL,
    user TEXT NOT NULL,
    rating TEXT NOT NULL,
    record TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (answer_key, user)
)
"""
_UPSERT = """
INSERT INTO votes (answer_key, user, rating, record, seq)
VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM votes))
ON CONFLICT (answer_key, user) DO UPDATE SET rating = excluded.rating, record = excluded.record,
    seq = excluded.seq
WHERE votes.rating != excluded.rating
"""


class DataDirUnwritable(RuntimeError):
    """The data directory cannot be written; the message names it and what to do."""


def check_data_dir(data_dir: Path) -> None:
    """Make sure `data_dir` exists and a file can be written in it.

    Raises:
        DataDirUnwritable: It is not a directory, cannot be created, or refuses writes.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise DataDirUnwritable(
            f"The data directory {data_dir} is not writable ({exc.strerror or exc}); Slack feedback "
            "is stored there. Point DOCQA_DATA_DIR at a writable folder (or set DOCQA_REDIS_URL)."
        ) from exc


class SqliteFeedback:
    """Votes in ``<data_dir>/slack_feedback.sqlite3``.

    Args:
        data_dir: Writable folder; checked (and the table created) at construction.

    Raises:
        DataDirUnwritable: `data_dir` cannot be written.

    Example:
        >>> store = SqliteFeedback(Path(tempfile.mkdtemp()))
        >>> store.record(Vote("m1", "U1", "up", {"question": "q"})), store.record(Vote("m1", "U1", "up", {}))
        (True, False)
    """

    def __init__(self, data_dir: Path) -> None:
        check_data_dir(data_dir)
        self.path = data_dir / FEEDBACK_DB
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise DataDirUnwritable(f"Cannot create the feedback database {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        # One short connection per vote: votes are rare, and a vanished or read-only folder
        # shows up at once instead of behind a cached handle.
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def record(self, vote: Vote) -> bool:
        """Commit `vote` (fsynced); True when new or the rating changed.

        Raises:
            FeedbackNotSaved: The database could not be written.
        """
        record = json.dumps({**vote.record, "rating": vote.rating, "user": vote.user}, ensure_ascii=False)
        try:
            db = self._connect()
            try:
                cursor = db.execute(_UPSERT, (vote.answer_key, vote.user, vote.rating, record))
                changed = cursor.rowcount > 0
            finally:
                db.close()
        except sqlite3.Error as exc:
            logger.error("feedback not saved path=%s: %s", self.path, exc)
            raise FeedbackNotSaved(
                f"The vote could not be saved ({exc}); please press the button again."
            ) from exc
        return changed

    def votes(self) -> list[dict[str, Any]]:
        """Every vote's record, in the order they were last changed."""
        db = self._connect()
        try:
            rows = db.execute("SELECT record FROM votes ORDER BY seq").fetchall()
        finally:
            db.close()
        return [json.loads(row[0]) for row in rows]
