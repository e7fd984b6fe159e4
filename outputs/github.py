"""GitHub Actions workflow commands: an annotation per rule that did not pass, on the policy file."""
from __future__ import annotations

from pml_policy.engine.decision import Decision

from . import Options, severity

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}  # GitHub's words


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


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
                lines.append(f"::{command} file={_prop(p.source)},line={r.line or 1},title={_prop(r.ref)}::{_data(d.subject.reference + ': ' + r.message)}")
        lines.append(f"::notice title={_prop('pml-policy ' + d.outcome)}::{_data(f'{d.subject.reference}: {d.outcome} ({d.counts.passed} passed, {d.counts.failed} failed, {d.counts.errored} errors)')}")
    return "\n".join(lines) + "\n"
