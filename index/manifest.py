"""The manifest of a built index: what it records, how it is checked, how stale is detected.

Loading refuses a manifest that is unreadable or fails its seal (`index.integrity`), an index of
another format or built with another model than the one that will embed queries (`read_manifest`),
and an index whose corpus folder changed since the build (`check_corpus_unchanged`). Every message
names the index and its corpus folder and gives the command that rebuilds this index from that
folder (`rebuild_hint`), never one that would replace it with another corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpus.ingest import CorpusLoadError, load_corpus
from corpus.models import Document
from index.chunk_vectors import SCHEME as CHUNK_VECTORS
from index.embedder import model_id
from index.errors import IndexCorrupt, IndexNotReady
from index.incremental import diff_files, file_records, folder_signature, same_folder
from index.integrity import SEAL, check_seal

logger = logging.getLogger(__name__)

# 3: every file checksummed and the manifest sealed (`index.integrity`); older indexes are rebuilt.
FORMAT_VERSION = 3
# Bumped whenever reading documents into chunks and units changes (Markdown reader, splitter): an
# index built by another reader version is stale and rebuilt, even if the corpus is unchanged.
# 5: plain-text paragraphs of one sentence a line, or hard-wrapped, are no longer read as tables.
# 6: plain-text list items are units of their own, their wrapped lines joined.
# 7: HTML pages are written as Markdown (headings, lists, tables with headers, code; no navigation).
# 8: an HTML page that marks its main content (<main>, role="main") is read from there only.
# 9: HTML footnote reference marks are left out; a site's name is dropped from its pages' titles.
# 10: two-part hyphenated words are also indexed joined ("back-off" matches "backoff").
# 11: PDF blocks read from the page layout (font sizes, line spacing, margins, fixed-pitch code).
# 12: Word paragraphs set by hand as headings (bold or larger, short) are headings; fixed-pitch ones code.
# 13: a PDF sentence that runs on to the next page is one unit (footer and header left out of what is shown).
# 14: Markdown admonition and content-tab bodies read as blocks (their lists and code); ":::" container
#     lines and "=== \"Tab\"" markers left out of what is shown.
# 15: reStructuredText (.rst) read by its own reader (index/rst.py).
# 16: a text file named for a text format (x.rst.txt, x.md.txt) is read as that format.
# 17: a number alone after a sentence's end ("The fee rose. 30.") stays with that sentence.
# 18: AsciiDoc (.adoc) read by its own reader (index/asciidoc.py).
# 19: MDX comments ({/* ... */}) left out of what is shown and embedded, as HTML comments are.
# 20: MyST Markdown: directive fences read as their body (prose) or code, roles show their words,
#     targets, comments and toctrees left out.
# 21: HTML links of class "reference" (every Sphinx cross reference) keep their words.
# 22: pages a Sphinx HTML build generates (genindex, search, module index, _modules/ sources) skipped.
# 23: Markdown shortcut reference links ([GitHub Pages] with a definition) show their text.
# 24: Markdown <script>/<style> blocks are not text; ==marked==, ^^inserted^^ and ++keys++ show their words.
# 25: Markdown backslash escapes (\( \* \_) show the punctuation mark, not the backslash.
# 26: code spans are literal in displays (no tag, attribute list or emphasis removed inside them);
#     HTML inline <code>, <kbd>, <samp>, <tt> are read as code spans.
# 27: reStructuredText literals and escaped characters are shown as typed (``a *b*``, \*).
# 28: Markdown emphasis over hard-wrapped lines and a bold span cut by a sentence end are shown
#     without their marks; code spans and escapes read left to right (`\` is a code span);
#     a link's text is never cut into sentences; </br> breaks; link text may hold brackets.
# 29: Liquid tags and Hugo shortcodes are removed inside code spans too (the site generator runs
#     them first); bold around a removed tag leaves no "** **".
# 30: an HTML table whose last row runs past the end of its HTML block (a ``<td markdown="1">``
#     cell with blank lines) gives that row's text as prose instead of losing it.
# 31: private-use characters (icon-font glyphs) are left out of displays.
# 32: emphasis by one mark (``_…_``, ``*…*``) that a sentence boundary cut in two leaves no mark behind.
# 33: a word whose stem is a stopword ("whats", "thats", "its") gives no term.
# 34: number words up to twelve are indexed as digits ("seven" -> "7").
# 35: bold closed after a space ("**Label: **Text") and a span's lone end marks after a space are
#     shown without their marks; a number opening bold ("the **03. Provide details** section") ends
#     no sentence.
# 36: an HTML block's text breaks at block-level tags and at tags alone on their line (a cell, a
#     row, ``<Alert>``): no sentence runs from one table cell into the next.
# 37: ERB tags (``<%= current_page.data.title %>``) are template tags outside code; Markdown pages
#     kept as templates (``.html.md.erb``, ``.md.j2``) are read.
# 38: tags inside an HTML comment no longer cut an HTML block into shown stretches (version 36
#     had shown the words of commented-out markup).
# 39: a pipe inside a Markdown code span is shown (``Page Title | Site Title``); only one outside
#     code is dropped as a stray cell border.
# 40: GitHub's alert marker (``> [!NOTE]``, ``> [!WARNING]``) is not shown.
# 41: an escaped separator in an AsciiDoc table cell (``do \|item\|``) is shown as the character.
# 42: an AsciiDoc link whose target starts with an unset attribute (``{url-gems}/x[x]``) shows its
#     text.
# 43: an AsciiDoc document header's author and revision lines are not text; an attribute name may
#     hold spaces (``:man manual:``).
READER_VERSION = 43
MANIFEST = "manifest.json"
REBUILD_HINT = "run `docqa build` (or `make index`) to rebuild it"


def rebuild_hint(
    corpus_dir: str | Path | None, index_dir: str | Path | None = None, *, force: bool = False
) -> str:
    """``run `docqa build --corpus X --index Y` to rebuild it``, with absolute paths, so that
    following it rebuilds this index from its own folder (never the demo corpus over it).

    `force` adds ``--force``: a damaged index whose manifest still matches the corpus would
    otherwise count as up to date."""
    command = "docqa build --force" if force else "docqa build"
    for flag, path in (("--corpus", corpus_dir), ("--index", index_dir)):
        if path is not None:
            command += f" {flag} {shlex.quote(os.path.abspath(path))}"
    return f"run `{command}` to rebuild it"


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """A hash of every document's id, source and text: changes whenever the corpus does."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.source}\0{doc.title}\0".encode())
        digest.update(hashlib.sha256(doc.text.encode("utf-8")).digest())
    return digest.hexdigest()


def raw_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The manifest at `index_dir` as stored, unchecked; None when missing or unreadable."""
    try:
        data = json.loads((Path(index_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def trusted_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The manifest at `index_dir` unless it is damaged (its seal does not match, or a current-format
    manifest lost its seal): what a new build may compare with and reuse. Older, unsealed formats
    are returned as they are (a build compares files with them but reuses nothing of theirs)."""
    manifest = raw_manifest(index_dir)
    if manifest is None:
        return None
    if SEAL in manifest or manifest.get("format_version") == FORMAT_VERSION:
        try:
            check_seal(manifest, str(index_dir), REBUILD_HINT)
        except IndexCorrupt as exc:
            logger.warning("not building on the previous index: %s", exc.message)
            return None
    return manifest


def recorded_corpus_dir(index_dir: Path) -> Path | None:
    """The corpus folder the index at `index_dir` was built from, if it records one.

    Indexes built before folders were recorded as absolute paths hold a path relative to the
    working directory of that build; it is returned as it is.
    """
    manifest = raw_manifest(index_dir)
    recorded = manifest.get("corpus_dir") if manifest else None
    return Path(recorded) if recorded else None


def index_exists(index_dir: Path) -> bool:
    """True when `index_dir` holds a manifest (it may still be stale or incompatible)."""
    return (Path(index_dir) / MANIFEST).is_file()


def read_manifest(index_dir: Path, model: str) -> dict[str, Any]:
    """Read and check a manifest against the model that will embed queries.

    Raises:
        IndexNotReady: Missing, of another format, or built with another model.
        IndexCorrupt: Unreadable, or edited or damaged since the build (its seal does not match).
    """
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexNotReady(
            f"no index at {index_dir}; run `docqa build --index {shlex.quote(os.path.abspath(index_dir))}` "
            "(with --corpus DIR for your documents' folder) to build it"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not even UTF-8
        raise IndexCorrupt(
            f"the index manifest {path} is unreadable ({type(exc).__name__}); run `docqa build --force "
            f"--corpus DIR --index {shlex.quote(os.path.abspath(index_dir))}` (DIR: your documents' "
            "folder) to rebuild it"
        ) from exc
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"the index manifest {path} is not a JSON object; {REBUILD_HINT}")
    hint = rebuild_hint(manifest.get("corpus_dir"), index_dir)
    if SEAL in manifest or manifest.get("format_version") == FORMAT_VERSION:
        check_seal(manifest, str(index_dir), rebuild_hint(manifest.get("corpus_dir"), index_dir, force=True))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexNotReady(
            f"the index at {index_dir} has format {manifest.get('format_version')!r} (older ones carry no "
            f"file checksums), this docqa reads {FORMAT_VERSION}; {hint}"
        )
    if manifest.get("model_id") != model_id(model):
        raise IndexNotReady(
            f"the index at {index_dir} was built with model {manifest.get('model')!r}, but queries would use "
            f"{model!r}; set DOCQA_MODEL to the index's model or {hint}"
        )
    return manifest


def check_corpus_unchanged(
    manifest: dict[str, Any], corpus_dir: Path, *, index_dir: Path | None = None
) -> None:
    """Refuse an index whose corpus has changed since it was built.

    The check does not depend on the working directory: documents are identified by their path
    inside the corpus folder. When the folder's listing (paths, sizes, modification times) is the
    one recorded at build time, no file is read.

    Args:
        manifest: The index's manifest (`read_manifest`).
        corpus_dir: The corpus folder to compare with.
        index_dir: The index's folder, for the command in the message.

    Raises:
        IndexNotReady: The corpus differs from the one indexed (the message names the folder, what
            changed, and the command that rebuilds this index from it), or cannot be read.
    """
    hint = rebuild_hint(corpus_dir, index_dir)
    if manifest.get("reader_version") != READER_VERSION:
        raise IndexNotReady(
            f"the index of {corpus_dir} was built by another version of docqa's document reader; {hint}"
        )
    recorded = manifest.get("corpus_dir")
    signature = manifest.get("corpus_signature")
    if signature and same_folder(recorded, corpus_dir) and folder_signature(Path(corpus_dir)) == signature:
        return
    try:
        documents = load_corpus(Path(corpus_dir))
    except CorpusLoadError as exc:
        raise IndexNotReady(f"cannot read the corpus {corpus_dir} to check the index: {exc}") from exc
    if corpus_fingerprint(documents) == manifest.get("corpus_fingerprint"):
        return
    changes = diff_files(manifest, file_records(documents))
    detail = changes.summary() if changes.any else "titles or document ids changed"
    if recorded and not same_folder(recorded, corpus_dir):
        raise IndexNotReady(
            f"the corpus in {corpus_dir} is not the one the index was built from ({recorded}): "
            f"{detail}; {hint}"
        )
    raise IndexNotReady(f"the corpus in {corpus_dir} changed since the index was built ({detail}); {hint}")


def build_manifest(
    documents: Sequence[Document],
    model: str,
    chunker: dict[str, Any],
    previous: dict[str, Any] | None,
    facts: dict[str, Any],
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """The manifest of a build: format, model, chunk size bounds (`chunker`), corpus fingerprint,
    what the build did (`facts`: dimension, runtime, reader code, counts, seconds), the changes against the
    `previous` build and the file records (last)."""
    files = file_records(documents)
    return {
        "format_version": FORMAT_VERSION,
        "model": model,
        "model_id": model_id(model),
        "dimension": facts["dimension"],
        "normalized": True,
        "chunk_vectors": CHUNK_VECTORS,
        "runtime": facts["runtime"],
        "chunker": chunker,
        "reader_version": READER_VERSION,
        "reader_code": facts["reader_code"],
        "corpus_fingerprint": corpus_fingerprint(documents),
        "documents": len(documents),
        "chunks": facts["chunks"],
        "answer_units": facts["answer_units"],
        "dense_kind": facts["dense_kind"],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": facts["build_seconds"],
        "changes": diff_files(previous, files).to_manifest(),
        "reused_documents": facts["reused_documents"],
        "embedded_texts": facts["embedded_texts"],
        "cached_texts": facts["cached_texts"],
        **(extra or {}),
        "files": files,
    }
