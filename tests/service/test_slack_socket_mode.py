"""``docqa slack --socket-mode`` end to end: the real CLI process, the real index, Slack stood in.

The stand-in plays both Slack's Web API and its Socket Mode WebSocket: ``apps.connections.open``
(called with the app-level token) hands out a ``ws://`` URL, the test pushes an ``events_api``
envelope down the socket, and the bot must acknowledge it and answer in the thread via
``chat.postMessage`` (called with the bot token).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from service.cli import cli
from tests.slack_stub import BOT_USER_ID, TEAM_ID, SlackStub

REPO = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-1-test-app-token"
BOT_TOKEN = "xoxb-test-bot-token"


@pytest.fixture(scope="module")
def socket_bot(built_index_dir: Path, corpus_dir: Path) -> Iterator[tuple[SlackStub, Path]]:
    """`python -m service slack --socket-mode` connected to the stand-in; yields it and the log path."""
    with SlackStub(socket_mode=True) as stub:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
        env |= {
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "DOCQA_SLACK_API_URL": stub.url,
            "DOCQA_INDEX_DIR": str(built_index_dir),
            "DOCQA_CORPUS_DIR": str(corpus_dir),
            "HF_HUB_OFFLINE": "1",
        }
        fd, name = tempfile.mkstemp(prefix="docqa-socket-mode-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "service", "slack", "--socket-mode"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            yield stub, Path(name)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _envelope(envelope_id: str, event: dict[str, Any], event_id: str, retry: int = 0) -> dict[str, Any]:
    body = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0DOCQA",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
    }
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": body,
    }


@pytest.mark.integration
@pytest.mark.model
def test_socket_mode_answers_a_mention_in_its_thread_once(socket_bot: tuple[SlackStub, Path]) -> None:
    stub, log = socket_bot
    ts = f"{int(time.time())}.000100"
    event = {
        "type": "app_mention",
        "user": "U0ASKER",
        "channel": "C0SOCKET",
        "ts": ts,
        "event_ts": ts,
        "text": f"<@{BOT_USER_ID}> What does a Chief Commercial Officer do?",
    }
    try:
        stub.push(_envelope("env-1", event, "EvSOCKET1"))
        assert stub.wait_for_frame("env-1")["envelope_id"] == "env-1"
        reply = stub.wait_for(
            "chat.postMessage", timeout=90, where=lambda c: c.body.get("channel") == "C0SOCKET"
        )[0]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- bot log ---\n{log.read_text(errors='replace')}") from exc
    assert reply.body["thread_ts"] == ts
    assert reply.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert "/documents/" in json.dumps(reply.body["blocks"])
    opened = stub.calls_to("apps.connections.open")
    assert opened and opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    # Slack redelivers an unacknowledged event with the same event_id: acknowledged, not answered.
    stub.push(_envelope("env-2", event, "EvSOCKET1", retry=1))
    stub.wait_for_frame("env-2")
    time.sleep(3)
    assert len(stub.wait_for("chat.postMessage", where=lambda c: c.body.get("channel") == "C0SOCKET")) == 1


def test_socket_mode_without_tokens_names_the_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "DOCQA_SLACK_APP_TOKEN", "DOCQA_SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["slack", "--socket-mode"])
    assert result.exit_code == 1
    assert "SLACK_APP_TOKEN and SLACK_BOT_TOKEN" in result.output


def test_slack_command_without_socket_mode_points_to_serve() -> None:
    result = CliRunner().invoke(cli, ["slack"])
    assert result.exit_code == 2
    assert "docqa serve" in result.output
