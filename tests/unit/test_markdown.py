"""Evidence in Markdown renders as the text it is: no link, image, emphasis, heading, list or HTML,
whatever it holds, in GitHub's renderer (cmark-gfm) and in markdown-it-py's GFM-like one (linkify on)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.outputs.markdown import code, text

from ..helpers import run_cli
from ..support.markdown import markup_in, plain, rendered

PIECES = [
    "https://",
    "http://",
    "ftp:",
    "mailto:",
    "www.",
    "evil.example",
    "evil.com",
    "a@evil.com",
    "//",
    "[x]",
    "(y)",
    "![",
    "](",
    "<img src=x>",
    "<script>",
    "&lt;",
    "&#64;",
    "**",
    "__",
    "_",
    "*",
    "~~",
    "~",
    "`",
    "$",
    "#",
    "# ",
    "1. ",
    "1) ",
    "- ",
    "+ ",
    "> ",
    "===",
    "---",
    "|",
    "\\",
    " ",
    "   ",
    "\t",
    "0.5",
    "a",
    "Z",
    "9",
    "\n",
    "é",
]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=16).map("".join)


@given(HOSTILE)
def test_text_renders_no_markup_alone_or_in_a_table_cell(value):
    for source in (text(value), f"| a | b |\n|---|---|\n| {text(value)} | {code(value)} |"):
        for renderer, html in rendered(source).items():
            assert not markup_in(html), (renderer, value, source, html)


@pytest.mark.parametrize(
    "value",
    ["[x](https://evil.example)", "![](https://evil.example/p.png)", "see https://evil.example", "a@evil.com"],
)
def test_the_reader_sees_the_evidence_as_written(value):
    assert plain(text(value)).strip().replace("\u2060", "") == value


def test_markdown_and_md_name_the_same_format_in_every_command():
    assert run_cli("check", "examples/credit-warn", "-p", "policies/starter").exit_code == 0  # recorded
    for fmt in ("markdown", "md"):
        out = run_cli("check", "examples/credit-warn", "-p", "policies/starter", "--no-audit", "-f", fmt)
        assert out.stdout.startswith("### ⚠️ WARN"), out.output
        impact = run_cli("impact", "-p", "policies/starter", "--format", fmt)
        assert impact.stdout.startswith("### Policy impact"), impact.output
        report = run_cli("report", "--period", "last-7d", "--format", fmt)
        assert report.stdout.startswith("## Model governance report"), report.output


def test_github_annotations_escape_as_the_workflow_command_syntax_says():
    from pml_policy.outputs.github import _data, _prop

    assert _data("100% sure\r\nnext line") == "100%25 sure%0D%0Anext line"
    assert _prop("a:b,c%") == "a%3Ab%2Cc%25"
