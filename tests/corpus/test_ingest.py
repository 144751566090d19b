"""Ingestion: ids, titles, formats, manifest, and the verbatim-text guarantee."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from corpus import load_corpus
from corpus.ingest import CorpusLoadError, Skipped, corpus_files, scan_corpus
from tests.corpus.makers import encrypted_pdf, image_only_pdf, slide_deck, three_page_pdf, word_document


def test_default_corpus_has_readable_ids_and_titles(corpus_dir: Path) -> None:
    docs = {d.doc_id: d for d in load_corpus(corpus_dir)}
    assert set(docs) == {"cco-vs-coo", "cco-vs-cro", "customer-officer-vs-coo", "what-does-a-cco-do"}
    assert docs["cco-vs-cro"].title == "What is the difference between CCO and CRO?"
    assert docs["cco-vs-coo"].source == "000_6dfa2822c5d99558.txt"


def test_text_is_the_file_verbatim(corpus_dir: Path) -> None:
    for doc in load_corpus(corpus_dir):
        raw = (corpus_dir / doc.source).read_text(encoding="utf-8")
        assert doc.text == raw


def test_title_from_first_heading_or_line_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "Team Handbook.md").write_text("# Working hours\n\nWe start at nine.\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("\n\nOn-call rota\nAlice then Bob.\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert docs["team-handbook"].title == "Working hours"
    assert docs["notes"].title == "On-call rota"


def test_html_is_stripped_to_visible_text(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        "<html><head><title>Policy</title><style>p{color:red}</style></head><body>"
        "<h1>Leave</h1><p>Staff get <b>25 days</b>.</p><script>alert(1)</script></body></html>",
        encoding="utf-8",
    )
    (doc,) = load_corpus(tmp_path)
    assert doc.title == "Policy"
    assert "Staff get 25 days." in doc.text and "alert" not in doc.text and "color" not in doc.text


def test_duplicates_and_unsupported_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Same text here.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Same text here.", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")
    assert [d.doc_id for d in load_corpus(tmp_path)] == ["a"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, r"no readable documents in .* \(the folder has no files\); docqa reads \.txt, \.md"),
        (lambda p: (p / "manifest.json").write_text("{not json", encoding="utf-8"), "not valid JSON"),
        (
            lambda p: [
                (p / "a.txt").write_text("x y z", encoding="utf-8"),
                (p / "manifest.json").write_text('{"a.txt": {"doc_id": "../etc"}}', encoding="utf-8"),
            ],
            "must be lower-case",
        ),
    ],
)
def test_bad_corpus_folders_say_what_to_fix(
    tmp_path: Path, setup: Callable[[Path], object], message: str
) -> None:
    setup(tmp_path)
    with pytest.raises(CorpusLoadError, match=message):
        load_corpus(tmp_path)


def test_missing_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CorpusLoadError, match="DOCQA_CORPUS_DIR"):
        load_corpus(tmp_path / "nope")


# -- folders, ids, sources and the skip report (issue 10) ------------------------------------------


def _write(root: Path, relative: str, text: str = "") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or f"# {relative}\n\nText of {relative}.\n", encoding="utf-8")
    return path


def test_folders_are_read_recursively_with_ids_and_sources_from_the_relative_path(tmp_path: Path) -> None:
    for relative in ("index.md", "guides/index.md", "api/v2/index.md", "guides/Getting Started.markdown"):
        _write(tmp_path, relative)
    docs = {d.doc_id: d.source for d in load_corpus(tmp_path)}
    assert docs == {
        "index": "index.md",
        "guides-index": "guides/index.md",
        "api-v2-index": "api/v2/index.md",
        "guides-getting-started": "guides/Getting Started.markdown",
    }


def test_ids_and_sources_do_not_depend_on_other_files_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "handbook"
    _write(corpus, "guides/index.md")
    before = {(d.doc_id, d.source) for d in load_corpus(corpus)}
    _write(corpus, "a/index.md")
    _write(corpus, "zz.txt", "More text.")
    monkeypatch.chdir(corpus / "guides")
    after = {(d.doc_id, d.source) for d in load_corpus(corpus)}
    assert before <= after and ("guides-index", "guides/index.md") in before


def test_hidden_files_and_folders_are_left_out_silently(tmp_path: Path) -> None:
    _write(tmp_path, "visible.md")
    for hidden in (
        ".draft.md",
        ".git/notes.md",
        "guides/.obsidian/cache.md",
        "guides/.wip.txt",
        "~$policy.docx",
    ):
        _write(tmp_path, hidden)
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["visible.md"] and skipped == []


def test_every_file_left_out_is_reported_with_its_reason(tmp_path: Path) -> None:
    _write(tmp_path, "a.txt", "Same text here.")
    _write(tmp_path, "sub/b.txt", "Same text here.")
    _write(tmp_path, "blank.md", " \n\n")
    _write(tmp_path, "data/sheet.xlsx", "not read")
    _write(tmp_path, "README", "no suffix")
    encrypted_pdf(tmp_path / "locked.pdf")
    (tmp_path / "scans").mkdir()
    image_only_pdf(tmp_path / "scans/receipt.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf")
    (tmp_path / "broken.docx").write_bytes(b"not a docx")
    documents, skipped = scan_corpus(tmp_path)
    assert [d.source for d in documents] == ["a.txt"]
    assert skipped == [
        Skipped("README", "unsupported suffix (none)"),
        Skipped("blank.md", "empty text"),
        Skipped("broken.docx", "corrupt or unreadable DOCX"),
        Skipped("broken.pdf", "corrupt or unreadable PDF"),
        Skipped("data/sheet.xlsx", "unsupported suffix .xlsx"),
        Skipped("locked.pdf", "encrypted"),
        Skipped("scans/receipt.pdf", "no text layer (scanned? OCR is not supported)"),
        Skipped("sub/b.txt", "duplicate content (same text as a.txt)"),
    ]


def test_a_documentation_builds_source_copies_are_skipped_when_their_pages_are_read(tmp_path: Path) -> None:
    """A Sphinx build keeps each page's source as ``_sources/<page>.rst.txt``; reading both would
    put every passage in the index twice."""
    _write(tmp_path, "user/install.html", "<title>Install</title><p>Run the installer.</p>")
    _write(tmp_path, "_sources/user/install.rst.txt", "Install\n=======\n\nRun the installer.\n")
    _write(tmp_path, "_sources/orphan.rst.txt", "Orphan\n======\n\nOnly the source is here.\n")
    scan = scan_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["_sources/orphan.rst.txt", "user/install.html"]
    assert scan.skipped == [
        Skipped("_sources/user/install.rst.txt", "source copy of user/install.html (the page is read)")
    ]
    orphan = scan.documents[0]
    assert orphan.title == "Orphan" and orphan.meta["format"] == "rst"


def test_pages_a_sphinx_build_generates_from_the_others_are_skipped(tmp_path: Path) -> None:
    """The general and module indexes, the search page and the highlighted module sources repeat
    the pages' words as link lists or code; a folder is a Sphinx build when it holds searchindex.js."""
    site = "docs/html"
    _write(tmp_path, f"{site}/searchindex.js", "Search.setIndex({})")
    _write(tmp_path, f"{site}/api.html", "<title>API</title><p>Raises an error on failure.</p>")
    for page in ("genindex.html", "py-modindex.html", "search.html", "_modules/app/core.html"):
        _write(tmp_path, f"{site}/{page}", f"<title>{page}</title><p>Generated list of names.</p>")
    _write(tmp_path, "notes/search.html", "<title>Search tips</title><p>Use quotes for phrases.</p>")
    scan = scan_corpus(tmp_path)
    assert [d.source for d in scan.documents] == [f"{site}/api.html", "notes/search.html"]
    generated = [s for s in scan.skipped if s.reason.startswith("generated by Sphinx")]
    assert [(s.path, s.reason) for s in generated] == [
        (f"{site}/_modules/app/core.html", "generated by Sphinx (highlighted source code of a module)"),
        (f"{site}/genindex.html", "generated by Sphinx (an index or search page)"),
        (f"{site}/py-modindex.html", "generated by Sphinx (an index or search page)"),
        (f"{site}/search.html", "generated by Sphinx (an index or search page)"),
    ]


def test_a_built_sites_page_not_found_page_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "site/index.html", "<title>Handbook</title><p>Welcome to the handbook.</p>")
    _write(tmp_path, "site/404.html", "<title>404</title><h1>404</h1><p>Page not found</p>")
    _write(tmp_path, "errors/404.html", "<title>Errors</title><p>A 404 means the page is gone.</p>")
    scan = scan_corpus(tmp_path)
    assert [d.source for d in scan.documents] == ["errors/404.html", "site/index.html"]
    assert scan.skipped == [Skipped("site/404.html", "a site's page-not-found page")]


def test_skips_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, "a.md")
    _write(tmp_path, "photo.png", "png")
    with caplog.at_level("WARNING", logger="corpus.ingest"):
        scan_corpus(tmp_path)
    assert [(r.getMessage(), r.__dict__["path"], r.__dict__["reason"]) for r in caplog.records] == [
        ("skipped photo.png: unsupported suffix .png", "photo.png", "unsupported suffix .png")
    ]


def test_a_folder_with_nothing_readable_names_the_files_and_reasons(tmp_path: Path) -> None:
    encrypted_pdf(tmp_path / "a.pdf")
    (tmp_path / "b.docx").write_bytes(b"garbage")
    with pytest.raises(CorpusLoadError) as caught:
        load_corpus(tmp_path)
    message = str(caught.value)
    assert message.startswith(
        f"no readable documents in {tmp_path}: a.pdf (encrypted), b.docx (corrupt or unreadable DOCX); "
        "docqa reads .txt, .md, .markdown, .mdx, .rst, .rest, .adoc, .asciidoc, .html, .htm, .ipynb, .pdf, "
        ".docx, .pptx files"
    )


def test_pdf_word_and_slides_become_documents_beside_markdown(tmp_path: Path) -> None:
    _write(tmp_path, "notes.md")
    (tmp_path / "policies").mkdir()
    three_page_pdf(tmp_path / "policies/travel.pdf")
    word_document(tmp_path / "policies/expenses.docx")
    slide_deck(tmp_path / "results.pptx")
    docs = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert set(docs) == {"notes", "policies-travel", "policies-expenses", "results"}
    pdf, word, deck = docs["policies-travel"], docs["policies-expenses"], docs["results"]
    assert (pdf.title, pdf.source, len(pdf.pages), pdf.meta["format"]) == (
        "Travel Policy",
        "policies/travel.pdf",
        3,
        "pdf",
    )
    assert "boilerplate_spans" in pdf.meta
    assert (word.title, word.meta["format"], word.text.startswith("# Expense policy")) == (
        "Expense policy",
        "markdown",
        True,
    )
    assert (deck.title, len(deck.slides), deck.meta["format"]) == ("Quarterly results", 2, "markdown")


def test_a_pdf_over_the_time_limit_is_skipped_while_the_rest_loads(tmp_path: Path) -> None:
    three_page_pdf(tmp_path / "slow.pdf")
    _write(tmp_path, "notes.md")
    documents, skipped = scan_corpus(tmp_path, timeout=0.001)
    assert [d.source for d in documents] == ["notes.md"]
    assert skipped == [Skipped("slow.pdf", "timeout (parsing took longer than 0.001 s)")]


def test_manifest_keys_are_relative_paths_and_its_ids_win(tmp_path: Path) -> None:
    _write(tmp_path, "home.md")
    _write(tmp_path, "guides/index.md")
    (tmp_path / "manifest.json").write_text(
        '{"guides/index.md": {"doc_id": "home", "title": "Guides", "url": "https://example.org/guides"}}',
        encoding="utf-8",
    )
    documents, skipped = scan_corpus(tmp_path)
    assert [(d.doc_id, d.source, d.title, d.url) for d in documents] == [
        ("home", "guides/index.md", "Guides", "https://example.org/guides"),
        ("home-2", "home.md", "home.md", None),
    ]
    assert skipped == []


def test_corpus_files_lists_what_a_scan_considers(tmp_path: Path) -> None:
    for relative in ("b.md", "a/c.pdf", ".hidden/x.md", "manifest.json", "a/manifest.json", "z.bin"):
        _write(tmp_path, relative, "x")
    assert corpus_files(tmp_path) == ["a/c.pdf", "a/manifest.json", "b.md", "z.bin"]


def test_a_sites_name_is_dropped_from_the_titles_of_its_pages(tmp_path: Path) -> None:
    page = "<html><head><title>{}</title></head><body><main><p>Some text about {}.</p></main></body></html>"
    for name, title in [
        ("install.html", "Install - Acme Docs"),
        ("upgrade.html", "Upgrade - Acme Docs"),
        ("a-b.html", "A - B testing - Acme Docs"),
        ("faq.html", "FAQ"),
        ("kept.html", "Named - Acme Docs"),
    ]:
        (tmp_path / name).write_text(page.format(title, name), encoding="utf-8")
    (tmp_path / "manifest.json").write_text('{"kept.html": {"title": "Named - Acme Docs"}}', encoding="utf-8")
    titles = {doc.source: doc.title for doc in load_corpus(tmp_path)}
    assert titles == {
        "install.html": "Install",
        "upgrade.html": "Upgrade",
        "a-b.html": "A - B testing",  # only the last part is the site's name
        "faq.html": "FAQ",
        "kept.html": "Named - Acme Docs",  # a manifest's title is the user's own
    }


def test_titles_that_only_share_a_word_keep_it(tmp_path: Path) -> None:
    # Two of five titles end alike: not a site's name.
    for name, title in [
        ("a.md", "Leave - Policy"),
        ("b.md", "Travel - Policy"),
        ("c.md", "Pay"),
        ("d.md", "Tools"),
        ("e.md", "Hiring"),
    ]:
        (tmp_path / name).write_text(f"# {title}\n\nText about {name}.\n", encoding="utf-8")
    titles = sorted(doc.title for doc in load_corpus(tmp_path))
    assert titles == ["Hiring", "Leave - Policy", "Pay", "Tools", "Travel - Policy"]
