"""What `pml-policy analyze` reports: findings, each located, with a witness or why there is none,
and the analysis as a whole (its exit code). The questions are asked in rule_findings.py (one rule
at a time) and set_findings.py (across rules, policies and waivers); analyzing.py runs them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pml_policy.engine import ast
from pml_policy.engine.formatter import expr_text

from .outcomes import PolicySym
from .witnesses import Outcomes

Severity = Literal["error", "warning", "note"]
Kind = Literal[
    "unsatisfiable",
    "never_fails",
    "when_never",
    "when_always",
    "redundant",
    "conflict",
    "on_pass_unreachable",
    "waiver_unreachable",
    "waiver_hard",
    "unknown",
]
ANALYSIS_SCHEMA_VERSION = 1


class Place(BaseModel):
    policy: str
    rule: str | None = None
    file: str
    line: int
    column: int = 1


class Finding(BaseModel):
    kind: Kind
    severity: Severity
    place: Place
    message: str = Field(description="One line: what is true of every subject.")
    witness: str | None = Field(default=None, description="YAML evidence on which `check` decides as `shows` says.")
    shows: str | None = Field(default=None, description="What the witness shows.")
    no_witness: str | None = Field(default=None, description="Why no witness is shown.")
    assumes: list[str] = Field(default_factory=list, description="What the analysis left unmodelled here.")
    related: list[Place] = Field(default_factory=list)


class Analysis(BaseModel):
    schema_: str = Field(default="pml-policy/analysis", alias="schema")
    schema_version: int = ANALYSIS_SCHEMA_VERSION
    files: list[str]
    policies: int
    rules: int
    findings: list[Finding]
    unknown: int = Field(description="Queries the solver could not decide within the time-out.")
    seconds: float

    model_config = {"populate_by_name": True}

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def exit_code(self, fail_on: Literal["error", "warn"] = "error") -> int:
        if self.count("error") or (fail_on == "warn" and self.count("warning")):
            return 1
        return 0


def place(p: PolicySym, rule: ast.Rule | None = None, node: ast.Node | None = None) -> Place:
    at = (node or rule or p.tree).loc
    return Place(
        policy=p.name,
        rule=rule.id if rule else None,
        file=p.source,
        line=at.line if at else 1,
        column=at.column if at else 1,
    )


def why_none(assumes: set[str], decided: list[Outcomes] | None) -> str:
    if assumes:
        return "it depends on what the analysis does not model: " + "; ".join(sorted(assumes))
    if decided is None:
        return "no subject decides it that way (proved)"
    return "the nearest evidence found is decided otherwise by the engine (a floating-point boundary)"


def scope_of(p: PolicySym) -> str:
    scopes = [f"{a.scope} {a.pattern}" for a in p.tree.applies]
    return f" (for {' and '.join(scopes)})" if scopes else ""


def text(node: ast.Expr) -> str:
    return expr_text(node)
