"""`pml-policy analyze`: what no evidence can ever change about a policy set.

Per policy (within its `applies to` scope), the solver is asked, rule by rule: can it pass? can it
fail? can its `when` be true, and false? Then whether a rule adds anything to a stronger rule that
reads the same evidence, whether policies that apply to the same models can pass together, whether
each policy's `on pass` actions can ever run, and whether each waiver can ever apply.

A finding that something cannot happen is a proof; the witness beside it shows the other side
(how the rule fails, when it can never pass) and is evidence `check` decides that way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pml_policy.engine.loader import load_with_trees

from . import set_findings
from .encoding import encode_policy
from .findings import Analysis, Finding
from .rule_findings import rule_findings
from .solving import DEFAULT_BUDGET, DEFAULT_TIMEOUT, Solver
from .universe import Universe


def analyze(paths: Sequence[str | Path], timeout: float = DEFAULT_TIMEOUT, budget: float = DEFAULT_BUDGET) -> Analysis:
    """Every finding for the policy files under `paths` (PolicyError/UsageError on bad input)."""
    started = time.perf_counter()
    policies, trees = load_with_trees(paths)  # every parse and check error first, as `validate` reports them
    u = Universe([p.tree for p in policies.policies if p.tree is not None])
    encoded = [encode_policy(u, p.tree, p.source) for p in policies.policies if p.tree is not None]
    solver = Solver(u, timeout, budget)
    found: list[Finding] = []
    for p in encoded:
        found += rule_findings(solver, p, policies)
    waivers = [(w, tree.path) for tree in trees for w in tree.waivers]
    waived = {(w.target.policy, w.target.rule) for w, _ in waivers if w.target is not None}
    found += set_findings.redundant(solver, encoded, found, waived)
    found += set_findings.conflicts(solver, encoded, policies)
    found += set_findings.on_pass(solver, encoded, found)
    found += set_findings.waivers(waivers, policies)
    if solver.timeouts:
        found.append(set_findings.undecided(solver.timeouts, encoded))
    return Analysis(
        files=policies.files,
        policies=len(encoded),
        rules=sum(len(p.rules) for p in encoded),
        findings=found,
        unknown=solver.timeouts,
        seconds=round(time.perf_counter() - started, 3),
    )
