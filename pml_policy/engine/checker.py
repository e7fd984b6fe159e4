"""Semantic checks on parsed files: every error collected, located, with a hint where one helps.

Runs to completion before anything is evaluated (OPA's compiler does the same), so the evaluator
can trust a checked tree and never re-validate in its hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pml_policy.base.identities import identity

from . import ast
from .diagnostics import Diagnostic, did_you_mean, line_of
from .functions import FUNCTIONS
from .names import FIELDS, LEVELS, ROOTS, SUBJECT_ROOTS
from .patterns import PatternError, compile_pattern
from .signoffs import member_key_bytes

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class _Checker:
    def __init__(self, file: ast.PolicyFile, text: str) -> None:
        self.file = file
        self.text = text
        self.errors: list[Diagnostic] = []

    def error(self, loc: ast.Loc | None, message: str, hint: str | None = None) -> None:
        line, column = (loc.line, loc.column) if loc else (1, 1)
        width = (loc.end_column - loc.column) if loc and loc.end_line == loc.line else 1
        self.errors.append(Diagnostic(self.file.path, line, column, message, line_of(self.text, line), hint, width))

    def policy(self, p: ast.Policy) -> None:
        if not SEMVER.match(p.version):
            self.error(
                p.loc,
                f'policy "{p.name}": version "{p.version}" is not a semantic version',
                'write MAJOR.MINOR.PATCH, e.g. "1.0.0"',
            )
        if not p.name.strip():
            self.error(p.loc, "a policy needs a non-empty name")
        facts = self._facts(p)
        seen: dict[str, ast.Rule] = {}
        for r in p.rules:
            if r.id in seen:
                self.error(
                    r.loc,
                    f'rule id "{r.id}" is used twice in policy "{p.name}"',
                    f"the first is on line {seen[r.id].line}; rule ids must be unique",
                )
            seen.setdefault(r.id, r)
            if r.enforce and r.enforce.level not in LEVELS:
                self.error(
                    r.enforce.loc,
                    f'unknown enforcement level "{r.enforce.level}"',
                    did_you_mean(r.enforce.level, LEVELS) or "use advisory, soft or hard",
                )
            if r.require is None:
                self.error(r.loc, f'rule "{r.id}" has no require', "add: require EXPRESSION")
            for cond in (r.when, r.require):
                if cond:
                    self.expr(cond.expr, facts)
        if p.rank:
            self.expr(p.rank.expr, facts)
        for block in (p.on_pass, p.on_fail, p.on_pending):
            for action in block.actions if block else ():
                if isinstance(action, (ast.SetAlias, ast.RevertAlias)) and not action.alias.strip():
                    self.error(action.loc, "an alias name cannot be empty")
                if isinstance(action, ast.RevertAlias) and block is not p.on_fail:
                    self.error(
                        action.loc,
                        f"revert alias belongs in `on fail`, not `on {block.outcome if block else ''}`",
                        "it moves the alias off a version that no longer holds",
                    )
                if isinstance(action, ast.SetTag) and not action.key.strip():
                    self.error(action.loc, "a tag key cannot be empty")
        for clause, pattern in ((c, t) for c in p.operational for t in c.patterns if not t.strip("*? ")):
            self.error(clause.loc, f'operational tags "{pattern}" would unbind every tag', 'name some: "deploy.*"')

    def _facts(self, p: ast.Policy) -> set[str]:
        names: dict[str, ast.Fact] = {}
        for f in p.facts:
            if f.name in names:
                self.error(f.loc, f'fact "{f.name}" is defined twice', f"the first is on line {names[f.name].line}")
            elif f.name in ROOTS:
                self.error(f.loc, f'"{f.name}" is a subject path; a fact needs another name')
            else:
                names[f.name] = f
        for f in p.facts:
            self.expr(f.expr, set(names))
        self._cycles(names)
        return set(names)

    def _cycles(self, facts: dict[str, ast.Fact]) -> None:
        deps = {name: {r for r in roots(f.expr) if r in facts} for name, f in facts.items()}
        state: dict[str, int] = {}  # 1 on the stack, 2 done

        def visit(name: str, stack: list[str]) -> None:
            state[name] = 1
            for dep in sorted(deps[name]):
                if state.get(dep) == 1:
                    cycle = stack[stack.index(dep) :] + [dep]
                    self.error(
                        facts[dep].loc,
                        "facts depend on each other in a cycle: " + " -> ".join(cycle),
                        "break the cycle: a fact may only use facts that do not use it",
                    )
                elif dep not in state:
                    visit(dep, stack + [dep])
            state[name] = 2

        for name in facts:
            if name not in state:
                visit(name, [name])

    def expr(self, node: ast.Expr, facts: set[str]) -> None:
        for n in walk(node):
            if isinstance(n, ast.Binary):
                self.time_kinds(n)
            if isinstance(n, ast.Path):
                self.path(n, facts)
            elif isinstance(n, ast.Call):
                self.call(n)
            elif isinstance(n, ast.Matches):
                try:
                    compile_pattern(n.pattern)
                except PatternError as exc:
                    self.error(n.loc, f'invalid regular expression "{n.pattern}": {exc}')
            elif isinstance(n, ast.Quantifier) and not n.glob:
                self.error(
                    n.loc, "a quantifier needs a metric name pattern", 'e.g. all metrics matching "val_auc_*" >= 0.75'
                )

    def time_kinds(self, n: ast.Binary) -> None:
        """A duration written where a number is meant, or the reverse (1.1): `age(x) <= 90` forgets
        the unit. Only literals and age()/now are known before evaluation; the rest is checked then."""
        kinds = sorted(k for k in {time_kind(n.left), time_kind(n.right)} if k is not None)
        comparing = n.op in ("==", "!=", "<", "<=", ">", ">=")
        if kinds == ["duration", "number"] and (comparing or n.op in ("+", "-")):
            self.error(
                n.loc, f"'{n.op}' between a duration and a number", "give the number a unit: 90d, 12h, 15m, 30s, 2w"
            )
        elif kinds == ["duration", "time"] and comparing:
            self.error(
                n.loc,
                f"'{n.op}' between a duration and a point in time",
                "compare a duration with a duration (age(x) <= 30d), or a date with a date",
            )

    def path(self, n: ast.Path, facts: set[str]) -> None:
        root, rest = n.parts[0], n.parts[1:]
        if root in facts:
            return
        if root == "now" and rest:
            self.error(n.loc, '"now" has no fields', "now is the time of the decision; age(x) is now minus x")
            return
        if root not in ROOTS:
            known = (*ROOTS, *sorted(facts))
            self.error(
                n.loc,
                f'unknown name "{root}"',
                did_you_mean(root, known) or f"a path starts with one of: {', '.join(known)}",
            )
            return
        if root == "champion":
            if not rest:
                return
            root, rest = rest[0], rest[1:]
            if root not in SUBJECT_ROOTS:
                self.error(
                    n.loc,
                    f'unknown champion path "champion.{root}"',
                    did_you_mean(root, SUBJECT_ROOTS) or f"champion. is followed by one of: {', '.join(SUBJECT_ROOTS)}",
                )
                return
        if root in FIELDS and rest:
            if rest[0] not in FIELDS[root]:
                self.error(
                    n.loc,
                    f'unknown field "{root}.{rest[0]}"',
                    did_you_mean(rest[0], FIELDS[root]) or f"{root} has: {', '.join(FIELDS[root])}",
                )
            elif len(rest) > 1:
                self.error(n.loc, f'"{root}.{rest[0]}" has no fields')
        elif root in ("metrics", "params", "tags") and len(rest) != 1:
            self.error(n.loc, f'{root} needs exactly one name after it: {root}.NAME or {root}["a.b"]')

    def approval(self, n: ast.Approval, roles: dict[str, int]) -> None:
        """`approved by N of "ROLE"`: ROLE declared (in any file), 1 <= N <= its members."""
        if n.role not in roles:
            self.error(
                n.loc,
                f'no role "{n.role}" is declared',
                did_you_mean(n.role, roles) or f'declare it in a policy file: role "{n.role}" {{ members [...] }}',
            )
        elif n.count < 1:
            self.error(n.loc, "an approval needs at least 1 approver", f'write: approved by "{n.role}"')
        elif n.count > roles[n.role] > 0:
            self.error(
                n.loc,
                f'approved by {n.count} of "{n.role}" asks for more approvers than the role has ({roles[n.role]})',
                "add members to the role, or ask for fewer",
            )

    def call(self, n: ast.Call) -> None:
        if n.name not in FUNCTIONS:
            self.error(
                n.name_loc or n.loc,
                f'unknown function "{n.name}"',
                did_you_mean(n.name, FUNCTIONS) or f"the functions are: {', '.join(FUNCTIONS)}",
            )
            return
        low, high, _ = FUNCTIONS[n.name]
        count = len(n.args)
        if count < low or (high is not None and count > high):
            want = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            self.error(n.loc, f"{n.name}() takes {want} argument{'s' if want != '1' else ''}, got {count}")


def time_kind(node: ast.Expr) -> str | None:
    """What a node is known to be before evaluation, for time: a duration, a point in time, a number."""
    if isinstance(node, ast.Duration) or (isinstance(node, ast.Call) and node.name == "age"):
        return "duration"
    if isinstance(node, ast.Date) or (isinstance(node, ast.Path) and node.parts == ["now"]):
        return "time"
    if isinstance(node, ast.Number):
        return "number"
    return None


def walk(node: ast.Expr) -> Iterator[ast.Expr]:
    """Every expression node under (and including) node."""
    yield node
    for child in _operands(node):
        yield from walk(child)


def _operands(node: ast.Expr) -> list[ast.Expr]:
    match node:
        case ast.Binary():
            return [node.left, node.right]
        case ast.Unary() | ast.Presence() | ast.Matches():
            return [node.operand]
        case ast.Quantifier():
            return [node.right]
        case ast.Call():
            return list(node.args)
        case ast.ListLit():
            return list(node.items)
    return []


def roots(node: ast.Expr) -> set[str]:
    return {n.parts[0] for n in walk(node) if isinstance(n, ast.Path)}


def reads_artifacts(policy: ast.Policy) -> bool:
    """Whether any expression of the policy reads artifacts: an adapter that must make a request
    per run to list them (MLflow) can skip that when none does."""
    reads = any(isinstance(n, ast.Artifact) for n in _nodes(policy))
    return reads or _reads(policy, "artifacts") or reads_card(policy)  # a card is an archived file


def reads_card(policy: ast.Policy) -> bool:
    """Whether the policy reads `card.…`: only then is a registry's model card downloaded."""
    return _reads(policy, "card")


def reads_monitoring(policy: ast.Policy) -> bool:
    """Whether the policy reads `monitoring.…`: only then is a monitoring report looked for."""
    return _reads(policy, "monitoring")


def _reads(policy: ast.Policy, root: str) -> bool:
    return any(
        isinstance(n, ast.Path) and (n.parts[0] == root or n.parts[:2] == ["champion", root]) for n in _nodes(policy)
    )


def _nodes(policy: ast.Policy) -> Iterator[ast.Expr]:
    exprs = [f.expr for f in policy.facts] + [
        c.expr for r in policy.rules for c in (r.when, r.require) if c is not None
    ]
    if policy.rank:
        exprs.append(policy.rank.expr)
    for e in exprs:
        yield from walk(e)


def check_file(file: ast.PolicyFile, text: str) -> list[Diagnostic]:
    """Every semantic error of one file that can be found without the other files."""
    c = _Checker(file, text)
    for p in file.policies:
        c.policy(p)
    for w in file.waivers:
        for item, what in (
            (w.target, 'policy "NAME" rule RULE'),
            (w.model, 'model "NAME" version N'),
            (w.reason, 'reason "…"'),
            (w.approved, 'approved by "…"'),
            (w.expires, "expires YYYY-MM-DD"),
        ):
            if item is None:
                c.error(
                    w.loc,
                    f'waiver "{w.id}" is missing: {what}',
                    "a waiver must name its policy and rule, model and version, reason, approver and expiry",
                )
    return c.errors


def check_set(files: list[tuple[ast.PolicyFile, str]]) -> list[Diagnostic]:
    """Checks across files: waivers name real policies and rules; names and versions are unique."""
    errors: list[Diagnostic] = []
    policies: dict[str, tuple[ast.Policy, ast.PolicyFile]] = {}
    for file, text in files:
        c = _Checker(file, text)
        for p in file.policies:
            if p.name in policies:
                other, other_file = policies[p.name]
                c.error(
                    p.loc,
                    f'policy "{p.name}" is defined twice (versions {other.version} and {p.version})',
                    f"the other is at {other_file.path}:{other.line}; load one version at a time",
                )
            policies.setdefault(p.name, (p, file))
        errors.extend(c.errors)
    waiver_ids: dict[str, str] = {}
    for file, text in files:
        c = _Checker(file, text)
        for w in file.waivers:
            if w.id in waiver_ids:
                c.error(w.loc, f'waiver "{w.id}" is defined twice', f"the other is in {waiver_ids[w.id]}")
            waiver_ids.setdefault(w.id, f"{file.path}:{w.line}")
            if w.target is None:
                continue
            if w.target.policy not in policies:
                c.error(
                    w.target.loc,
                    f'waiver "{w.id}" names policy "{w.target.policy}", which does not exist',
                    did_you_mean(w.target.policy, policies),
                )
                continue
            rule_ids = [r.id for r in policies[w.target.policy][0].rules]
            if w.target.rule not in rule_ids:
                c.error(
                    w.target.loc,
                    f'waiver "{w.id}" names rule "{w.target.rule}", which policy "{w.target.policy}" does not have',
                    did_you_mean(w.target.rule, rule_ids),
                )
        errors.extend(c.errors)
    errors.extend(_check_roles(files))
    return errors


def _check_roles(files: list[tuple[ast.PolicyFile, str]]) -> list[Diagnostic]:
    """Roles (1.1): each declared once, with members; each `approved by [N of] "ROLE"` names a
    declared role and asks for at least one and at most as many approvers as it has."""
    errors: list[Diagnostic] = []
    roles: dict[str, tuple[ast.Role, str]] = {}
    for file, text in files:
        c = _Checker(file, text)
        for r in file.roles:
            if r.name in roles:
                c.error(r.loc, f'role "{r.name}" is declared twice', f"the other is at {roles[r.name][1]}")
                continue
            roles[r.name] = (r, f"{file.path}:{r.line}")
            emails = [identity(e) for e in (r.members.emails if r.members else [])]
            if not emails:
                c.error(r.loc, f'role "{r.name}" has no members', 'add: members ["name@example.com"]')
            for email in sorted({e for e in emails if emails.count(e) > 1}):
                c.error(r.members.loc if r.members else r.loc, f'role "{r.name}" lists "{email}" twice')
            for email, key in (r.members.keys if r.members else {}).items():
                if not member_key_bytes(key):
                    c.error(
                        r.members.loc if r.members else r.loc,
                        f'role "{r.name}": the key of "{email}" is not an Ed25519 public key',
                        "write it as `pml-policy audit keygen` prints it: ed25519:BASE64 (32 bytes)",
                    )
        errors.extend(c.errors)
    for file, text in files:
        c = _Checker(file, text)
        for p in file.policies:
            for rule in p.rules:
                node = rule.require.expr if rule.require else None
                if isinstance(node, ast.Approval):
                    members = {
                        name: {identity(e) for e in (r.members.emails if r.members else [])}
                        for name, (r, _) in roles.items()
                    }
                    c.approval(node, {name: len(found) for name, found in members.items()})
        errors.extend(c.errors)
    return errors
