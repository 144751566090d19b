"""Walk a corpus folder and read its files into `Document`s with stable ids and human titles.

The folder is read recursively; hidden files and folders (``.git``, ``.draft.md``) are left out.
A document's id comes from its path relative to the folder (``guides/index.md`` → ``guides-index``)
and its `source` is that relative path, so neither depends on the working directory.
A folder may hold a ``manifest.json`` mapping relative paths to ``{"doc_id", "title", "url"}``.
Every file that does not become a document is reported with its reason (`scan_corpus`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from corpus.frontmatter import front_matter_end, front_matter_title
from corpus.isolation import PARSE_TIMEOUT
from corpus.loaders import Loaded, UnreadableFile
from corpus.models import Document
from corpus.registry import generated_page, load_file, rendered_page, supported_list

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
EMPTY = "empty text"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class CorpusLoadError(ValueError):
    """The corpus folder cannot be read; the message says what to fix."""


class Skipped(NamedTuple):
    """A file of the corpus folder that did not become a document."""

    path: str
    """Path relative to the corpus folder, with ``/`` separators."""
    reason: str
    """Why, in a few words: ``encrypted``, ``unsupported suffix .xlsx``, ``timeout (…)``."""


class CorpusScan(NamedTuple):
    """What `scan_corpus` found: the documents, and the files left out with their reasons."""

    documents: list[Document]
    skipped: list[Skipped]


def slugify(name: str) -> str:
    """Turn a file stem or relative path into a readable, URL-safe document id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:120] or "document"


def path_id(relative: str) -> str:
    """The document id of a relative path: ``guides/Index.md`` → ``guides-index``."""
    return slugify(PurePosixPath(relative).with_suffix("").as_posix())


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


def _hidden(name: str) -> bool:
    """Dot files and folders, and the ``~$name.docx`` lock files Office writes beside an open file."""
    return name.startswith((".", "~$"))


def corpus_files(folder: Path) -> list[str]:
    """Paths (relative, ``/``-separated, sorted) of the files a scan considers.

    Hidden files and folders, Office lock files and the top-level manifest are left out;
    files of unsupported suffixes are not (a scan reports them). Links to folders are not followed.

    Raises:
        CorpusLoadError: The folder does not exist.
    """
    if not folder.is_dir():
        raise CorpusLoadError(
            f"corpus folder {folder} does not exist; pass --corpus DIR or set DOCQA_CORPUS_DIR"
        )
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not _hidden(name)]
        base = Path(root).relative_to(folder)
        found += [(base / name).as_posix() for name in files if not _hidden(name)]
    return sorted(path for path in found if path != MANIFEST_NAME)


class _Ids:
    """Hands out unique ids; ids that the manifest assigns are kept for their own files."""

    def __init__(self, manifest: dict[str, dict[str, str]]) -> None:
        self.reserved = {str(entry["doc_id"]) for entry in manifest.values() if entry.get("doc_id")}
        self.used: set[str] = set()

    def take(self, relative: str, entry: dict[str, str]) -> str:
        wanted = str(entry.get("doc_id") or "")
        if wanted and not _ID_RE.match(wanted):
            raise CorpusLoadError(
                f"doc_id {wanted!r} for {relative} must be lower-case letters, digits, '.', '_', '-'"
            )
        taken = self.used if wanted else self.used | self.reserved
        base = wanted or path_id(relative)
        doc_id, n = base, 2
        while doc_id in taken:
            doc_id, n = f"{base}-{n}", n + 1
        self.used.add(doc_id)
        return doc_id


def _document(relative: str, loaded: Loaded, doc_id: str, entry: dict[str, str]) -> Document:
    title = (
        entry.get("title") or loaded.title or front_matter_title(loaded.text) or first_heading(loaded.text)
    )
    return Document(
        doc_id=doc_id,
        title=str(title),
        source=relative,
        text=loaded.text,
        url=entry.get("url"),
        meta=dict(loaded.meta),
        pages=loaded.pages,
        slides=loaded.slides,
    )


def _skip(skipped: list[Skipped], relative: str, reason: str) -> None:
    logger.warning("skipped %s: %s", relative, reason, extra={"path": relative, "reason": reason})
    skipped.append(Skipped(relative, reason))


def scan_corpus(folder: Path, *, timeout: float = PARSE_TIMEOUT) -> CorpusScan:
    """Read every file of a corpus folder; report the ones that do not become documents.

    Args:
        folder: The corpus folder (read recursively; hidden files and folders are left out).
        timeout: Seconds a PDF, Word or PowerPoint file may take to parse before it is skipped.

    Returns:
        The documents in path order, and the skipped files (relative path, reason): unsupported
        suffix, empty text, duplicate content, encrypted, no text layer, corrupt, timeout, crash.

    Raises:
        CorpusLoadError: The folder does not exist, or a manifest entry is malformed.
    """
    manifest = _read_manifest(folder)
    ids = _Ids(manifest)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    first_by_hash: dict[str, str] = {}
    files = corpus_files(folder)
    present = set(files)
    for relative in files:
        page = rendered_page(relative)
        if page is not None and page in present:
            _skip(skipped, relative, f"source copy of {page} (the page is read)")
            continue
        generated = generated_page(relative, present)
        if generated is not None:
            _skip(skipped, relative, generated)
            continue
        try:
            loaded = load_file(folder / relative, timeout=timeout)
        except UnreadableFile as exc:
            _skip(skipped, relative, exc.reason)
            continue
        digest = hashlib.sha256(loaded.text.encode("utf-8")).hexdigest()
        if not loaded.text.strip():
            _skip(skipped, relative, EMPTY)
        elif digest in first_by_hash:
            _skip(skipped, relative, f"duplicate content (same text as {first_by_hash[digest]})")
        else:
            first_by_hash[digest] = relative
            entry = manifest.get(relative, {})
            documents.append(_document(relative, loaded, ids.take(relative, entry), entry))
    return CorpusScan(_without_site_name(documents, manifest), skipped)


# "Data Types - The Rust Programming Language", "Install | Acme Docs": page name, separator, site name.
_TITLE_SEPARATOR = re.compile(r"\s+(?:-|–|—|\||·|::)\s+")


def _without_site_name(documents: list[Document], manifest: dict[str, dict[str, str]]) -> list[Document]:
    """Drop the site's name from page titles that all end with it.

    Documentation sites title every page "<page> - <site>"; passages and citations then all carry
    the same words. When at least three titles, and at least half of all titles, end with the same
    part after a separator, that part is dropped from them (never from a manifest's title, nor when
    nothing would be left).
    """
    split = [_page_and_site(doc.title) for doc in documents]
    ends: dict[str, int] = {}
    for _, end in split:
        if end:
            ends[end] = ends.get(end, 0) + 1
    site = max(ends, key=lambda end: ends[end], default=None)
    if site is None or ends[site] < 3 or 2 * ends[site] < len(documents):
        return documents
    return [
        dataclasses.replace(doc, title=page)
        if end == site and page and not manifest.get(doc.source, {}).get("title")
        else doc
        for doc, (page, end) in zip(documents, split, strict=True)
    ]


def _page_and_site(title: str) -> tuple[str, str]:
    """A title cut at its last separator ("Install", "Acme Docs"); ("", "") when it has none."""
    separators = list(_TITLE_SEPARATOR.finditer(title))
    if not separators:
        return "", ""
    return title[: separators[-1].start()].strip(), title[separators[-1].end() :]


def iter_documents(folder: Path) -> Iterator[Document]:
    """Yield the documents of `folder` (see `scan_corpus`), in path order.

    Raises:
        CorpusLoadError: The folder does not exist, or a manifest entry is malformed.
    """
    yield from scan_corpus(folder).documents


def skipped_summary(skipped: list[Skipped], limit: int = 10) -> str:
    """``a.pdf (encrypted), b.docx (corrupt …)``, the first `limit` files, then ``and N more``."""
    listed = ", ".join(f"{item.path} ({item.reason})" for item in skipped[:limit])
    more = len(skipped) - limit
    return listed + (f" and {more} more" if more > 0 else "")


def load_corpus(folder: Path) -> list[Document]:
    """Load every document of a corpus folder.

    Args:
        folder: A folder of documents (see `corpus.registry.FORMATS`), optionally with a
            manifest.json.

    Returns:
        The documents, in path order.

    Raises:
        CorpusLoadError: The folder is missing or holds no readable document.
    """
    documents, skipped = scan_corpus(folder)
    if not documents:
        found = f": {skipped_summary(skipped)}" if skipped else " (the folder has no files)"
        raise CorpusLoadError(
            f"no readable documents in {folder}{found}; docqa reads {supported_list()} files. "
            "Add some or point --corpus elsewhere"
        )
    return documents
