"""`GET /v1/index`: the build report, with every skipped file and its reason, through a real server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.schemas import IndexOut
from tests.live_server import live_server

pytestmark = pytest.mark.integration


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "parking.md").write_text(
        "# Parking\n\nStaff park in the north garage. Visitors park on level two.\n", encoding="utf-8"
    )
    (folder / "budget.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a PDF body\n")
    return folder


def test_index_report_lists_skipped_files_with_reasons(tmp_path: Path, service_env: dict[str, str]) -> None:
    corpus = _corpus(tmp_path / "docs")
    with live_server(service_env, corpus_dir=corpus, index_dir=tmp_path / "index") as url:
        body = httpx.get(f"{url}/v1/index", timeout=60.0).json()
    IndexOut.model_validate(body)
    assert body["documents"] == 1 and Path(body["corpus_dir"]) == corpus.resolve()
    reasons = {entry["path"]: entry["reason"] for entry in body["skipped"]}
    assert set(reasons) == {"budget.xlsx", "empty.txt", "broken.pdf"}
    assert "unsupported" in reasons["budget.xlsx"]
    assert "empty" in reasons["empty.txt"]
    assert "PDF" in reasons["broken.pdf"]
