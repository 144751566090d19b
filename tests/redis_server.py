"""Start a real ``redis-server`` (Debian's package) on a free loopback port, for tests and benches.

    with redis_server(tmp_path) as redis:
        live_server({"DOCQA_REDIS_URL": redis.url})
        redis.stop(); redis.start()   # an outage, then recovery on the same port and data

Redis runs with ``appendonly yes`` and ``appendfsync always`` (what docs/scaling.md asks of a
production Redis), its files in the given folder.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.live_server import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One redis-server process that can be stopped and started again on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A plain client of this server."""
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> None:
        """Start (or restart) the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--protected-mode", "yes",
        ]  # fmt: skip
        log = (self.data_dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.exceptions.RedisError):
                if self.client().ping():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.data_dir / 'redis.log').read_text()}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING in 20 s")

    def stop(self, kill: bool = False) -> None:
        """Stop the server (SIGKILL when `kill`, else SIGTERM)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(timeout=20)


@contextlib.contextmanager
def redis_server(data_dir: Path) -> Iterator[RedisServer]:
    """A running RedisServer until the block exits."""
    server = RedisServer(data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
