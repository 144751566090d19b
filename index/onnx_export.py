"""Export a sentence-transformers model's transformer to ONNX, once, and prove it gives the same vectors.

This is the only module of the ONNX path that imports torch (and sentence-transformers, the
reference): a build calls it when no export of its model exists yet. The export is traced with
``torch.onnx.export`` (TorchScript exporter, dynamic batch and sequence axes), written into a
temporary folder, then checked: every text of a fixed sample, plus texts of the corpus when a
build hands some over, must get a vector within `MAX_COSINE_DISTANCE` of sentence-transformers'
own. Only then is the folder renamed into place (atomic), with ``export.json`` recording the
model id, the pipeline and the measured difference. A model that fails is recorded as such
(``failed.json``), so the next build does not retry it, and runs on sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import SentenceTransformerEmbedder, model_id
from index.onnx_embedder import EXPORT_INFO, FAILED, ONNX_FILE, NotExportable, OnnxEmbedder, read_pipeline

logger = logging.getLogger(__name__)

MAX_COSINE_DISTANCE = 1e-4
OPSET = 17
SAMPLE_TEXTS: tuple[str, ...] = (
    "Who reports to the COO?",
    "Department heads and managers typically report to the chief operating officer.",
    "x",
    "",
    "Ünïcödé, emoji 🙂 and punctuation — all in one line; does the tokenizer cope?",
    "The quarterly report is due on the 15th. Late reports need the CFO's sign-off.",
    " ".join(["A very long text that is truncated at the model's maximum sequence length."] * 40),
    "What does a CCO do in healthcare?",
)


def export_onnx(model: str, folder: Path, *, sample: Sequence[str] = ()) -> Path:
    """Export `model` to ``folder/model.onnx`` (atomically) after checking its vectors.

    Args:
        model: A sentence-transformers folder.
        folder: Where the export goes (created; replaced only by a complete, checked export).
        sample: Extra texts to compare (e.g. some chunks of the corpus being built).

    Returns:
        `folder`.

    Raises:
        NotExportable: The pipeline is not Transformer -> Pooling (-> Normalize), the export
            failed, or its vectors differ from sentence-transformers' by more than allowed.
    """
    pipeline = read_pipeline(model)
    started = time.perf_counter()
    reference = SentenceTransformerEmbedder(model)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir(parents=True)
    try:
        _trace(reference.model, tmp / ONNX_FILE)
        texts = list(dict.fromkeys([*SAMPLE_TEXTS, *sample]))
        distance, max_abs = _compare(reference, OnnxEmbedder(model, tmp), texts)
        if distance > MAX_COSINE_DISTANCE:
            raise NotExportable(
                f"ONNX vectors differ from sentence-transformers' (cosine distance {distance:.2e})"
            )
        info = {
            "model_id": model_id(model),
            "model": model,
            "pipeline": pipeline.to_dict(),
            "opset": OPSET,
            "checked_texts": len(texts),
            "max_cosine_distance": distance,
            "max_abs_difference": max_abs,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / EXPORT_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
        _replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info(
        "ONNX export of %s in %s: %d texts checked, max cosine distance %.1e, %.1fs",
        model,
        folder,
        info["checked_texts"],
        distance,
        info["seconds"],
    )
    return folder


def _replace_folder(tmp: Path, folder: Path) -> None:
    """Move the finished export into place; a concurrent build's complete export is kept as is."""
    if (folder / EXPORT_INFO).is_file():
        return
    if folder.exists():  # a failed marker, or leftovers: replaced by this export
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.rename(tmp, folder)
    except OSError:
        if not (folder / EXPORT_INFO).is_file():
            raise


def _trace(model: Any, target: Path) -> None:
    """``torch.onnx.export`` of the model's transformer: token ids in, token vectors out."""
    import torch

    transformer = model[0]
    auto_model = transformer.auto_model
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in _forward_args(auto_model)]
    names = [n for n in names if n in transformer.tokenizer.model_input_names or n == "attention_mask"]

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *args: Any) -> Any:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    # Row 2 is padded, so the traced graph takes the attention-mask path of real batches.
    ids = torch.full((2, 8), 100, dtype=torch.int64)
    mask = torch.ones((2, 8), dtype=torch.int64)
    mask[1, 5:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Wrapped().eval(),
                tuple(inputs[n] for n in names),
                str(target),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as exc:  # torch raises many types for models it cannot trace
        raise NotExportable(f"torch.onnx.export failed ({type(exc).__name__}: {exc})") from exc


def _forward_args(module: Any) -> set[str]:
    import inspect

    return set(inspect.signature(module.forward).parameters)


def _compare(
    reference: SentenceTransformerEmbedder, onnx: OnnxEmbedder, texts: list[str]
) -> tuple[float, float]:
    """The largest cosine distance and absolute difference between the two runtimes' vectors."""
    expected = reference.encode(texts)
    try:
        got = onnx.encode(texts)
    except Exception as exc:  # ONNX Runtime rejects graphs it cannot run with various errors
        raise NotExportable(f"ONNX Runtime cannot run the export ({type(exc).__name__}: {exc})") from exc
    cosine = np.sum(expected * got, axis=1)
    return float(np.max(1.0 - cosine)), float(np.max(np.abs(expected - got)))


def record_failure(folder: Path, model: str, reason: str) -> None:
    """Note (atomically) that `model` cannot be exported, so later builds skip the attempt."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{FAILED}.tmp-{os.getpid()}"
    tmp.write_text(
        json.dumps({"model_id": model_id(model), "model": model, "reason": reason}), encoding="utf-8"
    )
    os.replace(tmp, folder / FAILED)
