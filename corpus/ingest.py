"""Walk a corpus folder and yield `Document`s with stable ids and human titles.

A folder may hold a ``manifest.json`` mapping file names to ``{"doc_id", "title", "url"}``;
files without an entry get an id from their file name and a title from their first heading or line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from corpus.frontmatter import front_matter_end, front_matter_title
from corpus.loaders import SUPPORTED_SUFFIXES, read_document_text
from corpus.models import Document

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class CorpusLoadError(ValueError):
    """The corpus folder cannot be read; the message says what to fix."""


def slugify(name: str) -> str:
    """Turn a file stem into a readable, URL-safe document id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:120] or "document"


def first_heading(text: str) -> str:
    """A title from the text: the first Markdown heading, else the first non-empty line (trimmed).

    Front matter is skipped (its ``title`` wins, see `document_title`) and heading attributes
    (``{#anchor}``) are dropped.
    """
    text = text[front_matter_end(text) :]
    atx = re.search(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)
    lines = [atx.group(1)] if atx else text.splitlines()
    for line in lines:
        stripped = re.sub(r"\{\s*[#.][^{}]*\}", "", line).strip().lstrip("#").strip()
        if stripped:
            return stripped if len(stripped) <= 120 else stripped[:117].rstrip() + "…"
    return "Untitled"


def _read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusLoadError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise CorpusLoadError(f"{path} must map file names to {{doc_id, title}} objects")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _source_name(path: Path, folder: Path) -> str:
    """The file's path relative to the working directory when under it, else from the folder's name."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return f"{folder.name}/{path.relative_to(folder).as_posix()}"


def iter_documents(folder: Path) -> Iterator[Document]:
    """Yield the documents of `folder` (recursively), sorted by path, duplicates by content skipped.

    Raises:
        CorpusLoadError: The folder does not exist, or a manifest entry is malformed.
    """
    if not folder.is_dir():
        raise CorpusLoadError(
            f"corpus folder {folder} does not exist; pass --corpus DIR or set DOCQA_CORPUS_DIR"
        )
    manifest = _read_manifest(folder)
    seen_ids: set[str] = set()
    seen_hashes: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or path.name.startswith("."):
            continue
        text, markup_title = read_document_text(path)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if not text.strip() or digest in seen_hashes:
            logger.info("skipping empty or duplicate document %s", path)
            continue
        seen_hashes.add(digest)
        entry = manifest.get(path.relative_to(folder).as_posix(), {})
        doc_id = str(entry.get("doc_id") or slugify(path.stem))
        if not _ID_RE.match(doc_id):
            raise CorpusLoadError(
                f"doc_id {doc_id!r} for {path.name} must be lower-case letters, digits, '.', '_', '-'"
            )
        base, n = doc_id, 2
        while doc_id in seen_ids:
            doc_id, n = f"{base}-{n}", n + 1
        seen_ids.add(doc_id)
        title = str(entry.get("title") or markup_title or front_matter_title(text) or first_heading(text))
        yield Document(
            doc_id=doc_id, title=title, source=_source_name(path, folder), text=text, url=entry.get("url")
        )


def load_corpus(folder: Path) -> list[Document]:
    """Load every document of a corpus folder.

    Args:
        folder: A folder of .txt, .md and .html files, optionally with a manifest.json.

    Returns:
        The documents, in path order.

    Raises:
        CorpusLoadError: The folder is missing or holds no readable document.
    """
    documents = list(iter_documents(folder))
    if not documents:
        raise CorpusLoadError(
            f"no .txt/.md/.html documents found in {folder}; add some or point --corpus elsewhere"
        )
    return documents
