"""Start the real service (uvicorn in a subprocess) on a free loopback port, for tests and benches.

    with live_server({"DOCQA_INDEX_DIR": str(index_dir)}) as url:
        httpx.get(f"{url}/v1/documents")

The yielded URL is a `str` that also carries `.log_path` (the server's combined stdout/stderr)
and `.pid`, so tests can read the access log or send the process a signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


class ServerURL(str):
    """The base URL of a running server, plus where its log goes and its process id."""

    log_path: Path
    pid: int

    def __new__(cls, url: str, log_path: Path, pid: int) -> ServerURL:
        obj = super().__new__(cls, url)
        obj.log_path = log_path
        obj.pid = pid
        return obj

    @property
    def url(self) -> str:
        """The base URL as a plain string (``http://127.0.0.1:PORT``)."""
        return str(self)

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


LiveServer = ServerURL


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerFailed(RuntimeError):
    """The server exited or never became ready; the message holds its log."""


@contextlib.contextmanager
def live_server(
    env: dict[str, str] | None = None,
    *,
    corpus_dir: Path | None = None,
    index_dir: Path | None = None,
    timeout: float = 180.0,
    bind: str = "127.0.0.1",
) -> Iterator[ServerURL]:
    """Run ``python -m uvicorn --factory service.app:create_app`` until the block exits.

    Like ``docqa serve``, the index is built first (in this process) when none exists.

    Args:
        env: Extra environment (``DOCQA_RATE_LIMIT_PER_MINUTE`` …), laid over the current one
            with ``HF_HUB_OFFLINE=1``.
        corpus_dir: Sets ``DOCQA_CORPUS_DIR`` (default: env's, else the settings' default).
        index_dir: Sets ``DOCQA_INDEX_DIR`` (default: env's, else the settings' default).
        timeout: Seconds to wait for ``/readyz`` to answer 200.
        bind: Address the server listens on (``0.0.0.0`` to be reachable from this host's other
            addresses too); the yielded URL is always the loopback one.

    Yields:
        The base URL (``http://127.0.0.1:PORT``) with ``.log_path`` and ``.pid``.

    Raises:
        ServerFailed: The process died, reported a failed index load, or timed out (log attached).
    """
    env = dict(env or {})
    if corpus_dir is not None:
        env["DOCQA_CORPUS_DIR"] = str(corpus_dir)
    if index_dir is not None:
        env["DOCQA_INDEX_DIR"] = str(index_dir)
    ensure_index(env)
    port = free_port()
    fd, name = tempfile.mkstemp(prefix=f"docqa-server-{port}-", suffix=".log")
    log_path = Path(name)
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **env}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "service.app:create_app",
        "--host",
        bind,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "info",
        *_serve_options(env),
    ]
    with os.fdopen(fd, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    url = ServerURL(f"http://127.0.0.1:{port}", log_path, proc.pid)
    try:
        _wait_ready(proc, url, timeout)
        yield url
    finally:
        _stop(proc)


def ensure_index(env: dict[str, str]) -> None:
    """Build the index the server will load when it does not exist yet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index import build_index, index_exists
    from service.config import Settings

    overrides = {
        k[len("DOCQA_") :].lower(): v
        for k, v in env.items()
        if k in ("DOCQA_CORPUS_DIR", "DOCQA_INDEX_DIR", "DOCQA_MODEL")
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    corpus, index = (REPO_ROOT / settings.corpus_dir, REPO_ROOT / settings.index_dir)
    if not index_exists(index):
        build_index(corpus, index, settings.model_path)


def _serve_options(env: dict[str, str]) -> list[str]:
    """The uvicorn options `docqa serve` adds (header limit, JSON protocol errors, no XFF trust)."""
    from service.config import Settings
    from service.server import uvicorn_cli_args

    limit = env.get("DOCQA_MAX_HEADER_BYTES") or os.environ.get("DOCQA_MAX_HEADER_BYTES")
    settings = Settings(max_header_bytes=int(limit)) if limit else Settings()
    return uvicorn_cli_args(settings)


def _wait_ready(proc: subprocess.Popen[bytes], url: ServerURL, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"server exited with {proc.returncode}:\n{url.log()}")
        try:
            response = httpx.get(f"{url}/readyz", timeout=2.0)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            return
        if response.status_code == 503 and response.json().get("status") == "failed":
            raise ServerFailed(f"server could not load its index: {response.text}\n{url.log()}")
        time.sleep(0.2)
    raise ServerFailed(f"server not ready after {timeout:.0f} s:\n{url.log()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
