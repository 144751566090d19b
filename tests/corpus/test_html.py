"""HTML pages read as structure: headings, lists, tables with their header row, code, permalinks.

The page is made up for these tests, shaped like the output of documentation generators (Sphinx,
MkDocs, texinfo): navigation, a permalink after every heading, a table with a header row, nested lists, a
definition list, a code block, escaped markup in the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpus import load_corpus
from corpus.html_text import html_to_markdown
from index.chunking import parse_structure

PAGE = """<!DOCTYPE html><html><head><title>Plans | Acme Docs</title>
<style>p { color: red }</style><script>var secret = 1;</script></head><body>
<nav><a href="/">Home</a></nav><div class="nav-panel"><p>Next: <a href="b.html">Billing</a></p></div>
<h1 id="plans">Plans<a class="headerlink" href="#plans" title="Permalink">¶</a></h1>
<p>We offer two plans. Each plan is billed
   monthly, in <b>advance</b>.</p>
<table class="docutils">
<thead><tr><th>Plan</th><th>Price</th><th>Support</th></tr></thead>
<tbody>
<tr><td>Basic</td><td>10 dollars a month</td><td>Email only</td></tr>
<tr><td>Team</td><td>25 dollars a month</td><td>Email and phone | chat</td></tr>
</tbody></table>
<h2 id="refunds">Refunds<a class="headerlink" href="#refunds">¶</a></h2>
<p>Refunds are paid within 14 days of a request, as described in the <a href="#terms">terms</a>.</p>
<p>To ask for a refund:</p>
<ol><li><p>Open the billing page.</p></li>
<li>Choose a reason:<ul><li>the plan was too small</li><li>the plan was too large</li></ul></li></ol>
<dl><dt id="grace">Grace period<a href="#grace">¶</a></dt><dd>Seven days after a failed payment.</dd></dl>
<pre>acme refund --plan team
acme status</pre>
<p>Templates such as vector&lt;int&gt; and &lt;script&gt; are shown as text.</p>
</body></html>"""


def test_the_page_is_written_as_markdown() -> None:
    text, title = html_to_markdown(PAGE)
    assert title == "Plans | Acme Docs"
    assert text.startswith("# Plans\n\nWe offer two plans. Each plan is billed monthly, in advance.")
    assert (
        "| Plan | Price | Support |\n| --- | --- | --- |\n| Basic | 10 dollars a month | Email only |" in text
    )
    assert "| Team | 25 dollars a month | Email and phone \\| chat |" in text
    assert "1. Open the billing page.\n\n2. Choose a reason:\n\n   - the plan was too small" in text
    assert "**Grace period**\n\nSeven days after a failed payment." in text
    assert "```\nacme refund --plan team\nacme status\n```" in text
    assert "¶" not in text and "secret" not in text and "color" not in text
    assert "Home" not in text and "Billing" not in text  # the site's navigation
    assert "as described in the terms." in text  # a link inside the page that is not a permalink


def test_the_index_reads_sections_table_rows_and_code(tmp_path: Path) -> None:
    (tmp_path / "plans.html").write_text(PAGE, encoding="utf-8")
    (doc,) = load_corpus(tmp_path)
    structure = parse_structure(doc)
    units = [u.display for u in structure.units]
    assert "Plan: Team · Price: 25 dollars a month · Support: Email and phone | chat" in units
    assert "Refunds are paid within 14 days of a request, as described in the terms." in units
    assert "Seven days after a failed payment." in units
    assert "Templates such as vector<int> and <script> are shown as text." in units
    assert not any("acme refund" in u for u in units)  # code is shown, never an answer
    headings = [b.label for b in structure.blocks if b.kind == "heading"]
    assert headings[:2] == ["Plans", "Refunds"] and "Grace period" in headings


@pytest.mark.model
def test_a_question_about_a_table_is_answered_with_its_row(tmp_path: Path, model_path: str) -> None:
    from index import build_index, load_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "plans.html").write_text(PAGE, encoding="utf-8")
    build_index(corpus, tmp_path / "index", model_path)
    index: Any = load_index(tmp_path / "index", model_path)
    result = index.query("How much does the Team plan cost?")
    assert result.answer is not None
    assert result.answer.display == "Plan: Team · Price: 25 dollars a month · Support: Email and phone | chat"
    document = index.documents[result.answer.doc_id]
    assert document.text[result.answer.start : result.answer.end] == result.answer.text
    refund = index.query("How soon are refunds paid?").answer
    assert refund is not None and "within 14 days" in refund.display


def test_a_layout_table_is_read_a_row_a_line_and_empty_columns_go() -> None:
    text, _ = html_to_markdown(
        "<table><tr><td></td><td>cif:</td><td></td><td>The Basics</td></tr>"
        "<tr><td></td><td>abi:</td><td></td><td>Introduction</td></tr></table>"
        "<table><tr><th>Key</th><th>Note</th><th>Value</th></tr><tr><td>a</td><td></td><td>1</td></tr></table>"
    )
    assert text == "cif: · The Basics\n\nabi: · Introduction\n\n| Key | Value |\n| --- | --- |\n| a | 1 |"


def test_a_page_that_marks_its_main_content_is_read_from_there() -> None:
    text, title = html_to_markdown(
        "<html><head><title>Setup</title><body>"  # </head> left out, as HTML allows
        "<header><p>Acme Docs</p></header>"
        '<div class="wrapper"><div role="navigation"><div><p>Menu</p></div><p>More menu</p></div>'
        '<div role="main"><div><h1>Setup</h1><p>Install the agent first.</p></div>'
        "<p>Then start it.</p></div></div>"
        "<footer><p>Copyright Acme. Edit this page.</p></footer></body></html>"
    )
    assert title == "Setup"
    assert text == "# Setup\n\nInstall the agent first.\n\nThen start it."


def test_navigation_ends_where_its_element_ends() -> None:
    text, _ = html_to_markdown(
        '<div role="navigation"><div><p>Menu</p></div><div>Index</div></div><p>Body text stays.</p>'
    )
    assert text == "Body text stays."


def test_a_main_mark_seen_only_in_a_script_does_not_hide_the_page() -> None:
    text, _ = html_to_markdown('<script>el.setAttribute("role", "main")</script><p>All of the text.</p>')
    assert text == "All of the text."


def test_sphinx_cross_references_keep_their_words() -> None:
    # Sphinx gives every cross reference the class "reference": its text is the page's text.
    page = (
        '<p>Raises <a class="reference internal" href="#requests.HTTPError" title="requests.HTTPError">'
        '<code class="xref py py-class docutils literal notranslate"><span class="pre">HTTPError</span>'
        '</code></a>, if one occurred. See <a class="reference external" href="https://x.example">the '
        'guide</a>. Wikipedia cites<sup class="reference"><a href="#cite-1">[1]</a></sup> like this.</p>'
    )
    text, _ = html_to_markdown(page)
    assert "Raises `HTTPError`, if one occurred. See the guide." in text  # code stays a code span
    assert "cites like this." in text


def test_inline_code_is_a_code_span_shown_as_typed(tmp_path: Path) -> None:
    page = (
        "<main><p>Each scrape writes <code>up{job=&quot;&lt;job-name&gt;&quot;}</code>: <code>1</code>"
        " when healthy; press <kbd>Ctrl</kbd>+<kbd>C</kbd> to stop <code>a`b</code>.</p></main>"
    )
    text, _ = html_to_markdown(page)
    assert text == (
        'Each scrape writes `up{job="<job-name>"}`: `1` when healthy; press `Ctrl`+`C` to stop ``a`b``.'
    )
    (tmp_path / "p.html").write_text(page, encoding="utf-8")
    (doc,) = load_corpus(tmp_path)
    [unit] = parse_structure(doc).units
    shown = unit.display
    assert shown == 'Each scrape writes up{job="<job-name>"}: 1 when healthy; press Ctrl+C to stop a`b.'


def test_footnote_reference_marks_are_left_out_and_the_footnote_kept() -> None:
    page = (
        "<main><p>It resists attacks on hash tables"
        '<sup class="footnote-reference" id="fr-1"><a href="#footnote-1">1</a></sup>.'
        ' Pandoc marks notes too<a href="#fn2" class="footnote-ref" role="doc-noteref"><sup>2</sup></a>.</p>'
        '<ol class="footnotes"><li id="footnote-1">See the SipHash paper.</li></ol></main>'
    )
    text, _ = html_to_markdown(page)
    assert "hash tables." in text and "Pandoc marks notes too." in text
    assert "See the SipHash paper." in text
