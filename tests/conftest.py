"""Session fixtures shared by every test: the real model, the default corpus, one built index.

Every retrieval test runs on the real packaged MiniLM model and a real FAISS + BM25 index built
once per session; nothing here is a stand-in.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_QUESTIONS = REPO_ROOT / "tests" / "data" / "eval" / "dev_questions.jsonl"


@pytest.fixture(scope="session")
def model_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (the default model)."""
    from service.config import Settings

    return Settings().model_path


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The default corpus: the four seed articles and their manifest."""
    return REPO_ROOT / "corpus" / "documents"


@pytest.fixture(scope="session")
def markdown_corpus_dir() -> Path:
    """A small made-up Markdown corpus with markup of every kind (front matter, bold, links, a Hugo
    shortcode, a hard-wrapped sentence, a table, a list)."""
    return REPO_ROOT / "tests" / "data" / "markdown-door"


@pytest.fixture(scope="session")
def markdown_index_dir(
    tmp_path_factory: pytest.TempPathFactory, markdown_corpus_dir: Path, model_path: str
) -> Path:
    """The Markdown corpus built once per session."""
    from index import build_index

    index_dir = tmp_path_factory.mktemp("markdown-index") / "index"
    build_index(markdown_corpus_dir, index_dir, model_path)
    return index_dir


@pytest.fixture(scope="session")
def built_index_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, model_path: str) -> Path:
    """The default corpus built once per session into a temporary folder."""
    from index import build_index

    index_dir = tmp_path_factory.mktemp("index") / "index"
    build_index(corpus_dir, index_dir, model_path)
    return index_dir


@pytest.fixture(scope="session")
def index(built_index_dir: Path, model_path: str) -> Any:
    """The loaded `Index` of the default corpus."""
    from index import load_index

    return load_index(built_index_dir, model_path)


_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # unix sockets
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_outbound_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse connections off this machine unless a test is marked `integration` (nothing may leak out)."""
    if request.node.get_closest_marker("integration"):
        yield
        return

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise ConnectionRefusedError(f"test tried to reach {address!r}; only loopback is allowed")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
