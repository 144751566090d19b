"""The Markdown reader: structure, readable displays and verbatim offsets of a real handbook page.

The fixture (tests/data/markdown/oncall-handbook.md) is a made-up team's on-call handbook that
uses every construct the reader handles: front matter, ATX/setext headings with anchors, wrapped
prose, lists with a lead-in, a GFM and an HTML table, fenced code with ``# comments``, Hugo
shortcodes, Liquid tags, an MkDocs include and admonition, links, images and inline HTML.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.models import Document
from index.chunking import ChunkerConfig, chunk_document, parse_structure
from index.markdown import parse_markdown
from index.structure import Block, Structure, Unit, plain_structure
from index.types import Chunk

HANDBOOK = Path(__file__).resolve().parent.parent / "data" / "markdown" / "oncall-handbook.md"
MARKUP = ("{{<", "{{%", "{%", "<!--", "-->", "{*")


def _doc(text: str, title: str = "Handbook") -> Document:
    return Document(doc_id="handbook", title=title, source="x.md", text=text)


@pytest.fixture(scope="module")
def text() -> str:
    return HANDBOOK.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def structure(text: str) -> Structure:
    return parse_markdown(text)


@pytest.fixture(scope="module")
def chunks(text: str, structure: Structure) -> list[Chunk]:
    return chunk_document(_doc(text, structure.title or ""), structure=structure)


def _unit(structure: Structure, words: str) -> Unit:
    return next(u for u in structure.units if words in u.display)


def _chunk(chunks: list[Chunk], words: str) -> Chunk:
    return next(c for c in chunks if words in c.display)


# --- the handbook fixture ----------------------------------------------------------------------


def test_title_comes_from_front_matter(structure: Structure) -> None:
    assert structure.title == "Orbit Platform Team: On-Call Handbook"


def test_markdown_sources_are_read_with_the_markdown_parser(text: str) -> None:
    for source in ("a.md", "docs/b.markdown", "c.MDX"):
        doc = Document(doc_id="d", title="T", source=source, text=text)
        assert parse_structure(doc).title == "Orbit Platform Team: On-Call Handbook"


@pytest.mark.parametrize("line", ["weight: 20", "tags: [oncall, sre, handbook]", "draft: false", "title:"])
def test_front_matter_is_in_no_display_and_no_unit(
    text: str, structure: Structure, chunks: list[Chunk], line: str
) -> None:
    fm_end = text.index("---", 3) + 3
    assert not any(u.start < fm_end for u in structure.units)
    assert not any(c.start < fm_end for c in chunks)
    assert not any(line in u.display for u in structure.units)
    assert not any(line in c.display or line in c.embed_text for c in chunks)


def test_front_matter_is_one_boilerplate_block(text: str, structure: Structure) -> None:
    first = structure.blocks[0]
    assert first.kind == "boilerplate" and first.start == 0
    assert text[first.start : first.end].endswith("draft: false\n---")


def test_section_paths_follow_atx_and_setext_headings_without_anchors(chunks: list[Chunk]) -> None:
    assert _chunk(chunks, "rotation hands over on Tuesday").section == "On-call at Orbit"
    assert _chunk(chunks, "VPN token").section == "On-call at Orbit › Before a shift"
    assert _chunk(chunks, "SEV2").section == "On-call at Orbit › Severity levels"
    assert (
        _chunk(chunks, "orbit-restart").section
        == "On-call at Orbit › Severity levels › Restarting the ingest gateway"
    )
    assert _chunk(chunks, "db-oncall@orbit.example").section == "Escalation contacts"
    assert not any("{#" in c.section or "#oncall" in c.section for c in chunks)


def test_heading_labels_drop_their_anchor_attributes(structure: Structure) -> None:
    labels = [(b.level, b.label) for b in structure.blocks if b.kind == "heading"]
    assert labels == [
        (1, "On-call at Orbit"),
        (2, "Before a shift"),
        (2, "Severity levels"),
        (3, "Restarting the ingest gateway"),
        (1, "Escalation contacts"),
    ]


def test_a_hard_wrapped_sentence_is_one_unit(text: str, structure: Structure) -> None:
    unit = _unit(structure, "rotation hands over on Tuesday")
    assert text[unit.start : unit.end].count("\n") == 2  # wrapped over three source lines
    assert unit.display == (
        "The Orbit platform team keeps a single primary and a single secondary engineer on call "
        "every week, and the rotation hands over on Tuesday at ten in the morning so that nobody "
        "starts a shift on a Monday backlog."
    )


def test_a_wrapped_sentence_with_markup_reads_clean(structure: Structure) -> None:
    unit = _unit(structure, "handover note")
    assert unit.display == (
        "The handover note lives in the shift log and must list every open alert, every silenced "
        "check and every change that is still rolling out across the Pods of the ingest cluster."
    )


def test_every_unit_and_chunk_is_a_verbatim_span(
    text: str, structure: Structure, chunks: list[Chunk]
) -> None:
    spans: list[Unit | Block | Chunk] = [*structure.units, *structure.views, *structure.blocks, *chunks]
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]


def test_table_rows_are_units_that_name_their_columns(structure: Structure) -> None:
    assert _unit(structure, "SEV2").display == (
        "Severity: SEV2 · Response time: 30 minutes · Who is paged: Primary only"
    )
    assert _unit(structure, "Networking").display == "Team: Networking · Contact: #net-oncall on Slack"


def test_table_header_rows_are_not_units(structure: Structure) -> None:
    displays = [u.display for u in structure.units]
    assert not any(d.startswith(("Severity | ", "Team | ")) for d in displays)
    assert sum("Severity: SEV" in d for d in displays) == 3
    assert sum(d.startswith("Team: ") for d in displays) == 2


def test_code_is_never_a_unit_nor_a_heading(text: str, structure: Structure, chunks: list[Chunk]) -> None:
    code = next(b for b in structure.blocks if b.kind == "code")
    assert "# restart every gateway replica" in text[code.start : code.end]
    assert not any(u.start < code.end and u.end > code.start for u in structure.units)
    assert not any("restart every gateway" in b.label for b in structure.blocks)
    chunk = _chunk(chunks, "orbit-restart")
    assert "orbit-restart" not in chunk.embed_text  # shown to readers, never embedded


@pytest.mark.parametrize("markup", MARKUP)
def test_template_tags_and_comments_are_absent_from_displays(
    structure: Structure, chunks: list[Chunk], markup: str
) -> None:
    assert not any(markup in u.display for u in [*structure.units, *structure.views])
    assert not any(markup in c.display or markup in c.embed_text for c in chunks)


@pytest.mark.parametrize(
    "hidden",
    ["glossary_tooltip", "term_id", "note >", "page.last_modified", "orbit_restart.py", "Maintainers"],
)
def test_template_and_comment_words_are_not_indexed(chunks: list[Chunk], hidden: str) -> None:
    assert not any(hidden in c.display or hidden in c.embed_text for c in chunks)


def test_a_tooltip_keeps_its_visible_text(structure: Structure, chunks: list[Chunk]) -> None:
    assert "across the Pods of the ingest cluster" in _unit(structure, "handover note").display
    assert "across the Pods of the ingest cluster" in _chunk(chunks, "handover note").embed_text


def test_links_keep_their_text_and_drop_their_url(structure: Structure, chunks: list[Chunk]) -> None:
    assert "lives in the shift log and" in _unit(structure, "handover note").display
    assert not any("wiki.orbit.example" in c.display or "wiki.orbit.example" in c.embed_text for c in chunks)
    assert not any("rotation-calendar.png" in c.display for c in chunks)


def test_shortcode_body_and_admonition_body_are_prose(structure: Structure) -> None:
    assert (
        _unit(structure, "Shadow shifts").display
        == "Shadow shifts do not count towards the yearly on-call quota."
    )
    assert _unit(structure, "90 seconds").display == (
        "The script waits 90 seconds between zones so that the load balancer can drain connections."
    )


def test_inline_html_is_read_as_text(structure: Structure) -> None:
    assert _unit(structure, "Call the incident").display == (
        "Call the incident commander first if two teams are involved."
    )
    assert _unit(structure, "follow-up").display == "The commander decides who owns the follow-up."


def test_list_lead_in_and_items(structure: Structure, chunks: list[Chunk]) -> None:
    lead = "Each engineer on the rotation must check the following before the shift starts:"
    assert _unit(structure, "must check the following").display == lead
    for item in ("Pager app version: 7.4 or newer", "Backup token: stored in the team safe"):
        assert _unit(structure, item).display == item
    chunk = _chunk(chunks, "must check the following")
    assert "Recovery codes: printed and sealed" in chunk.display


def test_no_unit_or_display_carries_markup(structure: Structure) -> None:
    for unit in structure.units:
        assert "\n" not in unit.display
        assert not any(mark in unit.display for mark in ("**", "](", "<b>", "<br>", "{#", "| "))


# --- regressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "We finally shipped the new pager integration! 🎉",
        "**Never deploy on a Friday afternoon! 🚀**",
        "**Pages are acknowledged within five minutes.** ✅",
    ],
)
def test_a_sentence_ending_in_an_emoji_is_not_a_heading(line: str) -> None:
    text = f"# Release notes\n\n{line}\n\nThe rotation moved to Tuesdays this quarter.\n"
    structure = parse_markdown(text)
    assert [b.label for b in structure.blocks if b.kind == "heading"] == ["Release notes"]
    assert any(u.display.endswith(("🎉", "🚀", "✅")) for u in structure.units)
    sections = {c.section for c in chunk_document(_doc(text))}
    assert sections == {"Release notes"}


def test_a_sentence_ending_in_an_emoji_is_not_a_heading_in_plain_text() -> None:
    text = (
        "Release notes\n\nWe finally shipped the pager integration! 🎉\n\n"
        "Thanks to all.\n\nGreat work team! 🚀"
    )
    kinds = [b.kind for b in plain_structure(text).blocks]
    assert kinds == ["heading", "para", "para", "para"]


def test_bold_words_inside_a_sentence_do_not_make_it_a_heading() -> None:
    structure = parse_markdown("# Ops\n\n**Warning:** never restart the **primary database**\n")
    assert [b.label for b in structure.blocks if b.kind == "heading"] == ["Ops"]
    assert [u.display for u in structure.units] == ["Warning: never restart the primary database"]


def test_icon_font_glyphs_are_no_words() -> None:
    # Private-use characters (icon fonts copied from a web page) are not read, nor taken for
    # the marks the cleaner holds escapes with ("\ue021" is never shown as "!").
    structure = parse_markdown("# Icons\n\nClick the \ue021 icon, then \uf0c7 save.\n")
    assert [u.display for u in structure.units] == ["Click the icon, then save."]


def test_backslash_escapes_show_the_punctuation_mark() -> None:
    # GitBook and other editors escape every parenthesis they save: "\\(or over\\)".
    text = (
        "# Spending\n\nA purchase of 1000 USD \\(or over\\) is company property.\n\n"
        "Type \\*not emphasis\\* or run `grep \\(x` and see \\[brackets\\](here).\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "A purchase of 1000 USD (or over) is company property.",
        "Type *not emphasis* or run grep \\(x and see [brackets](here).",  # code keeps its backslash
    ]


def test_code_spans_are_shown_as_typed() -> None:
    # Inside a code span nothing is markup: not the tag-like <job-name>, not the {…} that would
    # otherwise be an attribute list, not the ** of emphasis.
    text = (
        "# Scrapes\n\n"
        '- `up{job="<job-name>"}`: `1` if the target is healthy, **else** `0`.\n'
        "- Run `kubectl get pods -o jsonpath={.items[0].name}` or `a **b** c`.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        'up{job="<job-name>"}: 1 if the target is healthy, else 0.',
        "Run kubectl get pods -o jsonpath={.items[0].name} or a **b** c.",
    ]


def test_a_github_alert_marker_is_not_shown() -> None:
    # "> [!WARNING]" says what kind of box GitHub draws; it is no word of the sentence.
    text = (
        "# Extensions\n\n"
        "> [!WARNING] We are deprecating extensions on November 10.\n\n"
        "> [!NOTE]\n> This chapter is about lints.\n\n"
        "Elsewhere, [!NOTE] is just text.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "We are deprecating extensions on November 10.",
        "This chapter is about lints.",
        "Elsewhere, [!NOTE] is just text.",
    ]


def test_a_pipe_in_code_is_shown() -> None:
    # A pipe in a code span is what the code says (a separator, a shell pipe, a type union); only
    # a stray cell border outside code is dropped.
    text = (
        "# Titles\n\n"
        "**type:** `'doc' | 'splash'`  \n**default:** `'|'`\n\n"
        "Every page has a `<title>` of `Page Title | Site Title`.\n"
        "Run `cat app.log | grep error` to see errors.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "type: 'doc' | 'splash'",
        "default: '|'",
        "Every page has a <title> of Page Title | Site Title.",
        "Run cat app.log | grep error to see errors.",
    ]


def test_emphasis_over_wrapped_lines_and_cut_by_a_sentence_end_shows_no_marks() -> None:
    text = (
        "# Pushing\n\n**Usually, the only valid use is for capturing the\noutcome of a batch job**.\n\n"
        "Data is stored as [_time\nseries_](https://x.example): streams of values.\n\n"
        "**Submissions are closed. They reopen next year.**\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "Usually, the only valid use is for capturing the outcome of a batch job.",
        "Data is stored as time series: streams of values.",
        "Submissions are closed.",
        "They reopen next year.",
    ]


def test_bold_closed_after_a_space_and_numbered_bold_read_as_meant() -> None:
    # CommonMark leaves "**Label: **Text" as typed; its author meant a bold label.
    text = (
        "# Leave\n\n- **All teammates: **Rest while you are out.\n"
        '- **<span style="x">Month 1: </span>**\n\n'
        "We treat reports seriously. **Every report is read. **\n\n"
        "Complete the fields within the **03. Provide PO details** section. Then submit.\n\n"
        "Compute 2**8 with `a ** b`.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "All teammates: Rest while you are out.",
        "Month 1:",
        "We treat reports seriously.",
        "Every report is read.",
        "Complete the fields within the 03. Provide PO details section.",
        "Then submit.",
        "Compute 2**8 with a ** b.",
    ]


def test_emphasis_by_one_mark_cut_by_a_sentence_end_shows_no_marks() -> None:
    text = (
        "# Functions\n\n_Note, these come from [Sprig](https://x.example). Sprig is a\n"
        "library for Go applications._\n\n*Under the hood, the index is fetched. It is cached.*\n\n"
        "- _helpers.tpl: a place for template helpers.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "Note, these come from Sprig.",
        "Sprig is a library for Go applications.",
        "Under the hood, the index is fetched.",
        "It is cached.",
        "_helpers.tpl: a place for template helpers.",
    ]


def test_links_code_spans_and_escapes_read_as_commonmark_does() -> None:
    text = (
        "# Links\n\n"
        "- [OMG! Prometheus](https://x.example/talk.pdf) explains the case.\n"
        "- See [[Draft] Customer list](https://x.example/977) first.</br>Then report.\n"
        '- Escape `\\`, `\\n` and `"` with a backslash, not \\`this\\`.\n'
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "OMG! Prometheus explains the case.",  # a link's text is never cut into sentences
        "See [Draft] Customer list first. Then report.",
        'Escape \\, \\n and " with a backslash, not `this`.',
    ]


def test_site_generator_tags_go_even_from_code_spans_and_bold() -> None:
    # Jekyll and Hugo run their tags before Markdown is read: inside a code span too.
    text = (
        "# Help\n\n"
        '1. The\n   **{% slack_channel "g-consulting" %}** -\n   gives first-line project support.\n'
        "2. Pull `registry.example/test:v{{< skew latestVersion >}}` or use `{{method}}` as legend.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "The - gives first-line project support.",
        "Pull registry.example/test:v or use {{method}} as legend.",
    ]


def test_an_html_table_row_left_open_by_its_block_keeps_its_text() -> None:
    # A cell written in Markdown (``<td markdown="1">``) ends the HTML block at its first blank
    # line; the row's text up to there is read as prose, not lost.
    text = (
        "# Proxies\n\n"
        "<table>\n  <thead><tr><th>Type</th><th>Value</th></tr></thead>\n  <tr>\n    <td>Boolean</td>\n"
        '<td markdown="1">\nIf `true`, the address is the left-most entry of the header.\n\n'
        "If `false`, the address is the socket's. This is the default setting.\n\n</td>\n  </tr>\n</table>\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "Boolean",  # a cell of its own: no sentence runs from one cell into the next
        "If true, the address is the left-most entry of the header.",
        "If false, the address is the socket's.",
        "This is the default setting.",
    ]


def test_no_sentence_runs_across_the_cells_rows_or_components_of_an_html_block() -> None:
    # The blank lines inside ``<td markdown="1">`` cut the table into HTML blocks that no longer
    # start with <table>: their text still breaks at every cell, row and tag alone on its line.
    text = (
        "# Proxies\n\n<table>\n  <tr>\n    <td>Boolean</td>\n"
        '<td markdown="1">\nIf `true`, the address is the left-most entry of the header.\n\n'
        '<Alert type="warning">\nWhen set to `true`, strip the headers a client could forge\n</Alert>\n'
        "</td>\n  </tr>\n  <tr>\n    <td>IP addresses</td>\n"
        '<td markdown="1">\nAn address or a subnet to trust, with <a href="/x">its <b>mask</b></a>.\n\n'
        "</td>\n  </tr>\n</table>\n"
    )
    structure = parse_markdown(text)
    expected = [
        "Boolean",
        "If true, the address is the left-most entry of the header.",
        "When set to true, strip the headers a client could forge",
        "IP addresses",
        "An address or a subnet to trust, with its mask.",  # inline tags break nothing
    ]
    assert [u.display for u in structure.units] == expected
    assert [v.display for v in structure.views] == expected
    for unit in structure.units:
        assert "<" not in unit.display and ">" not in unit.display


def test_markup_commented_out_inside_an_html_block_stays_out() -> None:
    # The cells and line breaks of a comment do not cut it into stretches of shown text.
    text = (
        "# Notes\n\n<div>\nKeep this sentence.\n<!-- TODO: remove <br> this old line\n"
        "<p>and this one</p> -->\n</div>\n\n<!-- <table>\n<tr><td>old</td></tr> -->\n\nAfter.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == ["Keep this sentence.", "After."]
    assert [v.display for v in structure.views] == ["Keep this sentence.", "After."]


def test_erb_tags_of_a_middleman_page_are_template_tags() -> None:
    # A page of a Middleman site (``logging.html.md.erb``): its title heading is an ERB tag, and
    # tags stand between and inside paragraphs; one quoted in a code span is shown as typed.
    text = (
        "---\ntitle: How to store and query logs\n---\n\n# <%= current_page.data.title %>\n\n"
        "<%= partial 'partials/site-banner' %>\n\n"
        "Keep logs for <%= retention_days %> days. Ship them to the store.\n"
        "Write `<%= Time.current.year %>` in the notice.\n"
    )
    structure = parse_markdown(text)
    assert structure.title == "How to store and query logs"
    assert [b.label for b in structure.blocks if b.kind == "heading"] == []
    assert [u.display for u in structure.units] == [
        "Keep logs for days.",
        "Ship them to the store.",
        "Write <%= Time.current.year %> in the notice.",
    ]


def test_a_bold_line_is_a_minor_heading() -> None:
    text = "# Ops\n\n**Deploy checklist**\n\nRun the smoke tests before you merge anything.\n"
    structure = parse_markdown(text)
    assert [(b.level, b.label) for b in structure.blocks if b.kind == "heading"] == [
        (1, "Ops"),
        (7, "Deploy checklist"),
    ]


@pytest.mark.parametrize("fence", ["```", "~~~", "```bash", "````"])
def test_comment_lines_inside_code_fences_are_not_headings(fence: str) -> None:
    close = fence.rstrip("bash")
    text = (
        f"# Runbook\n\nRestart the worker:\n\n{fence}\n# stop the worker\nsystemctl stop worker\n\n"
        f"# start it again\nsystemctl start worker\n{close}\n\nCheck the logs afterwards.\n"
    )
    structure = parse_markdown(text)
    assert [b.label for b in structure.blocks if b.kind == "heading"] == ["Runbook"]
    assert not any("systemctl" in u.display or "worker\n" in u.display for u in structure.units)
    assert {c.section for c in chunk_document(_doc(text))} == {"Runbook"}


def test_a_page_about_cookies_keeps_its_cookie_sentences() -> None:
    text = (
        "---\ntitle: Cookie policy\n---\n\n# Cookies\n\nThe status page sets one cookie to remember your\n"
        "theme. The cookie expires after 30 days.\n\n## Cookie settings\n\n"
        "You can clear the cookie from the settings page.\n\nSubscribe to outage emails on the same page.\n"
    )
    structure = parse_markdown(text)
    displays = [u.display for u in structure.units]
    assert displays == [
        "The status page sets one cookie to remember your theme.",
        "The cookie expires after 30 days.",
        "You can clear the cookie from the settings page.",
        "Subscribe to outage emails on the same page.",
    ]
    joined = "\n".join(c.display for c in chunk_document(_doc(text)))
    assert all(d in joined for d in displays)


def test_a_table_row_answer_keeps_its_headers() -> None:
    text = (
        "# Rotation\n\n| Week | Primary | Secondary |\n| :--- | :---: | ---: |\n"
        "| 14 | **Ada** | [Grace](/people/grace) |\n| 15 | Linus | `ken` |\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "Week: 14 · Primary: Ada · Secondary: Grace",
        "Week: 15 · Primary: Linus · Secondary: ken",
    ]
    row = structure.units[0]
    assert text[row.start : row.end] == "| 14 | **Ada** | [Grace](/people/grace) |"


def test_a_table_inside_a_list_or_quote_still_has_rows() -> None:
    text = (
        "# Regions\n\n> | Region | Owner |\n> |---|---|\n> | eu-west-1 | Team Atlas |\n\n"
        "- Fallbacks:\n\n  | Region | Fallback |\n  |---|---|\n  | us-east-2 | us-west-2 |\n"
    )
    displays = [u.display for u in parse_markdown(text).units]
    assert "Region: eu-west-1 · Owner: Team Atlas" in displays
    assert "Region: us-east-2 · Fallback: us-west-2" in displays


def test_a_list_lead_in_stays_with_its_list_in_one_chunk() -> None:
    intro = " ".join(["The pager rotation has a long history at Orbit."] * 8)
    text = (
        f"# Shifts\n\n{intro}\n\nEvery handover note has to\nname the following:\n\n"
        "- The open alerts\n- The silenced checks\n- The rollouts in flight\n"
    )
    chunks = chunk_document(_doc(text), ChunkerConfig(min_words=5, max_words=60))
    chunk = next(c for c in chunks if "name the following:" in c.text)
    assert "- The rollouts in flight" in chunk.text
    assert chunk.text.startswith("Every handover note")


def test_tiny_heading_only_chunks_are_not_produced() -> None:
    text = (
        "# Handbook\n\n## Paging\n\n### Hours\n\nPrimary covers nine to five on weekdays.\n\n"
        "## Leave\n\n{{< note >}}\n\nSwaps go in the shared calendar a week ahead.\n\n## Empty section\n"
    )
    chunks = chunk_document(_doc(text))
    assert all(c.display.strip() for c in chunks)
    assert [c.section for c in chunks] == ["Handbook › Paging › Hours", "Handbook › Leave"]
    assert chunks[1].text.startswith("## Leave")  # a template tag does not cut a heading from its text


def test_an_ordered_list_number_is_not_a_sentence() -> None:
    text = (
        "When the gateway crash-loops:\n\n1. **Check logs**: read the last hundred lines.\n"
        "1. Restart it. Then watch the p99.\n\n> 2. Quoted steps. Keep their text.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "When the gateway crash-loops:",
        "Check logs: read the last hundred lines.",
        "Restart it.",
        "Then watch the p99.",
        "Quoted steps.",
        "Keep their text.",
    ]
    assert [text[u.start : u.end] for u in structure.units][
        1
    ] == "**Check logs**: read the last hundred lines."


def test_task_list_boxes_are_not_in_answers() -> None:
    displays = [u.display for u in parse_markdown("- [ ] Rotate the token\n- [x] Update the sheet\n").units]
    assert displays == ["Rotate the token", "Update the sheet"]


def test_a_backslash_hard_break_ends_a_sentence_without_its_marker() -> None:
    text = "Escalate to the database team\\\nthen open a ticket.  \nClose it once resolved.\n"
    units = parse_markdown(text).units
    assert [u.display for u in units] == [
        "Escalate to the database team",
        "then open a ticket.",
        "Close it once resolved.",
    ]
    assert [text[u.start : u.end] for u in units] == [u.display for u in units]


def test_a_comment_inside_a_sentence_is_never_split_into_units() -> None:
    text = "Restart the gateway. <!-- Old note. Do not publish --> Then page the secondary.\n"
    for unit in parse_markdown(text).units:
        assert "publish" not in unit.display and "-->" not in unit.display


def test_a_leading_thematic_break_is_not_front_matter() -> None:
    text = "---\n\nThe rotation starts on Tuesday.\n\n---\n\nHandover is at ten.\n"
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == ["The rotation starts on Tuesday.", "Handover is at ten."]
    assert structure.title is None


def test_front_matter_without_a_final_newline_is_one_whole_block() -> None:
    text = "---\ntitle: Empty page\n---"
    structure = parse_markdown(text)
    assert structure.title == "Empty page"
    assert [(b.start, b.end, b.kind) for b in structure.blocks] == [(0, len(text), "boilerplate")]
    assert chunk_document(_doc(text)) == []


def test_mdx_imports_are_boilerplate() -> None:
    text = (
        "import Tabs from '@theme/Tabs';\nimport TabItem from '@theme/TabItem';\n\n"
        "# Install\n\nInstall the pager app from the internal store.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == ["Install the pager app from the internal store."]


def test_mdx_comments_are_never_shown() -> None:
    text = (
        "# Install\n\n{/* TODO: screenshots */}\n\n"
        "The default port is 3000. You can change it with the flag. {/* was 8080 */}\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "The default port is 3000.",
        "You can change it with the flag.",
    ]
    assert all("/*" not in v.display for v in structure.views)


MYST_PAGE = """---
myst:
  html_meta:
    description: Queue guide
---

(queue-guide)=
# Queues

% TODO: add a diagram

The queue holds 500 jobs. See {ref}`the limits <queue-limits>` and
{py:func}`~queue.api.set_limit` for how to change it.

```{note}
Restart the worker after changing the size; the new size applies
only to jobs enqueued after the restart.
```

:::{warning}
:class: dropdown

Never run two schedulers against one database.
:::

````{important}
Set the limit before starting:

```bash
queue set-limit 100
```
````

```{toctree}
:maxdepth: 2

install
```

```{code-block} python
:caption: limits.py

LIMIT = 500
```
"""


def test_myst_directives_are_read_for_what_they_hold() -> None:
    structure = parse_markdown(MYST_PAGE)
    displays = [u.display for u in structure.units]
    assert displays == [
        "The queue holds 500 jobs.",
        "See the limits and set_limit for how to change it.",
        "Restart the worker after changing the size; the new size applies only to jobs enqueued after the "
        "restart.",
        "Never run two schedulers against one database.",
        "Set the limit before starting:",
    ]
    code = [MYST_PAGE[b.start : b.end] for b in structure.blocks if b.kind == "code"]
    assert code == [
        "```bash\nqueue set-limit 100\n```",
        "```{code-block} python\n:caption: limits.py\n\nLIMIT = 500\n```",
    ]
    shown = " ".join(v.display for v in structure.views)
    for markup in ("(queue-guide)=", "TODO", "{ref}", ":class:", "{note}", "toctree", "maxdepth", "install"):
        assert markup not in shown
    assert structure.title == "Queues"
    # Braces inside a name or a code span are not a role.
    text = (
        "When the `CSIMigration{provider}` flag is set, the `pv-controller` finalizer is replaced. "
        "The path `/users/{user_id}` would match `/users/me`.\n"
    )
    assert [u.display for u in parse_markdown(text).units] == [
        "When the CSIMigration{provider} flag is set, the pv-controller finalizer is replaced.",
        "The path /users/{user_id} would match /users/me.",
    ]
    for unit in structure.units:  # spans of the verbatim file
        assert unit.display.split()[0].strip(":") in MYST_PAGE[unit.start : unit.end]


def test_a_shortcut_reference_link_shows_its_text_when_the_document_defines_it() -> None:
    text = (
        "# Publishing\n\n[GitHub Pages] is the most convenient host, see the [Setup Guide].\n"
        "If the page does not show up, please [open an issue]:\n\n"
        "Keep [the requesting agency] in brackets, and `items[0]` as written.\n\n"
        "| Host | Cost |\n| --- | --- |\n| [GitHub Pages] | free |\n\n"
        "  [GitHub Pages]: https://pages.github.com/\n"
        "  [setup  guide]: setup.md\n"
        "  [open an issue]: https://x.example/issues\n"
    )
    displays = [u.display for u in parse_markdown(text).units]
    assert displays == [
        "GitHub Pages is the most convenient host, see the Setup Guide.",
        "If the page does not show up, please open an issue:",
        "Keep [the requesting agency] in brackets, and items[0] as written.",
        "Host: GitHub Pages · Cost: free",
    ]


def test_scripts_and_style_sheets_are_not_text_and_extension_marks_show_their_words() -> None:
    text = (
        "# Colors\n\nClick a tile to change the ==color scheme==.\n\n"
        '<script>\n  var buttons = document.querySelectorAll("button")\n</script>\n\n'
        "<style>\n  .tile { color: red; }\n</style>\n\n"
        "Press ++ctrl+alt+del++ to ^^restart^^ in C++.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "Click a tile to change the color scheme.",
        "Press ctrl+alt+del to restart in C++.",
    ]
    assert not any("querySelectorAll" in v.display or "color: red" in v.display for v in structure.views)


def test_container_lines_are_not_shown_and_their_body_is_prose() -> None:
    text = "# Install\n\n:::note Before you start\nThe agent must run as root on Linux hosts.\n:::\n"
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == ["The agent must run as root on Linux hosts."]
    assert all(":::" not in v.display and "Before you start" not in v.display for v in structure.views)


def test_an_admonition_body_keeps_its_list_and_its_code() -> None:
    text = (
        '# Upgrade\n\n!!! warning "Before you upgrade"\n\n    Check these:\n\n'
        "    - the agent is stopped\n    - the disk has 2 GB free\n\n"
        "    ```bash\n    # stop it first\n    agent stop\n    ```\n\nThen run the installer.\n"
    )
    structure = parse_markdown(text)
    displays = [u.display for u in structure.units]
    assert "the agent is stopped" in displays and "the disk has 2 GB free" in displays
    assert not any("agent stop" in d or "stop it first" in d for d in displays)
    kinds = {text[b.start : b.end].strip().splitlines()[0]: b.kind for b in structure.blocks}
    assert kinds["```bash"] == "code"
    assert not any(b.kind == "heading" and "stop it first" in b.label for b in structure.blocks)
    assert any(v.display.startswith("• the agent is stopped") for v in structure.views)


def test_a_content_tab_label_is_a_minor_heading_over_its_body() -> None:
    text = (
        '# Token\n\n=== "Python 3.10+"\n\n    Set the token in the settings object.\n\n'
        "    ```python\n    settings.token = 'abc'\n    ```\n\n=== \"Shell\"\n\n    Export the token first.\n"
    )
    structure = parse_markdown(text)
    headings = [(b.level, b.label) for b in structure.blocks if b.kind == "heading"]
    assert headings == [(1, "Token"), (7, "Python 3.10+"), (7, "Shell")]
    assert [u.display for u in structure.units] == [
        "Set the token in the settings object.",
        "Export the token first.",
    ]
    assert all("===" not in v.display for v in structure.views)
    chunks = chunk_document(_doc(text, "Token"), structure=structure)
    assert any("Python 3.10+" in c.section and "settings object" in c.display for c in chunks)


def test_icon_shortcodes_and_key_value_attributes_are_not_shown() -> None:
    text = (
        "# Browsers\n\n| Browser | Version |\n|---|---|\n| :fontawesome-brands-chrome: Chrome | 49+ |\n\n"
        "Read the [release notes](notes.md){ target=_blank } before you upgrade.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "Browser: Chrome · Version: 49+",
        "Read the release notes before you upgrade.",
    ]


def test_a_tab_label_inside_a_list_item_is_not_a_sentence() -> None:
    text = (
        '1.  Compare the two outputs:\n\n    === "Now"\n\n        ```\n        a b\n        ```\n\n'
        '    === "Before"\n\n        ```\n        a  b\n        ```\n'
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == ["Compare the two outputs:"]


def test_footnote_markers_are_not_in_displays() -> None:
    text = "Pages repeat every five minutes[^1] until acknowledged.\n\n[^1]: Configurable per service.\n"
    assert [u.display for u in parse_markdown(text).units] == [
        "Pages repeat every five minutes until acknowledged.",
        "Configurable per service.",
    ]


def test_a_shortcode_written_over_several_lines_stays_out_of_the_text() -> None:
    text = (
        "# Dashboards\n\nThe latency board shows the p99 of every ingest route.\n\n"
        '{{< figure src="/img/latency.png"\n    alt="Latency board"\n    caption="Red. Page now."\n>}}\n\n'
        '{% include callout.html\n   - title="Heads up" %}\n\n'
        "Raise the error budget in the stand-up.\n"
    )
    structure = parse_markdown(text)
    assert [u.display for u in structure.units] == [
        "The latency board shows the p99 of every ingest route.",
        "Raise the error budget in the stand-up.",
    ]
    assert [b.kind for b in structure.blocks] == ["heading", "para", "boilerplate", "boilerplate", "para"]
    (chunk,) = chunk_document(_doc(text))
    assert chunk.display == "\n".join(u.display for u in structure.units)


def test_code_views_keep_their_code_in_quotes_and_with_template_tags() -> None:
    text = (
        "> ```bash\n> # restart\n> run --all\n> ```\n\n"
        '```yaml\nimage: {{ .Values.image\n  | default "x" }}\ntag: {% if a\n  %}x{% endif %}\n```\n'
    )
    structure = parse_markdown(text)
    assert [v.display for v in structure.views if v.code] == [
        "# restart\nrun --all",
        'image: {{ .Values.image\n  | default "x" }}\ntag: {% if a\n  %}x{% endif %}',
    ]
    assert structure.units == ()


def test_an_html_heading_is_a_heading() -> None:
    text = '<h2 id="paging">Paging <em>rules</em></h2>\n\nPage the secondary after ten minutes.\n'
    structure = parse_markdown(text)
    assert [(b.kind, b.level, b.label) for b in structure.blocks][0] == ("heading", 2, "Paging rules")
    assert [u.display for u in structure.units] == ["Page the secondary after ten minutes."]


def test_images_alone_are_shown_but_never_answer() -> None:
    text = "![Escalation path diagram](img/path.png)\n\n[![CI](https://ci/b.svg)](https://ci)\n"
    structure = parse_markdown(text)
    assert structure.units == ()
    assert [v.display for v in structure.views] == ["Escalation path diagram", "CI"]


def test_the_first_heading_is_the_title_without_front_matter() -> None:
    assert parse_markdown("**Intro**\n\nSetext title {#t}\n===\n\nText.\n").title == "Setext title"


# --- property test: generated Markdown keeps every invariant -----------------------------------

_WORDS = st.sampled_from(
    "the pager alert shift rotation engineer primary secondary gateway cluster SEV1 Orbit "
    "e.g. 7.4 30 minutes on-call (backup) API `kubectl` **urgent** _note_ [runbook](/rb) 🚀 café".split()
)
_PUNCT = st.sampled_from(["", "", "", ",", ";", ":", ".", "!", "?", "..."])


@st.composite
def _sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, min_size=1, max_size=14))
    words[0] = words[0].capitalize()
    inline = draw(
        st.sampled_from(
            [
                "",
                ' {{< glossary_tooltip text="Pods" term_id="pod" >}}',
                " <b>bold</b>",
                " <!-- hidden. Note -->",
                " {{ site.name }}",
            ]
        )
    )
    return " ".join(words) + inline + draw(st.sampled_from([".", "!", "?", ":", ""])) + draw(_PUNCT)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


@st.composite
def _paragraph(draw: st.DrawFn) -> str:
    sentences = draw(st.lists(_sentence(), min_size=1, max_size=4))
    text = _wrap(" ".join(sentences), draw(st.integers(20, 80)))
    return text.replace("\n", draw(st.sampled_from(["\n", "  \n", "\\\n", "<br>\n"])), 1)


@st.composite
def _heading(draw: st.DrawFn) -> str:
    words = " ".join(draw(st.lists(_WORDS, min_size=1, max_size=5)))
    anchor = draw(st.sampled_from(["", " {#anchor}", " {#x .y}"]))
    if draw(st.booleans()):
        return f"{'#' * draw(st.integers(1, 6))} {words}{anchor}"
    return f"{words}{anchor}\n{draw(st.sampled_from(['===', '---', '-----']))}"


@st.composite
def _list(draw: st.DrawFn) -> str:
    items = draw(st.lists(_sentence(), min_size=1, max_size=5))
    marker = draw(st.sampled_from(["-", "*", "1.", "- [ ]"]))
    lines = [f"{marker} {item}" for item in items]
    if draw(st.booleans()):
        lines.insert(1, f"  - {draw(_sentence())}")
    lead = f"{draw(_sentence()).rstrip('.!?:')}:\n\n" if draw(st.booleans()) else ""
    return lead + "\n".join(lines)


@st.composite
def _table(draw: st.DrawFn) -> str:
    cols = draw(st.integers(1, 4))
    header = draw(st.lists(_WORDS, min_size=cols, max_size=cols))
    rows = draw(st.lists(st.lists(_WORDS, min_size=cols, max_size=cols), min_size=0, max_size=4))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * cols]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


_FIXED = st.sampled_from(
    [
        "```bash\n# not a heading\nrun --all\n```",
        "~~~\n# neither\n~~~",
        "{{< note >}}\nShadow shifts are optional.\n{{< /note >}}",
        '{{% tab name="Linux" %}}',
        "{% include warning.html %}",
        "{* ../src/x.py *}",
        "/// note | Heads up\nDrain the node first.\n///",
        "!!! warning\n    Never skip the handover.",
        "!!! tip\n\n    Check these:\n\n    - the pager\n    - the rota\n\n"
        "    ```bash\n    # not a heading\n    page --test\n    ```",
        '=== "Linux"\n\n    ```\n    pager --on\n    ```\n\n=== "macOS"\n\n    Open the app.',
        ":::note Heads up\nDrain the node first.\n:::",
        "```{note}\n:class: tip\nDrain the node first.\n```",
        "````{important}\nCheck these:\n\n- the pager\n\n```bash\npage --test\n```\n````",
        ":::{warning}\n:name: w\n\nNever skip the handover.\n:::",
        "```{toctree}\n:maxdepth: 1\n\nintro\n```",
        "```{code-block} python\nx = 1\n```",
        "(oncall-target)=",
        "% a MyST comment",
        "See {ref}`the rota <rota>` first.",
        "{/* an MDX comment */}",
        "<!-- a comment.\nOn two lines. -->",
        "<table>\n<tr><th>Team</th><th>Contact</th></tr>\n<tr><td>DB</td><td>db@x</td></tr>\n</table>",
        "![diagram](img/d.png)",
        "**Bold heading**",
        "> Quoted advice. Follow it.",
        "---",
    ]
)
_FRONT_MATTER = st.sampled_from(["", "---\ntitle: Handbook\ntags: [a, b]\n---\n", '+++\ntitle = "H"\n+++\n'])
_BLOCK = st.one_of(_paragraph(), _heading(), _list(), _table(), _FIXED)


def _check_structure(text: str, structure: Structure) -> None:
    spans: list[Block | Unit] = [*structure.blocks, *structure.units, *structure.views]
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
    starts = [u.start for u in structure.units]
    assert starts == sorted(starts)
    for unit in structure.units:
        assert text[unit.start : unit.end].strip() and unit.display.strip()
        assert not re.fullmatch(r"\d{1,3}[.)]", unit.display)
        assert not unit.code
    for view in [*structure.units, *structure.views]:
        if not view.code:
            marks = ("{{<", "{%", "<!--", "{/*", "{ref}", "(oncall-target)=", ":class:", ":name:", "toctree")
            assert not any(mark in view.display for mark in marks)


@settings(max_examples=150, deadline=None)
@given(
    _FRONT_MATTER,
    st.lists(st.tuples(_BLOCK, st.sampled_from(["\n", "\n\n", "\n\n\n", "\n \n"])), max_size=12),
)
def test_generated_markdown_keeps_every_invariant(front_matter: str, blocks: list[tuple[str, str]]) -> None:
    text = front_matter + "".join(block + sep for block, sep in blocks)
    structure = parse_markdown(text)
    _check_structure(text, structure)
    for chunk in chunk_document(_doc(text), ChunkerConfig(min_words=5, max_words=40), structure=structure):
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.display.strip()
        for shown in (chunk.display, chunk.embed_text):
            assert not any(mark in shown for mark in ("{{<", "{%", "<!--"))


def test_plain_text_lines_of_a_paragraph_are_not_table_rows() -> None:
    # A block of three or more lines was read as a flattened table: its first line became a header
    # (never an answer) and every line a row, cut wherever the file was wrapped.
    one_a_line = (
        "The editor stored the snippet in the checklist.\n"
        "Reviewers flagged the snippet in March.\n"
        "The fix escaped every bracket."
    )
    wrapped = (
        "Unused leave carries over to the next year and\n"
        "expires on March 31. Requests for more than two\n"
        "weeks go to the head of the department."
    )
    table = "Feature Plan A Plan B\nPrice Ten dollars a month. Twenty dollars.\nSupport Email only. Phone."
    structure = plain_structure("\n\n".join(["Leave notes", one_a_line, wrapped, table]))
    assert [b.kind for b in structure.blocks] == ["heading", "para", "para", "table"]
    assert [u.display for u in structure.units] == [
        *one_a_line.split("\n"),
        "Unused leave carries over to the next year and expires on March 31.",
        "Requests for more than two weeks go to the head of the department.",
        *table.split("\n")[1:],  # a table's header row is context, never an answer
    ]


def test_plain_text_list_items_are_read_whole_and_apart() -> None:
    text = (
        "Kinds\n\n"
        "There are three kinds of hooks:\n"
        " * Explicit hooks.  These run when a program asks for them\n"
        "   by name, at any time.\n"
        " * File hooks.  These run when a matching file is\n"
        "   installed.\n"
        " * Future hooks.\n\n"
        "That is all."
    )
    assert [u.display for u in plain_structure(text).units] == [
        "There are three kinds of hooks:",
        "Explicit hooks.",
        "These run when a program asks for them by name, at any time.",
        "File hooks.",
        "These run when a matching file is installed.",
        "Future hooks.",
        "That is all.",
    ]
