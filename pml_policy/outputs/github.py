"""GitHub Actions workflow commands: an annotation per rule that did not pass, on the policy file."""

from __future__ import annotations

from pml_policy.base.escaping import one_line
from pml_policy.engine.decision import Decision

from . import Options, severity

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}  # GitHub's words


def _data(text: str) -> str:
    """A command's message as the workflow-command syntax escapes it (`%`, CR and LF as %25, %0D,
    %0A: GitHub shows the line breaks), other control characters escaped: nothing in it can end
    the line and start a command of its own."""
    return one_line(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(decisions: list[Decision], options: Options) -> str:
    lines = []
    for d in decisions:
        for p in d.policies:
            for r in p.rules:
                if r.outcome in ("pass", "skip"):
                    continue
                command = _COMMAND[severity(r)]
                where = f"file={_prop(p.source)},line={r.line or 1},title={_prop(r.ref)}"
                lines.append(f"::{command} {where}::{_data(d.subject.reference + ': ' + r.message)}")
        c = d.counts
        summary = f"{d.subject.reference}: {d.outcome} ({c.passed} passed, {c.failed} failed, {c.errored} errors)"
        lines.append(f"::notice title={_prop('pml-policy ' + d.outcome)}::{_data(summary)}")
    return "\n".join(lines) + "\n"
