"""The embeddable chat widget: `GET /widget.js` and the demo page `GET /` (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
