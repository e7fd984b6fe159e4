"""Output formats for decisions: one module each, chosen by name (conftest's `output.Get`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads FORMATS for --help: keep this module light
    from pml_policy.engine.decision import Decision, RuleResult

FORMATS = {
    "text": "for people at a terminal: one line per rule, then a summary",
    "json": "the decisions, schema pml-policy/check (printed by `pml-policy schema`)",
    "junit": "JUnit XML: a test case per rule, for CI test reports",
    "sarif": "SARIF 2.1.0: failures located at the rule in its policy file, for code scanning",
    "github": "GitHub Actions workflow commands: annotations on the policy files",
    "markdown": "a table per subject, for a pull-request comment or a job summary",
}
_MODULES = {
    "text": "text",
    "json": "json_out",
    "junit": "junit",
    "sarif": "sarif",
    "github": "github",
    "markdown": "markdown",
}


@dataclass
class Options:
    color: bool = False
    audit_note: str | None = None  # one line for people: where the decisions were recorded, or that they were not
    audit: dict | None = None  # the same for machines: {"recorded", "store", "records": [{decision, seq, hash}]}
    titles: dict[str, str] = field(default_factory=dict)  # policy name -> its title, for SARIF's rule help
    seconds: list[float] = field(default_factory=list)  # each decision's evaluation time, for JUnit's `time`


Renderer = Callable[[list["Decision"], Options], str]


def shown_outcome(r: RuleResult) -> str:
    """A rule's outcome as people read it: an advisory failure (or awaited approval) is a warning:
    it does not block the gate."""
    return "warn" if r.outcome in ("fail", "pending") and r.enforce == "advisory" else r.outcome


def severity(r: RuleResult) -> str:
    """How serious a rule that did not pass is, for annotations: error (it fails the gate),
    note (a waiver covered it) or warning (advisory, or an approval awaited: it blocks the gate
    until someone signs off, but nothing is wrong with the model)."""
    if r.blocking:
        return "error"
    return "note" if r.outcome == "waived" else "warning"


def get(name: str) -> Renderer:
    """The render function of a format: render(decisions, options) -> text."""
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").render
