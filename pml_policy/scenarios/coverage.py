"""Rule coverage: for each rule of the loaded policies, did some scenario see it pass, and fail?

As `opa test --coverage` does for Rego, but counted in what a policy author cares about: a rule whose
failing side no scenario has seen is a threshold nobody has pinned down. Coverage is the share of
the 2 x rules outcomes seen: pass and fail, or for a sign-off rule pass and pending (it awaits
approval; it cannot fail), an outcome of its own; errors, skips and waivers are shown beside.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from pml_policy.engine import PolicySet, ast
from pml_policy.engine.decision import Decision

COUNTED = ("pass", "fail")
SIGN_OFF = ("pass", "pending")  # a sign-off rule's goals: it passes, or it awaits approval


class RuleCoverage(BaseModel):
    policy: str
    rule: str
    seen: dict[str, list[str]]  # outcome -> the scenarios that saw it
    goals: list[str] = list(COUNTED)  # the outcomes coverage asks to see: SIGN_OFF for a sign-off rule

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"

    @property
    def missing(self) -> list[str]:
        return [o for o in self.goals if not self.seen.get(o)]


class CoverageReport(BaseModel):
    """What `--coverage` prints, and writes as JSON with `--coverage-json`."""

    percent: float
    covered: int
    goals: int
    rules: list[RuleCoverage]


class Coverage:
    def __init__(self) -> None:
        self._rules: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._sign_offs: set[tuple[str, str]] = set()

    def know(self, policies: PolicySet) -> None:
        for p in policies.policies:
            for r in p.rules:
                self._rules.setdefault((p.name, r.id), defaultdict(set))
                if isinstance(r.require, ast.Approval):
                    self._sign_offs.add((p.name, r.id))

    def record(self, decision: Decision, scenario: str) -> None:
        for r in decision.rules:
            self._rules.setdefault((r.policy, r.rule), defaultdict(set))[r.outcome].add(scenario)

    def report(self) -> CoverageReport:
        rules = [
            RuleCoverage(
                policy=p,
                rule=r,
                seen={o: sorted(s) for o, s in seen.items() if s},
                goals=list(SIGN_OFF if (p, r) in self._sign_offs else COUNTED),
            )
            for (p, r), seen in sorted(self._rules.items())
        ]
        goals = sum(len(r.goals) for r in rules)
        covered = sum(len(r.goals) - len(r.missing) for r in rules)
        return CoverageReport(
            percent=round(100 * covered / goals, 1) if goals else 100.0, covered=covered, goals=goals, rules=rules
        )


def render(report: CoverageReport) -> str:
    """A table for people: each rule, whether it was seen passing and failing (a sign-off rule:
    pending), and by how many scenarios."""
    width = max((len(r.ref) for r in report.rules), default=10) + 2
    signs = any(r.goals == list(SIGN_OFF) for r in report.rules)
    out = [
        f"Rule coverage: {report.covered} of {report.goals} outcomes seen ({report.percent:g}%)",
        f"  {'rule':<{width}}{'pass':<10}{'fail':<10}" + (f"{'pending':<10}" if signs else "") + "also seen",
    ]
    for r in report.rules:
        columns = ["pass", "fail", "pending"] if signs else ["pass", "fail"]
        cells = [_cell(r.seen.get(o)) if o in r.goals else "-" for o in columns]
        other = ", ".join(f"{o} ({len(s)})" for o, s in r.seen.items() if o not in columns)
        out.append((f"  {r.ref:<{width}}" + "".join(f"{c:<10}" for c in cells) + other).rstrip())
    gaps = [f"{r.ref} never seen to {' or '.join(r.missing)}" for r in report.rules if r.missing]
    if gaps:
        out.append("Not yet exercised:")
        out.extend(f"  {g}" for g in gaps)
    return "\n".join(out) + "\n"


def _cell(scenarios: list[str] | None) -> str:
    return f"yes ({len(scenarios)})" if scenarios else "NO"
