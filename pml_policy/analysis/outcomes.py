"""What a rule and a policy decide, over every subject at once: the formulas the findings and the
semantic diff ask the solver about (built by encoding.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from pml_policy.engine import ast

BLOCKING = ("hard", "soft")


@dataclass
class RuleSym:
    """A rule's outcome over every subject (before waivers): exactly one of these holds."""

    policy: str
    rule: ast.Rule
    passed: z3.BoolRef
    failed: z3.BoolRef  # failed, or pending for a sign-off rule
    skipped: z3.BoolRef
    errored: z3.BoolRef
    when_true: z3.BoolRef
    when_false: z3.BoolRef
    assumes: set[str] = field(default_factory=set)
    realize: list[z3.BoolRef] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def level(self) -> str:
        return self.rule.level

    @property
    def blocks(self) -> z3.BoolRef:
        """It stops the policy from passing (failed, errored or pending), waivers apart."""
        return z3.Or(self.failed, self.errored)

    def outcome(self, name: str) -> z3.BoolRef:
        return {"pass": self.passed, "fail": self.failed, "skip": self.skipped, "error": self.errored}[name]


@dataclass
class PolicySym:
    tree: ast.Policy
    source: str
    applies: z3.BoolRef
    rules: list[RuleSym]

    @property
    def name(self) -> str:
        return self.tree.name

    @property
    def passes(self) -> z3.BoolRef:
        """Pass or warn: no hard or soft rule failed, errored or awaits approval (waivers apart)."""
        return z3.And([z3.Not(r.blocks) for r in self.rules if r.level in BLOCKING])

    @property
    def assumes(self) -> set[str]:
        return {a for r in self.rules for a in r.assumes}

    @property
    def realize(self) -> list[z3.BoolRef]:
        return [c for r in self.rules for c in r.realize]
