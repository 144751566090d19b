"""The `docqa` command: build, ask, eval, serve, mcp (CONTRACT.md). Each command wraps a library call."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import click

from index import IndexNotReady, QAError, QueryResult, load_index
from index.pages import page_label
from index.store import check_corpus_unchanged
from service.cli_build import build_in_child, build_with_report, ensure_index, ensure_onnx_export
from service.config import Settings

logger = logging.getLogger("docqa")


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Log to stderr; `quiet` commands (ask, eval) show warnings and errors only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    level = logging.getLevelName(settings.log_level.upper())
    level = max(level, logging.WARNING) if quiet and isinstance(level, int) else level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(settings: Settings) -> Any:
    try:
        return load_index(settings.index_dir, settings.model_path, runtime=settings.runtime)
    except IndexNotReady as exc:
        raise click.ClickException(exc.message) from exc


def _warn_if_stale(settings: Settings, manifest: dict[str, Any], corpus: Path | None = None) -> None:
    """Warn on stderr when the index's corpus folder changed since the build (the answer follows)."""
    if corpus is None and not settings.corpus_dir_is_set and not manifest.get("corpus_dir"):
        return  # built from documents handed over directly: no folder to compare with
    try:
        check_corpus_unchanged(manifest, corpus or settings.index_corpus_dir(), index_dir=settings.index_dir)
    except IndexNotReady as exc:
        click.secho(
            f"warning: {exc.message}. Answering from the index as it was built.", err=True, fg="yellow"
        )


_corpus_opt = click.option(
    "--corpus", "corpus_dir", type=click.Path(path_type=Path), help="Corpus folder [DOCQA_CORPUS_DIR]."
)
_index_opt = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index folder [DOCQA_INDEX_DIR]."
)
_model_opt = click.option("--model", help="sentence-transformers model name or path [DOCQA_MODEL].")
_topk_opt = click.option(
    "--top-k", type=click.IntRange(1, 50), default=5, show_default=True, help="Passages to return."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="docqa")
def cli() -> None:
    """docqa: ask questions of a folder of documents, get cited answers."""


@cli.command()
@_corpus_opt
@_index_opt
@_model_opt
@click.option("--force", is_flag=True, help="Rebuild even when no file changed (and chunk every file).")
def build(corpus_dir: Path | None, index_dir: Path | None, model: str | None, force: bool) -> None:
    """Chunk, embed and index the corpus (incrementally, written atomically, with progress).

    Without --corpus (or DOCQA_CORPUS_DIR) this refreshes the index from the folder it was built
    from; the demo corpus is the default only when there is no index yet.
    """
    settings = _settings(corpus_dir=corpus_dir, index_dir=index_dir, model=model)
    _setup_logging(settings)
    try:
        build_with_report(settings, force=force)
    except QAError as exc:
        raise click.ClickException(exc.message) from exc


def _print_result(result: QueryResult) -> None:
    if result.abstained:
        click.echo(
            f"The documents do not answer this (confidence {result.confidence:.2f}). Closest passages:"
        )
    else:
        assert result.answer is not None
        click.secho(" ".join((result.answer.display or result.answer.text).split()), bold=True)
        answer = result.answer
        where = page_label(answer.page, answer.page_end, answer.slide)
        where = f"{where} · " if where else ""
        click.echo(f"  [{answer.passage_rank}] {where}confidence {result.confidence:.2f}")
    for clar in result.clarifications:
        meanings = "; ".join(f"{m.expansion} ({', '.join(m.doc_ids)})" for m in clar.meanings)
        click.secho(
            f"Note: {clar.term} means different things in different documents: {meanings}", fg="yellow"
        )
    for p in result.passages:
        click.echo("")
        click.secho(f"[{p.rank}] {p.title}", bold=True)
        place = page_label(p.page, p.page_end, p.slide)
        span = f"[{p.start}:{p.end}]" + (f" · {place}" if place else "")
        click.echo(f"    {p.section or '(top)'} · {p.source} {span} · score {p.score:.3f}")
        # `display` has one line per paragraph, list item or table row; keep them as lines.
        lines = [" ".join(line.split()) for line in (p.display or p.text).splitlines()]
        snippet = "\n".join(line for line in lines if line)
        snippet = snippet[:300] + ("…" if len(snippet) > 300 else "")
        click.echo("    " + snippet.replace("\n", "\n    "))


@cli.command()
@click.argument("question")
@_topk_opt
@click.option("--json", "as_json", is_flag=True, help="Print the QueryResponse JSON.")
@_index_opt
@_model_opt
def ask(question: str, top_k: int, as_json: bool, index_dir: Path | None, model: str | None) -> None:
    """Answer QUESTION from the built index."""
    settings = _settings(index_dir=index_dir, model=model)
    _setup_logging(settings, quiet=True)
    index = _load(settings)
    _warn_if_stale(settings, index.manifest)
    try:
        result = index.query(question, top_k, max_chars=settings.max_question_chars)
    except QAError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_result(result)


@cli.command(name="eval")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_topk_opt
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "bm25", "dense"]),
    default="hybrid",
    show_default=True,
    help="Retrieval mode for single questions (to compare retrievers).",
)
@click.option(
    "--index",
    "index_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Index folder [DOCQA_INDEX_DIR]; repeat it to pair each FILE with its own index, in order.",
)
@click.option(
    "--pool",
    "pool_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of corpora (each NAME/docs + NAME/questions.jsonl): build each (incrementally) and "
    "evaluate it.",
)
@click.option(
    "--pool-index-root",
    type=click.Path(path_type=Path),
    default=Path("var/pool-idx"),
    show_default=True,
    help="Where --pool keeps one index per corpus.",
)
@_model_opt
def eval_(
    files: tuple[Path, ...],
    top_k: int,
    as_json: bool,
    mode: str,
    index_dirs: tuple[Path, ...],
    pool_dir: Path | None,
    pool_index_root: Path,
    model: str | None,
) -> None:
    """Run question sets (JSON lines, format in README) and print the metrics.

    One FILE: one line a question, then the metrics. Several FILEs (each with its own --index) or
    --pool: one row of metrics a corpus, then the overall row.
    """
    settings = _settings(model=model)
    _setup_logging(settings, quiet=True)
    pairs = _eval_pairs(files, index_dirs, pool_dir, pool_index_root, settings)
    results = [
        (name, *_eval_one(question_file, index_dir, top_k, mode, settings))
        for name, question_file, index_dir in pairs
    ]
    _print_eval(results, as_json)


def _eval_pairs(
    files: tuple[Path, ...],
    index_dirs: tuple[Path, ...],
    pool_dir: Path | None,
    pool_index_root: Path,
    settings: Settings,
) -> list[tuple[str, Path, Path]]:
    """(name, question file, index folder) for every set to evaluate; builds pool indexes as needed."""
    pairs: list[tuple[str, Path, Path]] = []
    if pool_dir is not None:
        for corpus in sorted(p for p in pool_dir.iterdir() if (p / "questions.jsonl").is_file()):
            index_dir = pool_index_root / corpus.name
            ensure_index(_settings(corpus_dir=corpus / "docs", index_dir=index_dir, model=settings.model))
            pairs.append((corpus.name, corpus / "questions.jsonl", index_dir))
        if not pairs:
            raise click.ClickException(f"{pool_dir} has no NAME/questions.jsonl + NAME/docs folders")
    if len(index_dirs) > 1 and len(index_dirs) != len(files):
        raise click.ClickException(
            f"{len(files)} question files but {len(index_dirs)} --index folders; give one, or one per file"
        )
    for i, question_file in enumerate(files):
        index_dir = (
            index_dirs[i] if len(index_dirs) > 1 else (index_dirs[0] if index_dirs else settings.index_dir)
        )
        pairs.append(
            (
                question_file.stem
                if len(files) == 1
                else f"{question_file.parent.name}/{question_file.stem}",
                question_file,
                index_dir,
            )
        )
    if not pairs:
        raise click.ClickException("give a question FILE (JSON lines) or --pool DIR")
    return pairs


def _eval_one(
    question_file: Path, index_dir: Path, top_k: int, mode: str, settings: Settings
) -> tuple[Any, dict[str, Any]]:
    from service.evaluation import evaluate, load_questions

    try:
        rows = load_questions(question_file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    local = _settings(index_dir=index_dir, model=settings.model)
    index = _load(local)
    manifest = index.manifest
    # Each index is checked against the folder it was built from (pool indexes each have their own).
    if manifest.get("corpus_dir"):
        _warn_if_stale(local, manifest, corpus=Path(manifest["corpus_dir"]))
    info = {
        "index_dir": str(index_dir),
        "corpus_dir": manifest.get("corpus_dir"),
        "documents": manifest.get("documents"),
        "built_at": manifest.get("built_at"),
    }
    return evaluate(index, rows, top_k=top_k, mode=mode, settings=local), info


def _index_line(info: dict[str, Any]) -> str:
    """``index var/index: 4 documents from /srv/handbook, built 2026-…`` (what the metrics are of)."""
    return (
        f"index {info['index_dir']}: {info['documents']} documents from "
        f"{info['corpus_dir'] or '(documents given directly)'}, built {info['built_at']}"
    )


def _print_eval(results: list[tuple[str, Any, dict[str, Any]]], as_json: bool) -> None:
    """The metrics, after a line naming each index and the folder it was built from (in JSON: ``index``)."""
    from service.evaluation import combined_metrics, format_report, format_summary

    reports = [(name, report) for name, report, _ in results]
    if not as_json:
        for _, _, info in results:
            click.echo(_index_line(info))
    if len(results) == 1:
        _, report, info = results[0]
        click.echo(
            json.dumps({**report.to_dict(), "index": info}, indent=2) if as_json else format_report(report)
        )
        return
    if as_json:
        payload = {
            "corpora": [{"name": name, **report.to_dict(), "index": info} for name, report, info in results],
            "overall": combined_metrics([r for _, r in reports]),
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(format_summary(reports))


@cli.command()
@click.option("--host", help="Bind address [DOCQA_HOST].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [DOCQA_PORT].")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes; more than 1 needs DOCQA_REDIS_URL [DOCQA_WORKERS].",
)
@_corpus_opt
@_index_opt
@_model_opt
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    corpus_dir: Path | None,
    index_dir: Path | None,
    model: str | None,
) -> None:
    """Start the HTTP service (builds the index first if none exists)."""
    import uvicorn

    from service.server import uvicorn_options

    settings = _settings(
        host=host, port=port, workers=workers, corpus_dir=corpus_dir, index_dir=index_dir, model=model
    )
    _setup_logging(settings)
    _check_serving_state(settings)
    try:
        ensure_index(settings, build=build_in_child)
    except QAError as exc:
        raise click.ClickException(exc.message) from exc
    ensure_onnx_export(settings)
    # The app factory reads its settings from the environment: pass the CLI's choices on.
    for name, value in (("CORPUS_DIR", corpus_dir), ("INDEX_DIR", index_dir), ("MODEL", model)):
        if value is not None:
            os.environ[f"DOCQA_{name}"] = str(value)
    click.echo(
        f"serving the index {settings.index_dir} of {settings.index_corpus_dir()} "
        f"on http://{settings.host}:{settings.port}",
        err=True,
    )
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        workers=settings.workers,
        **uvicorn_options(settings),  # header limit, JSON protocol errors, no XFF trust (issue 11)
    )


def _check_serving_state(settings: Settings) -> None:
    """Refuse what would lose state: workers without Redis, Slack votes into an unwritable folder."""
    from service.state import DataDirUnwritable, check_data_dir

    if settings.workers > 1 and not settings.redis_url:
        raise click.ClickException(
            f"--workers {settings.workers} needs DOCQA_REDIS_URL: without it every worker keeps its own "
            "chat sessions, rate limits and Slack retries (see 'Running N replicas' in README.md)"
        )
    if settings.slack_enabled and not settings.redis_url:
        try:
            check_data_dir(settings.data_dir)
        except DataDirUnwritable as exc:
            raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--socket-mode", is_flag=True, help="Connect out to Slack (SLACK_APP_TOKEN, SLACK_BOT_TOKEN).")
@_corpus_opt
@_index_opt
@_model_opt
def slack(socket_mode: bool, corpus_dir: Path | None, index_dir: Path | None, model: str | None) -> None:
    """Run the Slack bot over Socket Mode, for a service Slack cannot reach (docs/slack.md)."""
    from service.slack.socket_mode import SocketModeNotConfigured, check_socket_mode_settings, run_socket_mode

    if not socket_mode:
        raise click.UsageError(
            "over HTTP the Slack bot runs inside `docqa serve` (POST /slack/events); "
            "pass --socket-mode to connect out to Slack instead"
        )
    settings = _settings(corpus_dir=corpus_dir, index_dir=index_dir, model=model)
    _setup_logging(settings)
    try:
        check_socket_mode_settings(settings)
        ensure_index(settings, build=build_in_child)
        click.echo("connecting to Slack over Socket Mode ...", err=True)
        run_socket_mode(settings.model_copy(update={"corpus_dir": settings.index_corpus_dir()}))
    except SocketModeNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    except QAError as exc:
        raise click.ClickException(exc.message) from exc


@cli.command()
@_corpus_opt
@_index_opt
@_model_opt
def mcp(corpus_dir: Path | None, index_dir: Path | None, model: str | None) -> None:
    """Serve the MCP tools (search, ask, get_document) and the documents over stdio.

    Builds the index first if none exists. Logs go to stderr; stdout carries only the protocol.
    """
    from service.mcp_server import build_mcp_server

    settings = _settings(corpus_dir=corpus_dir, index_dir=index_dir, model=model)
    _setup_logging(settings)
    try:
        ensure_index(settings, build=build_in_child)
    except QAError as exc:
        raise click.ClickException(exc.message) from exc
    index = _load(settings)
    logger.info("serving MCP over stdio: %d documents from %s", len(index.documents), settings.index_dir)
    build_mcp_server(lambda: index, settings).run("stdio")
