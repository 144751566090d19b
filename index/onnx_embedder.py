"""The embedding model run by ONNX Runtime: no torch, no sentence-transformers at query time.

A sentence-transformers folder describes its pipeline in ``modules.json``: a Transformer, a
Pooling module (``1_Pooling/config.json`` names the mode) and usually a Normalize module.
`read_pipeline` reads that description; the transformer itself is exported once to ONNX by
`index.onnx_export` (which needs torch) and then run here with the folder's own
``tokenizer.json`` (Hugging Face ``tokenizers``, truncated at the model's ``max_seq_length``),
with pooling and normalisation done in numpy exactly as the folder's configuration says.
A pipeline with any other module (a Dense layer, a custom router) is not exportable: it runs on
sentence-transformers instead (`index.runtime`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.embedder import CachedEmbedder, normalised

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
EXPORT_INFO = "export.json"
FAILED = "failed.json"
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")
# Most texts per model call: on 2 cores, batches of 32 short sentences embedded 10 % faster than
# batches of 8, and 64 no faster than 32 (2,500 sentences of the k8s pool corpus, this machine).
_MAX_BATCH = 32
# Module types sentence-transformers has used for these three steps (the class moved in v6).
_TRANSFORMER = ("Transformer",)
_POOLING = ("Pooling",)
_NORMALIZE = ("Normalize",)


class NotExportable(Exception):
    """The model cannot run on ONNX Runtime; the message says why (sentence-transformers runs it)."""


@dataclass(frozen=True)
class Pipeline:
    """What a sentence-transformers folder does around its transformer.

    Attributes:
        model_dir: The folder (holds ``tokenizer.json``).
        max_seq_length: Tokens kept per text (longer texts are truncated, as sentence-transformers does).
        pooling: One of `POOLING_MODES`.
        normalize: The folder ends in a Normalize module (vectors are normalised either way, as
            `SentenceTransformerEmbedder` asks sentence-transformers to).
        do_lower_case: Lower-case texts before tokenizing (``sentence_bert_config.json``).
        dim: Vector dimension (``word_embedding_dimension`` of the pooling config).
    """

    model_dir: str
    max_seq_length: int
    pooling: str
    normalize: bool
    do_lower_case: bool
    dim: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form, recorded with the export."""
        return {
            "max_seq_length": self.max_seq_length,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "do_lower_case": self.do_lower_case,
            "dim": self.dim,
        }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotExportable(f"cannot read {path.name}: {exc}") from exc
    return data if isinstance(data, dict) else {"items": data}


_POOLING_KEYS = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}


def _pooling_mode(config: dict[str, Any]) -> str:
    """The one pooling mode a ``1_Pooling/config.json`` switches on (others are not supported)."""
    on = sorted(k for k, v in config.items() if k.startswith("pooling_mode") and v not in (False, None))
    if len(on) != 1 or on[0] not in _POOLING_KEYS:
        raise NotExportable(f"pooling {on} is not supported (one of mean, cls, max, mean_sqrt_len)")
    return _POOLING_KEYS[on[0]]


def read_pipeline(model: str) -> Pipeline:
    """Read the pipeline of a sentence-transformers folder (no torch).

    Raises:
        NotExportable: Not a local folder, no ``tokenizer.json``, or a module other than
            Transformer, Pooling and Normalize.
    """
    folder = Path(model)
    if not folder.is_dir():
        raise NotExportable(f"{model!r} is not a local model folder")
    if not (folder / "tokenizer.json").is_file():
        raise NotExportable(f"{folder} has no tokenizer.json")
    modules = _read_json(folder / "modules.json").get("items")
    if not isinstance(modules, list) or not modules:
        raise NotExportable("modules.json lists no modules")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[0] not in _TRANSFORMER or len(kinds) < 2 or kinds[1] not in _POOLING:
        raise NotExportable(f"the pipeline {kinds} is not Transformer -> Pooling")
    if any(k not in _NORMALIZE for k in kinds[2:]):
        raise NotExportable(f"the pipeline {kinds} has modules ONNX export does not cover")
    pooling = _read_json(folder / str(modules[1].get("path") or "1_Pooling") / "config.json")
    bert = (
        _read_json(folder / "sentence_bert_config.json")
        if (folder / "sentence_bert_config.json").is_file()
        else {}
    )
    max_len = bert.get("max_seq_length")
    if not isinstance(max_len, int) or max_len < 1:
        raise NotExportable("sentence_bert_config.json gives no max_seq_length")
    return Pipeline(
        model_dir=str(folder),
        max_seq_length=max_len,
        pooling=_pooling_mode(pooling),
        normalize=len(kinds) > 2,
        do_lower_case=bool(bert.get("do_lower_case", False)),
        dim=int(pooling.get("word_embedding_dimension", 0)),
    )


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str) -> npt.NDArray[np.float32]:
    """Pool token vectors ``(batch, seq, dim)`` into normalised text vectors (as sentence-transformers)."""
    weights = mask[..., None].astype(np.float32)
    if mode == "cls":
        vectors = hidden[:, 0]
    elif mode == "max":
        vectors = np.where(weights > 0, hidden, np.float32(-1e9)).max(axis=1)
    else:
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        vectors = (hidden * weights).sum(axis=1) / (np.sqrt(counts) if mode == "mean_sqrt_len" else counts)
    return normalised(vectors)


class OnnxEmbedder(CachedEmbedder):
    """A sentence-transformers model exported to ONNX, run by ONNX Runtime on the CPU.

    Texts are tokenized together, sorted by length and batched, so a batch pads only to its
    longest text; ONNX Runtime uses every core (intra-op threads).

    Args:
        name: The sentence-transformers folder (its ``tokenizer.json`` and configuration).
        export_dir: The folder with ``model.onnx`` (`index.onnx_export.export_onnx` makes it).
        batch_size: Texts per model call at the longest length (``max_seq_length`` tokens); shorter
            texts go in proportionally bigger batches, up to 32. On 2 cores batches of 4-8
            full-length texts were as fast as 32-64 or faster, with half the memory.
        cache_dir: Embedding cache folder (shared with the torch runtime: same model, same vectors).
        threads: ONNX Runtime intra-op threads (default: the available cores).

    Example:
        >>> emb = OnnxEmbedder(model_dir, export_dir)          # doctest: +SKIP
        >>> emb.encode(["who reports to the COO?"]).shape
        (1, 384)
    """

    runtime = "onnx"

    def __init__(
        self,
        name: str,
        export_dir: Path,
        *,
        batch_size: int = 8,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(name, batch_size=batch_size, cache_dir=cache_dir)
        self.export_dir = export_dir
        self.pipeline = read_pipeline(name)
        self.threads = threads or available_cores()
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._pad_id = 0
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Vector dimension (from the pooling configuration, no model load)."""
        return self.pipeline.dim

    def warm_up(self) -> None:
        """Open the ONNX Runtime session and the tokenizer (idempotent, thread-safe)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # Worker threads spin between the operators of a run and stop when the run ends.
            # Without spinning each operator wakes a sleeping thread; spinning without the stop
            # kept a core busy ~30 ms after every run and made a client's encodes beside the
            # service 3x slower. Through the service (bench/lean_start.py, this 2-core VM), spin +
            # stop answered /v1/query in 6.1 ms back to back (was 7.5) and 9.1-9.8 ms with 20 ms
            # to 1 s between requests (was 11.0-12.0); 8 clients' throughput 1-4 % lower; builds
            # 3-6 % faster. (A bare session in a script that sleeps 20 ms+ between calls measured
            # the other way, 11 against 8 ms; the service figures above are what users see.)
            options.add_session_config_entry("session.intra_op.allow_spinning", "1")
            options.add_session_config_entry("session.force_spinning_stop", "1")
            session = ort.InferenceSession(
                str(self.export_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(Path(self.pipeline.model_dir) / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=self.pipeline.max_seq_length)
            padding = tokenizer.padding or {}
            tokenizer.no_padding()  # batches are padded here, after sorting by length
            self._pad_id = int(padding.get("pad_id", tokenizer.token_to_id("[PAD]") or 0))
            self._inputs = tuple(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
            logger.info("model loaded: %s (ONNX Runtime, %d threads)", self.name, self.threads)

    def _encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.pipeline.do_lower_case:
            texts = [t.lower() for t in texts]
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = np.argsort([-n for n in lengths], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        lo = 0
        while lo < len(order):
            # A batch holds about `batch_size` texts of the longest length: short texts go in
            # bigger batches (fewer model calls), long ones in small batches (no padding waste).
            width = lengths[order[lo]]
            size = max(1, min(_MAX_BATCH, self.batch_size * self.pipeline.max_seq_length // max(width, 1)))
            rows = order[lo : lo + size]
            out[rows] = self._run([encodings[i] for i in rows])
            lo += size
        return out

    def _run(self, encodings: list[Any]) -> npt.NDArray[np.float32]:
        """One model call on a batch of encodings, padded to the longest."""
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in self._inputs}
        feeds["input_ids"][:] = self._pad_id
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            feeds["input_ids"][row, :n] = enc.ids
            feeds["attention_mask"][row, :n] = enc.attention_mask
            if "token_type_ids" in feeds:
                feeds["token_type_ids"][row, :n] = enc.type_ids
        hidden = self._session.run(None, feeds)[0]
        return pool(hidden, feeds["attention_mask"], self.pipeline.pooling)
