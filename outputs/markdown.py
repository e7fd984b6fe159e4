"""Markdown: a heading and a table per subject, for PR comments and CI job summaries."""

from __future__ import annotations

from pml_policy.engine.decision import Decision

from . import Options, shown_outcome

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️", "error": "🛑", "waived": "🛡️"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(decisions: list[Decision], options: Options) -> str:
    out = []
    for d in decisions:
        model = f"`{d.subject.model}` v{d.subject.version}" if d.subject.model else "no model name"
        out.append(f"### {ICON[d.outcome]} {d.outcome.upper()}: `{d.subject.reference}` ({model})\n")
        out.append("| | rule | enforce | result |")
        out.append("|---|---|---|---|")
        for r in d.rules:
            out.append(
                f"| {ICON[shown_outcome(r)]} {r.outcome} | `{_cell(r.ref)}` | {r.enforce} | {_cell(r.message)} |"
            )
        c = d.counts
        out.append(
            f"\n{c.passed} passed, {c.failed} failed, {c.errored} errors, {c.skipped} skipped, {c.waived} waived. "
            "Policies: " + ", ".join(f"{p.name} {p.version}" for p in d.policies) + "."
        )
        if d.actions:
            out.append(
                "\nPlanned actions (not applied): "
                + "; ".join(f"{a.kind} `{a.name}`" + (f" = `{a.value}`" if a.value else "") for a in d.actions)
            )
        if d.withheld:
            out.append(
                "\nWithheld (the decision failed): "
                + "; ".join(f"{a.kind} `{a.name}` (blocked by `{a.blocked_by}`)" for a in d.withheld)
            )
        out.append("")
    return "\n".join(out) + "\n"
