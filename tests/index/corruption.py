"""The probe's ways of damaging a built index (issue 11), each a function of the build folder.

Every damage keeps the file parseable where the probe's did (a permutation, an edited digit,
shifted offsets), so only a checksum or a structural check can notice it; the rest break a file
outright (empty, truncated, flipped bytes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _flip(path: Path, at: float, count: int = 16) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, min(start + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def permute_unit_vectors(folder: Path) -> None:
    vectors = np.load(folder / "unit_vectors.npy")
    order = np.roll(np.arange(len(vectors)), 1)  # every row moves, the file stays a valid .npy
    np.save(folder / "unit_vectors.npy", vectors[order])


def edit_digit_in_documents(folder: Path) -> None:
    path = folder / "documents.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = json.loads(lines[0])
    match = re.search(r"\d", row["text"])
    assert match, "the first document has no digit"
    digit = match.group()
    row["text"] = row["text"][: match.start()] + str((int(digit) + 1) % 10) + row["text"][match.end() :]
    lines[0] = json.dumps(row, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def shift_chunk_offsets(folder: Path) -> None:
    path = folder / "chunks.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = json.loads(lines[3])
    row["start"] += 7
    row["end"] += 7
    lines[3] = json.dumps(row, ensure_ascii=False) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def shift_unit_offsets(folder: Path) -> None:
    units = np.load(folder / "units.npy")
    units[:, 1:] += 3
    np.save(folder / "units.npy", units)


def flip_dense_bytes(folder: Path) -> None:
    _flip(folder / "dense" / "dense.faiss", 0.6)


def empty_documents(folder: Path) -> None:
    (folder / "documents.jsonl").write_bytes(b"")


def edit_digit_in_manifest(folder: Path) -> None:
    path = folder / "manifest.json"
    text = path.read_text(encoding="utf-8")
    match = re.search(r'"chunks": (\d)', text)
    assert match
    digit = match.group(1)
    edited = text[: match.start(1)] + str((int(digit) + 1) % 10) + text[match.end(1) :]
    path.write_text(edited, encoding="utf-8")


def flip_manifest_byte(folder: Path) -> None:
    path = folder / "manifest.json"
    data = bytearray(path.read_bytes())
    data[data.index(b'"model"') + 3] = 0xFF  # not UTF-8 any more
    path.write_bytes(bytes(data))


def zero_length_npy(folder: Path) -> None:
    (folder / "units.npy").write_bytes(b"")


def damage_npz(folder: Path) -> None:
    _flip(folder / "sparse" / "bm25_weights.npz", 0.0, count=64)


def truncate_npz(folder: Path) -> None:
    path = folder / "sparse" / "bm25_weights.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def delete_unit_texts(folder: Path) -> None:
    (folder / "unit_texts.json").unlink()


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "permuted unit_vectors.npy rows": permute_unit_vectors,
    "digit edited in documents.jsonl": edit_digit_in_documents,
    "offsets shifted in chunks.jsonl": shift_chunk_offsets,
    "offsets shifted in units.npy": shift_unit_offsets,
    "bytes flipped in dense.faiss": flip_dense_bytes,
    "empty documents.jsonl": empty_documents,
    "digit edited in manifest.json": edit_digit_in_manifest,
    "non-UTF-8 byte in manifest.json": flip_manifest_byte,
    "zero-length units.npy": zero_length_npy,
    "damaged bm25_weights.npz": damage_npz,
    "truncated bm25_weights.npz": truncate_npz,
    "unit_texts.json missing": delete_unit_texts,
}
