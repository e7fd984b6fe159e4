"""Rule coverage: for each rule of the loaded policies, did some scenario see it pass, and fail?

As `opa test --coverage` does for Rego, but counted in what a policy author cares about: a rule whose
failing side no scenario has seen is a threshold nobody has pinned down. Coverage is the share of
the 2 x rules outcomes (pass, fail) seen; errors, skips and waivers are shown beside, not counted.
A sign-off rule's unmet side is `pending` (it awaits approval; it cannot fail), counted as its fail.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from pml_policy.engine import PolicySet
from pml_policy.engine.decision import Decision

COUNTED = ("pass", "fail")


class RuleCoverage(BaseModel):
    policy: str
    rule: str
    seen: dict[str, list[str]]  # outcome -> the scenarios that saw it

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"

    @property
    def missing(self) -> list[str]:
        return [o for o in COUNTED if not self.seen.get(o) and not (o == "fail" and self.seen.get("pending"))]


class CoverageReport(BaseModel):
    """What `--coverage` prints, and writes as JSON with `--coverage-json`."""

    percent: float
    covered: int
    goals: int
    rules: list[RuleCoverage]


class Coverage:
    def __init__(self) -> None:
        self._rules: dict[tuple[str, str], dict[str, set[str]]] = {}

    def know(self, policies: PolicySet) -> None:
        for p in policies.policies:
            for r in p.rules:
                self._rules.setdefault((p.name, r.id), defaultdict(set))

    def record(self, decision: Decision, scenario: str) -> None:
        for r in decision.rules:
            self._rules.setdefault((r.policy, r.rule), defaultdict(set))[r.outcome].add(scenario)

    def report(self) -> CoverageReport:
        rules = [
            RuleCoverage(policy=p, rule=r, seen={o: sorted(s) for o, s in seen.items() if s})
            for (p, r), seen in sorted(self._rules.items())
        ]
        goals = len(rules) * len(COUNTED)
        covered = sum(len(COUNTED) - len(r.missing) for r in rules)
        return CoverageReport(
            percent=round(100 * covered / goals, 1) if goals else 100.0, covered=covered, goals=goals, rules=rules
        )


def render(report: CoverageReport) -> str:
    """A table for people: each rule, whether it was seen passing and failing, and by how many scenarios."""
    width = max((len(r.ref) for r in report.rules), default=10) + 2
    out = [
        f"Rule coverage: {report.covered} of {report.goals} outcomes seen ({report.percent:g}%)",
        f"  {'rule':<{width}}{'pass':<10}{'fail':<10}also seen",
    ]
    for r in report.rules:
        unmet = r.seen.get("fail") or r.seen.get("pending")  # a sign-off rule's unmet side is pending
        cells = [_cell(r.seen.get("pass")), _cell(unmet)]
        other = ", ".join(f"{o} ({len(s)})" for o, s in r.seen.items() if o not in COUNTED)
        out.append(f"  {r.ref:<{width}}{cells[0]:<10}{cells[1]:<10}{other}".rstrip())
    gaps = [f"{r.ref} never seen to {' or '.join(r.missing)}" for r in report.rules if r.missing]
    if gaps:
        out.append("Not yet exercised:")
        out.extend(f"  {g}" for g in gaps)
    return "\n".join(out) + "\n"


def _cell(scenarios: list[str] | None) -> str:
    return f"yes ({len(scenarios)})" if scenarios else "NO"
