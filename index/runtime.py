"""Which runtime embeds texts: ONNX Runtime when the model has a checked export, else sentence-transformers.

``DOCQA_RUNTIME`` (`RUNTIMES`):

- ``auto`` (default): a build exports the model to ONNX once (``index.onnx_export``, which
  imports torch) and embeds with ONNX Runtime; loading an index uses the export when one exists,
  so ``docqa serve`` and ``docqa ask`` import neither torch nor sentence-transformers. A model
  that cannot be exported (another pipeline, a hub name, a failed check) runs on
  sentence-transformers, as does an index whose folder has no export yet.
- ``onnx``: as auto, but a model that cannot be exported is an error, and loading exports the
  model when no export exists.
- ``torch``: sentence-transformers only (the reference).

Exports live beside the index, in ``<index parent>/.docqa-onnx/<model fingerprint>/`` (next to
the embedding cache), one folder per model (`export_key`: its model id and pipeline).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from index.embedder import CachedEmbedder, SentenceTransformerEmbedder, model_id
from index.errors import IndexNotReady
from index.onnx_embedder import EXPORT_INFO, FAILED, ONNX_FILE, NotExportable, OnnxEmbedder, read_pipeline

logger = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "torch")
# Exports made or found in this process, by `export_key`: a build in another folder links to one
# (a hard link, or a copy across file systems) instead of exporting the same model again.
_KNOWN: dict[str, Path] = {}


def default_onnx_root(index_dir: Path) -> Path:
    """Where the ONNX exports of the models of indexes kept beside `index_dir` live."""
    return Path(os.path.abspath(index_dir)).parent / ".docqa-onnx"


def _pipeline(model: str) -> dict[str, object] | None:
    try:
        return read_pipeline(model).to_dict()
    except NotExportable:
        return None


def export_key(model: str) -> str:
    """The fingerprint an export is kept under: the model id plus its pipeline (pooling,
    truncation), which the model id does not cover."""
    key = json.dumps([model_id(model), _pipeline(model)], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def export_folder(root: Path, model: str) -> Path:
    """The export folder of `model` under `root` (named by `export_key`, not by its path)."""
    return root / export_key(model)


def find_export(root: Path, model: str) -> Path | None:
    """The checked export of `model` under `root`, or None."""
    folder = export_folder(root, model)
    try:
        info = json.loads((folder / EXPORT_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if info.get("model_id") != model_id(model) or info.get("pipeline") != _pipeline(model):
        return None
    if not (folder / ONNX_FILE).is_file():
        return None
    _KNOWN[export_key(model)] = folder
    return folder


def _link_known(root: Path, model: str) -> Path | None:
    """Put an export this process already has elsewhere into `root` (atomically); None if none."""
    source = _KNOWN.get(export_key(model))
    if source is None or find_export(source.parent, model) is None:
        return None
    folder = export_folder(root, model)
    tmp = folder.parent / f".{folder.name}.link-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in (ONNX_FILE, EXPORT_INFO):
        try:
            os.link(source / name, tmp / name)
        except OSError:
            shutil.copy2(source / name, tmp / name)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return find_export(root, model)


def _export(root: Path, model: str, runtime: str, sample: Sequence[str]) -> Path | None:
    """An export of `model` under `root`, made now if needed; None when it cannot be made (auto)."""
    folder = export_folder(root, model)
    if runtime == "auto" and (folder / FAILED).is_file():
        return None
    try:
        read_pipeline(model)
        found = _link_known(root, model)
        if found is not None:
            return found
        from index.onnx_export import export_onnx, record_failure

        try:
            export_onnx(model, folder, sample=sample)
        except NotExportable as exc:
            record_failure(folder, model, str(exc))
            raise
    except NotExportable as exc:
        if runtime == "onnx":
            raise IndexNotReady(
                f"the model {model!r} cannot run on ONNX Runtime ({exc}); set DOCQA_RUNTIME=torch or auto"
            ) from exc
        logger.info("model %s runs on sentence-transformers: %s", model, exc)
        return None
    return find_export(root, model)


def make_embedder(
    model: str,
    runtime: str = "auto",
    *,
    onnx_root: Path,
    cache_dir: Path | None = None,
    export: bool = False,
    sample: Sequence[str] = (),
) -> CachedEmbedder:
    """The embedder of `model` on the runtime `runtime` asks for (see the module docstring).

    Args:
        model: sentence-transformers folder or name.
        runtime: ``auto``, ``onnx`` or ``torch``.
        onnx_root: Where exports are kept (`default_onnx_root`).
        cache_dir: Embedding cache folder.
        export: Make the export when it is missing (builds do; ``onnx`` always does).
        sample: Texts the export check compares besides its own.

    Raises:
        ValueError: Unknown runtime.
        IndexNotReady: ``onnx`` for a model that cannot be exported.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    folder = None if runtime == "torch" else find_export(onnx_root, model)
    if folder is None and runtime != "torch" and (export or runtime == "onnx"):
        folder = _export(onnx_root, model, runtime, sample)
    if folder is None:
        if runtime == "auto" and not export:
            logger.info("no ONNX export of %s under %s: using sentence-transformers", model, onnx_root)
        return SentenceTransformerEmbedder(model, cache_dir=cache_dir)
    return OnnxEmbedder(model, folder, cache_dir=cache_dir)
