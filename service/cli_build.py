"""How the `docqa` commands build and prepare an index: progress lines, the build report, building a
missing or stale index before serving, and the one-off ONNX export, both in child processes so a
long-running server never loads torch."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from index import IndexCorrupt, IndexNotReady, build_index
from index.builds import StaleBuild, clean_stale_builds
from index.store import check_corpus_unchanged, read_manifest
from service.config import Settings

__all__ = ["build_in_child", "build_with_report", "ensure_index", "ensure_onnx_export"]


class Progress:
    """Progress lines on stderr: one per stage, updated in place on a terminal."""

    def __init__(self) -> None:
        self.stage = ""
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage and self.tty:
            click.echo("", err=True)
        self.stage = stage
        pct = 100 * done // total if total else 100
        line = f"{stage:<20} {done:>7}/{total:<7} {pct:>3}%  {time.perf_counter() - self.started:6.1f}s"
        if self.tty:
            click.echo("\r" + line, err=True, nl=done >= total)
        elif done >= total:
            click.echo(line, err=True)


def build_with_report(settings: Settings, *, force: bool = False) -> dict[str, Any]:
    """Build (incrementally) the index of the folder that goes with it, and report what changed."""
    corpus = Path(os.path.abspath(settings.index_corpus_dir()))
    report_cleanup(clean_stale_builds(settings.index_dir))
    click.echo(f"building the index of {corpus} into {settings.index_dir} ...", err=True)
    manifest = build_index(
        corpus,
        settings.index_dir,
        settings.model_path,
        progress=Progress(),
        force=force,
        runtime=settings.runtime,
    )
    report_build(manifest)
    if manifest.get("up_to_date"):
        click.echo(
            f"index ready: {manifest['documents']} documents, {manifest['chunks']} chunks, up to date "
            f"(nothing changed since {manifest['built_at']}; --force rebuilds) -> {settings.index_dir}",
            err=True,
        )
    else:
        click.echo(
            f"index ready: {manifest['documents']} documents, {manifest['chunks']} chunks, "
            f"{manifest['build_seconds']}s -> {settings.index_dir}",
            err=True,
        )
    return manifest


def report_cleanup(removed: list[StaleBuild]) -> None:
    """Say which folders of interrupted (killed) or replaced builds the build start removed."""
    if removed:
        size, plural = sum(b.size for b in removed) / 1e6, "s" if len(removed) > 1 else ""
        click.echo(
            f"removed {len(removed)} unfinished or replaced build folder{plural} ({size:.1f} MB):", err=True
        )
        for build in removed:
            click.echo(f"  - {build.path}", err=True)


def report_build(manifest: dict[str, Any]) -> None:
    """The build's summary lines on stderr: files changed (and which), texts embedded, files skipped."""
    changes = manifest.get("changes") or {}
    click.echo(
        f"added {changes.get('added', 0)}, changed {changes.get('changed', 0)}, "
        f"removed {changes.get('removed', 0)}, unchanged {changes.get('unchanged', 0)} files",
        err=True,
    )
    for kind, mark in (("added", "+"), ("changed", "~"), ("removed", "-")):  # none for a first build
        for path in (changes.get("files") or {}).get(kind, []):
            click.echo(f"  {mark} {path}", err=True)
    click.echo(
        f"embedded {manifest.get('embedded_texts', 0)} new texts, "
        f"{manifest.get('cached_texts', 0)} from cache",
        err=True,
    )
    skipped = manifest.get("skipped") or []
    if skipped:
        click.secho(f"skipped {len(skipped)} files:", err=True, fg="yellow")
        for item in skipped:
            click.echo(f"  {item['path']}: {item['reason']}", err=True)


def ensure_index(settings: Settings, build: Callable[[Settings], object] | None = None) -> None:
    """Build the index when it is missing, stale (its corpus changed) or built with another model
    (not when it is damaged: see `IndexCorrupt`).

    The corpus is the one given, else the folder the index was built from (so an index of your
    own folder is never replaced by the demo corpus), else the demo corpus.

    Args:
        settings: Where the index and its folder are, and the model.
        build: Runs the build (default: in this process).
    """
    corpus = settings.index_corpus_dir()
    try:
        manifest = read_manifest(settings.index_dir, settings.model_path)
        check_corpus_unchanged(manifest, corpus, index_dir=settings.index_dir)
    except IndexCorrupt as exc:
        # A damaged index is not rebuilt behind the operator's back (the damage may be the disk's):
        # the service starts, /readyz answers 503 with this message, `docqa build --force` fixes it.
        click.secho(f"warning: {exc.message}", err=True, fg="yellow")
    except IndexNotReady as exc:
        click.echo(f"{exc.message.split('; run `')[0]}: building it now from {corpus}.", err=True)
        (build or build_with_report)(settings)


def build_in_child(settings: Settings) -> None:
    """`docqa build` in a child process: a build may need torch (the one-off ONNX export, or a
    model that runs only on sentence-transformers), and a server that built its own index on first
    run would otherwise keep torch loaded for its whole life."""
    import subprocess

    corpus = os.path.abspath(settings.index_corpus_dir())
    command = [sys.executable, "-m", "service", "build", "--corpus", corpus]
    command += ["--index", str(settings.index_dir), "--model", settings.model]
    # The child's output goes to stderr: stdout may be a protocol (`docqa mcp` over stdio).
    if subprocess.run(command, check=False, stdout=2).returncode != 0:
        raise click.ClickException(f"building the index of {corpus} failed (see above)")


_EXPORT_SNIPPET = (
    "import sys; from pathlib import Path; from index.runtime import make_embedder; "
    "make_embedder(sys.argv[1], sys.argv[2], onnx_root=Path(sys.argv[3]), export=True)"
)


def ensure_onnx_export(settings: Settings) -> None:
    """Export the model to ONNX in a child process when the index has no export yet (an index built
    before exports existed), so the server itself never imports torch (`DOCQA_RUNTIME=auto`)."""
    from index.onnx_embedder import FAILED, NotExportable, read_pipeline
    from index.runtime import default_onnx_root, export_folder, find_export

    root, model = default_onnx_root(settings.index_dir), settings.model_path
    if (
        settings.runtime != "auto"
        or find_export(root, model)
        or (export_folder(root, model) / FAILED).exists()
    ):
        return
    try:
        read_pipeline(model)
    except NotExportable:
        return  # runs on sentence-transformers; nothing to export
    click.echo("exporting the model to ONNX once (needs torch, for this process not to) ...", err=True)
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _EXPORT_SNIPPET, model, settings.runtime, str(root)], check=False
    )
    if done.returncode != 0:
        click.secho("the ONNX export failed: serving on sentence-transformers (torch)", err=True, fg="yellow")
