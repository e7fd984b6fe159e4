"""Markdown: a heading and a table per subject, for PR comments and CI job summaries."""

from __future__ import annotations

import re

from pml_policy.base.escaping import one_line
from pml_policy.engine.decision import Decision

from . import Options, shown_outcome

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️", "error": "🛑", "waived": "🛡️", "pending": "⏳"}


# CommonMark's backslash escapes, where a character could start or close markup: anywhere for links,
# images, emphasis, HTML, entities, autolinks (`:`, `//`, `.` but between digits), math, strike-through and a
# table cell's end; at the start for headings, lists, quotes and rules. `_` between letters or digits
# cannot emphasise and stays, as do `.` in numbers and `-` inside words: the text stays readable.
_ANYWHERE = re.compile(r"[\\`*\[\]<#!|~&:$]|(?<!\d)\.|\.(?!\d)|(?<=/)/|(?<![^\W_])_|_(?![^\W_])")
_AT_START = re.compile(r"^(\s*|\s*\d+(?=[.)]))([-+=>.)])")
# cmark-gfm links an e-mail address after parsing, escapes or not: a word joiner (invisible) after
# the @ leaves it no domain to link.
_NO_EMAIL = "@\u2060"


def text(value: str) -> str:
    """Evidence as Markdown text that renders as the text it is: one line, every character that
    could make a link, an image, emphasis, a heading, a list, HTML or a table cell's end
    backslash-escaped (GitHub, cmark-gfm and markdown-it-py then show it literally, autolink nothing)."""
    escaped = _ANYWHERE.sub(r"\\\g<0>", one_line(value))
    return _AT_START.sub(r"\1\\\2", escaped).replace("@", _NO_EMAIL)


def code(value: str) -> str:
    """Evidence as a code span: fenced by more backticks than it holds in a row, so it cannot
    close the span and write Markdown of its own."""
    ticks = "`" * (max((len(run) for run in re.findall("`+", value)), default=0) + 1)
    inner = one_line(value).replace("|", "\\|")
    pad = " " if inner.startswith("`") or inner.endswith("`") else ""
    return f"{ticks}{pad}{inner}{pad}{ticks}"


def render(decisions: list[Decision], options: Options) -> str:
    out = []
    for d in decisions:
        model = f"{code(d.subject.model)} v{text(d.subject.version or '')}" if d.subject.model else "no model name"
        out.append(f"### {ICON[d.outcome]} {d.outcome.upper()}: {code(d.subject.reference)} ({model})\n")
        out.append("| | rule | enforce | result |")
        out.append("|---|---|---|---|")
        for r in d.rules:
            out.append(f"| {ICON[shown_outcome(r)]} {r.outcome} | {code(r.ref)} | {r.enforce} | {text(r.message)} |")
        c = d.counts
        out.append(
            f"\n{c.passed} passed, {c.failed} failed, {c.errored} errors, {c.skipped} skipped, {c.waived} waived"
            + (f", {c.pending} pending" if c.pending else "")
            + ". "
            "Policies: " + ", ".join(f"{text(p.name)} {text(p.version)}" for p in d.policies) + "."
        )
        if d.actions:
            out.append(
                "\nPlanned actions (not applied): "
                + "; ".join(f"{a.kind} {code(a.name)}" + (f" = {code(a.value)}" if a.value else "") for a in d.actions)
            )
        if d.withheld:
            out.append(
                f"\nWithheld ({'the decision failed' if d.outcome == 'fail' else 'the decision is pending'}): "
                + "; ".join(f"{a.kind} {code(a.name)} (blocked by {code(a.blocked_by or '')})" for a in d.withheld)
            )
        out.append("")
    return "\n".join(out) + "\n"
