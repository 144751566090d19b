"""Make PDF, Word or HTML copies of a Markdown corpus, to check that docqa answers as well from them.

    python bench/format_copies.py --markdown POOL/github-site-policy/docs --out var/ghp-pdf --format pdf
    python bench/format_copies.py --markdown POOL/github-site-policy/docs --out var/ghp-docx --format docx
    python bench/format_copies.py --markdown POOL/github-site-policy/docs --out var/ghp-html --format html
    python bench/format_copies.py --markdown POOL/github-site-policy/docs --out var/ghp-rst --format rst
    python bench/format_copies.py --markdown POOL/github-site-policy/docs --out var/ghp-adoc --format adoc

The same documents, the same questions (a question set's ``expect_any`` phrases are the documents'
words), another format: the gap between the figures of the Markdown corpus and of its copy is what
reading that format costs. The copies are made the way users' files are:
- pdf: each page rendered to HTML (markdown-it-py; front matter's ``title`` as the ``<h1>``,
  template tags dropped) and printed by Chromium with its default running header (date, title) and
  footer (file URL, page number), code in shaded boxes;
- docx: python-docx with Word's built-in styles: Title, Heading 1-6, List Bullet / List Number,
  tables, code in Courier New;
- html: the pages of a documentation site: the site's name in every ``<title>``, a top bar, a
  sidebar listing every page, the page in ``<main>``, a footer;
- rst: reStructuredText as a Sphinx project keeps it, written by pandoc (``apt-get install
  pandoc``; ``--pandoc``): the title over- and underlined, sections underlined, lists, grid tables,
  ``code-block`` directives, link targets; wrapped at 72 columns;
- adoc: AsciiDoc as Asciidoctor reads it, written by pandoc the same way (``= Title``, ``==``
  sections, ``|===`` tables, ``[source]`` listings).
Chromium is taken from ``--chromium`` (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import docx
from markdown_it import MarkdownIt
from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"^---\n(.*?)\n---\n", re.S)
_TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
_STYLE = (
    "body{font-family:sans-serif;max-width:46em;margin:2em auto;font-size:12pt;line-height:1.4}"
    "pre{background:#eee;padding:.6em;font-size:10pt;position:relative;white-space:pre-wrap}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}"
)


def _source(path: Path) -> tuple[str, str]:
    """The page's title (front matter, else the file name) and its Markdown without front matter
    and template tags."""
    text = path.read_text(encoding="utf-8")
    title = path.stem
    match = _FRONT_MATTER.match(text)
    if match:
        found = re.search(r"^title:\s*(.+)$", match.group(1), re.M)
        if found:
            title = found.group(1).strip().strip("'\"")
        text = text[match.end() :]
    return title, _TEMPLATE_TAG.sub("", text)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _page_html(title: str, text: str) -> str:
    body = _parser().render(text)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def to_html(pages: list[Path], out: Path) -> None:
    """Pages of a documentation site: the site's name in every <title>, a top bar, a sidebar
    listing every page, the page in <main>, a footer."""
    sources = [(path, *_source(path)) for path in pages]
    sidebar = "".join(f'<li><a href="{p.stem}.html">{html.escape(t)}</a></li>' for p, t, _ in sources)
    for n, (path, title, text) in enumerate(sources, 1):
        target = out / f"{path.stem}.html"
        target.write_text(
            f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)} · Example Docs"
            f"</title><style>{_STYLE}</style></head><body>"
            '<header class="navbar"><a href="index.html">Example Docs</a> <a href="#">Guides</a> '
            '<a href="#">API</a> <button>Search</button></header>'
            f'<nav class="sidebar"><ul>{sidebar}</ul></nav>'
            f"<main><h1>{html.escape(title)}</h1>{_parser().render(text)}</main>"
            "<footer>© 2026 Example · Privacy · Terms · Edit this page</footer></body></html>",
            encoding="utf-8",
        )
        print(f"[{n}/{len(pages)}] {target}", flush=True)


def to_pdf(pages: list[Path], out: Path, chromium: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n, path in enumerate(pages, 1):
            title, text = _source(path)
            page = Path(tmp) / f"{path.stem}.html"
            page.write_text(_page_html(title, text), encoding="utf-8")
            target = out / f"{path.stem}.pdf"
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={target}"]
                + [page.as_uri()],
                check=True,
                capture_output=True,
                timeout=120,
            )
            print(f"[{n}/{len(pages)}] {target}", flush=True)


def _inline(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _table(tokens: list[Token], i: int) -> tuple[list[list[str]], int]:
    rows: list[list[str]] = []
    while tokens[i].type != "table_close":
        if tokens[i].type == "tr_open":
            rows.append([])
        elif tokens[i].type == "inline":
            rows[-1].append(_inline(tokens[i]))
        i += 1
    return rows, i + 1


def to_docx(pages: list[Path], out: Path) -> None:
    for n, path in enumerate(pages, 1):
        title, text = _source(path)
        document = docx.Document()
        document.core_properties.title = title
        document.add_heading(title, 0)
        tokens = _parser().parse(text)
        lists: list[str] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.type == "heading_open":
                document.add_heading(_inline(tokens[i + 1]), int(token.tag[1]))
                i += 3
                continue
            if token.type in ("bullet_list_open", "ordered_list_open"):
                lists.append("List Bullet" if token.type.startswith("bullet") else "List Number")
            elif token.type in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
            elif token.type == "paragraph_open":
                document.add_paragraph(_inline(tokens[i + 1]), style=lists[-1] if lists else None)
                i += 3
                continue
            elif token.type in ("fence", "code_block"):
                run = document.add_paragraph().add_run(token.content.rstrip("\n"))
                run.font.name = "Courier New"
            elif token.type == "table_open":
                rows, i = _table(tokens, i)
                if rows:
                    table = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
                    for r, cells in enumerate(rows):
                        for c, cell in enumerate(cells):
                            table.cell(r, c).text = cell
                continue
            i += 1
        target = out / f"{path.stem}.docx"
        document.save(str(target))
        print(f"[{n}/{len(pages)}] {target}", flush=True)


def to_markup(pages: list[Path], out: Path, pandoc: str, writer: str, suffix: str) -> None:
    """Each page in another markup language (pandoc's `writer`, from the page's GitHub-flavoured
    Markdown, the dialect of the sources, with its title)."""
    for n, path in enumerate(pages, 1):
        title, text = _source(path)
        converted = subprocess.run(
            [pandoc, "--from", "gfm", "--to", writer, "--standalone", "--columns", "72"]
            + ["--metadata", f"title={title}"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        target = out / f"{path.stem}{suffix}"
        target.write_text(converted, encoding="utf-8")
        print(f"[{n}/{len(pages)}] {target}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markdown", type=Path, required=True, help="folder of .md files")
    parser.add_argument("--out", type=Path, required=True, help="folder for the copies")
    parser.add_argument("--format", choices=("pdf", "docx", "html", "rst", "adoc"), required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--pandoc", default="pandoc")
    args = parser.parse_args(argv)
    pages = sorted(args.markdown.glob("*.md"))
    if not pages:
        print(f"no .md files in {args.markdown}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    if args.format == "pdf":
        to_pdf(pages, args.out, args.chromium)
    elif args.format == "html":
        to_html(pages, args.out)
    elif args.format == "rst":
        to_markup(pages, args.out, args.pandoc, "rst", ".rst")
    elif args.format == "adoc":
        to_markup(pages, args.out, args.pandoc, "asciidoctor", ".adoc")
    else:
        to_docx(pages, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
