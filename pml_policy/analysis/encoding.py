"""Expressions, rules and policies as z3 formulas over a Universe, following the compiled engine
(engine/compiler.py, engine/rules.py) construct by construct.

What the analysis does not model becomes an unknown value (Universe.unknown) and the rule records
an assumption ("drifted() is not modelled"): a proof that holds for every value of the unknown
holds for the real one; a witness that needs a particular value of it cannot be built.
"""

from __future__ import annotations

import calendar

import z3

from pml_policy.engine import ast
from pml_policy.engine.environment import is_param
from pml_policy.engine.formatter import expr_text

from . import regexes
from .outcomes import PolicySym, RuleSym
from .symbolic import (
    BOOL,
    FALSE,
    LIST,
    NUM,
    REC,
    STR,
    TRUE,
    Sym,
    arith,
    as_flag,
    as_time,
    boolean,
    compare,
    duration,
    equal_in,
    logic,
    negation,
    number,
    numeric,
    result,
    sequence,
    string,
    then,
    timestamp,
)
from .universe import ABSENT, VALUE, Universe


class Encoder:
    """One policy's expressions; facts are encoded once and shared by the rules that read them."""

    def __init__(self, universe: Universe, policy: ast.Policy) -> None:
        self.u = universe
        self.facts = {f.name: f for f in policy.facts}
        self.fact_syms: dict[str, Sym] = {}
        self.fact_notes: dict[str, tuple[set[str], list[z3.BoolRef]]] = {}
        self.assumes: set[str] = set()  # what the rule being encoded assumes
        self.realize: list[z3.BoolRef] = []  # what a witness for it must also satisfy

    # ---- rules and policies ----------------------------------------------------------------

    def rule(self, policy: str, rule: ast.Rule) -> RuleSym:
        self.assumes, self.realize = set(), []
        when = as_flag(self.expr(rule.when.expr)) if rule.when else boolean(TRUE)
        applies = z3.And(when.ok, when.flag)
        assert rule.require is not None  # the checker guarantees one
        require = as_flag(self.expr(rule.require.expr))
        errored = z3.Or(when.err, z3.And(applies, require.err))
        return RuleSym(
            policy,
            rule,
            passed=z3.And(applies, require.ok, require.flag),
            failed=z3.And(applies, require.ok, z3.Not(require.flag)),
            skipped=z3.And(when.ok, z3.Not(when.flag)),
            errored=errored,
            when_true=applies,
            when_false=z3.And(when.ok, z3.Not(when.flag)),
            assumes=set(self.assumes),
            realize=list(self.realize),
        )

    # ---- expressions -----------------------------------------------------------------------

    def expr(self, node: ast.Expr) -> Sym:
        match node:
            case ast.Number():
                return number(node.value)
            case ast.String():
                return string(node.value)
            case ast.Bool():
                return boolean(node.value)
            case ast.Date():
                return timestamp(calendar.timegm(node.value.timetuple()), is_date=True)
            case ast.Duration():
                return duration(node.seconds)
            case ast.ListLit():
                items = [self.expr(i) for i in node.items]
                miss, terr = sequence(items)
                return Sym(miss=miss, terr=terr, kinds={LIST: TRUE}, items=items, length=z3.IntVal(len(items)))
            case ast.Path():
                return self.path(node)
            case ast.Artifact():
                return self.artifact(node.path)
            case ast.Presence():
                s = self.expr(node.operand)
                present = z3.Not(s.miss)
                return Sym(terr=s.terr, kinds={BOOL: TRUE}, flag=present if node.op == "exists" else z3.Not(present))
            case ast.Unary(op="not"):
                return negation(self.expr(node.operand))
            case ast.Unary():
                s = numeric(self.expr(node.operand), is_param(node.operand))
                return result(s.miss, s.terr, s.ok, [(s.kind(NUM), number(-s.num))] if s.num is not None else [])
            case ast.Binary(op="and" | "or"):
                return logic(node.op, self.expr(node.left), self.expr(node.right))
            case ast.Binary(op="in" | "not in"):
                return self.membership(node)
            case ast.Binary(op="+" | "-" | "*" | "/"):
                l = numeric(self.expr(node.left), is_param(node.left))
                return arith(node.op, l, numeric(self.expr(node.right), is_param(node.right)))
            case ast.Binary():
                l, r = self.expr(node.left), self.expr(node.right)
                lists = None
                empty = (l.items is not None and not l.items) or (r.items is not None and not r.items)
                if node.op in ("==", "!=") and l.kind(LIST) is not FALSE and r.kind(LIST) is not FALSE and not empty:
                    self.assumes.add(f"`{expr_text(node)}` (lists compared)")
                    lists = self.u.atom(f"{self.key(node.left)} == {self.key(node.right)}")
                return compare(node.op, l, r, is_param(node.left), is_param(node.right), lists)
            case ast.Matches():
                return self.matches(node)
            case ast.Quantifier():
                return self.quantifier(node)
            case ast.Call():
                return self.call(node)
            case ast.Approval():
                label = f"approved by {node.count} of {node.role}"
                met = self.u.atom(label)
                self.realize.append(z3.Not(met))  # a witness has no approvals: they live in the audit log
                return boolean(met)
        raise TypeError(f"cannot analyze {node!r}")

    def path(self, node: ast.Path) -> Sym:
        root, keys = node.parts[0], tuple(node.parts[1:])
        if root in self.facts:
            return self.fact(root) if not keys else self.unknown(node, f"{expr_text(node)} (a field of a fact)")
        if root == "now":
            return timestamp(self.u.now)
        if root == "champion" and not keys:
            return Sym(miss=z3.Not(self.u.champion), kinds={REC: TRUE})
        bare = keys if root == "champion" else node.parts
        prefix = ("champion",) if root == "champion" else ()
        if bare[0] == "card" and len(bare) > 1:
            bare = ("card", ".".join(bare[1:]))  # card.a.b and card["a.b"] read the same key
        if tuple(bare) == ("model", "aliases"):
            sym = self.u.read(prefix + tuple(bare))
            sym.aliases = self.u.alias if not prefix else None
            return sym
        if bare[0] == "artifacts" and len(bare) == 1:
            return self.u.read(prefix + ("artifacts",))
        return self.u.read(prefix + tuple(bare))

    def fact(self, name: str) -> Sym:
        if name not in self.fact_syms:
            outer = self.assumes, self.realize
            self.assumes, self.realize = set(), []
            self.fact_syms[name] = self.expr(self.facts[name].expr)
            self.fact_notes[name] = self.assumes, self.realize
            self.assumes, self.realize = outer
        assumes, realize = self.fact_notes[name]
        self.assumes |= assumes
        self.realize += [c for c in realize if c not in self.realize]
        return self.fact_syms[name]

    def key(self, node: ast.Expr) -> str:
        """The text that names an unmodelled value: the expression with this policy's facts written
        out, so that the same text means the same value in every policy and on both sides of a diff."""
        return expr_text(self._expanded(node))

    def _expanded(self, node: ast.Expr) -> ast.Expr:
        if isinstance(node, ast.Path) and node.parts[0] in self.facts and len(node.parts) == 1:
            return self._expanded(self.facts[node.parts[0]].expr)
        if isinstance(node, ast.Path) and node.parts[0] in self.facts:  # a field of a fact
            fact = ast.Call(name="fact", args=[self._expanded(self.facts[node.parts[0]].expr)])
            return node.model_copy(update={"parts": [expr_text(fact), *node.parts[1:]]})
        updates: dict[str, object] = {}
        for name, value in node:
            if isinstance(value, ast.Node):
                updates[name] = self._expanded(value)  # type: ignore[arg-type]
            elif isinstance(value, list) and value and isinstance(value[0], ast.Node):
                updates[name] = [self._expanded(v) for v in value]
        return node.model_copy(update=updates) if updates else node

    def artifact(self, path: str) -> Sym:
        present = self.u.atom(f'artifact "{path}"')
        return Sym(miss=z3.Not(present), kinds={REC: TRUE})

    def unknown(self, node: ast.Expr, why: str, args: list[Sym] | None = None) -> Sym:
        """An unmodelled value, after its arguments (whose errors come first). A witness must not
        depend on it: its arguments fail there, so the engine never computes it."""
        self.assumes.add(why)
        own = self.u.unknown(self.key(node))
        miss, terr = sequence([*(args or []), own])
        self.realize.append(z3.Or([a.err for a in args]) if args else FALSE)
        return Sym(**{**own.__dict__, "miss": miss, "terr": terr})

    def membership(self, node: ast.Binary) -> Sym:
        item, container = self.expr(node.left), self.expr(node.right)
        miss, terr = then(item, container)
        fine = z3.And(item.ok, container.ok)
        cases: list[tuple[z3.BoolRef, Sym]] = []
        if container.items is not None:
            cases.append(
                (TRUE, boolean(z3.Or([equal_in(item, i) for i in container.items]) if container.items else FALSE))
            )
        else:
            if container.text is not None and item.text is not None:
                cases.append(
                    (z3.And(container.kind(STR), item.kind(STR)), boolean(z3.Contains(container.text, item.text)))
                )
            if container.aliases is not None and isinstance(node.left, ast.String):
                cases.append((container.kind(LIST), boolean(container.aliases(node.left.value))))
            elif container.kind(LIST) is not FALSE or container.kind(REC) is not FALSE:
                self.assumes.add(f"`in {expr_text(node.right)}`")
                found = self.u.atom(f"{self.key(node.left)} in {self.key(node.right)}")
                self.realize.append(z3.Not(z3.Or(container.kind(LIST), container.kind(REC))))
                cases.append((z3.Or(container.kind(LIST), z3.And(container.kind(REC), item.kind(STR))), boolean(found)))
        out = result(miss, terr, fine, cases)
        if node.op == "not in" and out.flag is not None:
            out.flag = z3.Not(out.flag)
        return out

    def matches(self, node: ast.Matches) -> Sym:
        s = self.expr(node.operand)
        language = regexes.search(node.pattern)
        if s.text is None:  # never a string: always a type error
            return result(s.miss, s.terr, s.ok, [])
        if language is not None:
            found = z3.InRe(s.text, language)
        else:
            self.assumes.add(f'`matches "{node.pattern}"` (outside the RE2 subset analysed)')
            found = self.u.atom(f"{self.key(node.operand)} matches {node.pattern!r}")
            self.realize.append(z3.Not(s.kind(STR)))
        return result(s.miss, s.terr, s.ok, [(s.kind(STR), boolean(found))])

    def quantifier(self, node: ast.Quantifier) -> Sym:
        """The family is the bounded set of metric names the universe gives this glob."""
        r = self.expr(node.right)
        members = [self.u.read(("metrics", m)) for m in self.u.metrics.get(node.glob, [])]
        slots = [self.u.slot(("metrics", m)) for m in self.u.metrics.get(node.glob, [])]
        hits = [s.state != ABSENT for s in slots]
        unusable = z3.Or([z3.And(h, s.state != VALUE) for h, s in zip(hits, slots)]) if slots else FALSE
        none = z3.Not(z3.Or(hits)) if hits else TRUE
        r_is_number = r.kind(NUM)
        verdicts = [z3.Or(z3.Not(h), compare(node.op, m, r).flag) for h, m in zip(hits, members)]
        somes = [z3.And(h, compare(node.op, m, r).flag) for h, m in zip(hits, members)]
        verdict = z3.And(verdicts) if node.quant == "all" else z3.Or(somes) if somes else FALSE
        miss = z3.Or(r.miss, z3.And(r.ok, r_is_number, z3.Or(unusable, none)))
        terr = z3.Or(r.terr, z3.And(r.ok, z3.Not(r_is_number), z3.Not(none)))
        miss = z3.Or(miss, z3.And(r.ok, z3.Not(r_is_number), none))
        return Sym(miss=miss, terr=terr, kinds={BOOL: TRUE}, flag=verdict)

    def call(self, node: ast.Call) -> Sym:
        args = [numeric(self.expr(a), is_param(a)) for a in node.args]
        miss, terr = sequence(args)
        fine = z3.And([a.ok for a in args]) if args else TRUE
        name = node.name
        if name == "age":
            t = as_time(args[0])
            if t is None:
                return result(miss, terr, fine, [])
            read, seconds, unreadable = t
            return result(miss, z3.Or(terr, z3.And(fine, unreadable)), fine, [(read, duration(self.u.now - seconds))])
        if name == "abs":
            n = args[0].num
            return result(miss, terr, fine, [(args[0].kind(NUM), number(z3.If(n < 0, -n, n)))] if n is not None else [])
        if name in ("min", "max"):
            return self.extreme(name, node, args, miss, terr, fine)
        if name == "len":
            a = args[0]
            cases = []
            if a.text is not None:
                cases.append((a.kind(STR), number(z3.ToReal(z3.Length(a.text)))))
            if a.length is not None:
                cases.append((z3.Or(a.kind(LIST), a.kind(REC)), number(z3.ToReal(a.length))))
            return result(miss, terr, fine, cases)
        if name in ("lower", "upper", "round"):
            return self.approximated(name, node, args, miss, terr, fine)
        return self.unknown(node, f"{name}()", args)

    def extreme(
        self, name: str, node: ast.Call, args: list[Sym], miss: z3.BoolRef, terr: z3.BoolRef, fine: z3.BoolRef
    ) -> Sym:
        """min() / max() of numbers, or of one list literal of them; a type error otherwise."""
        literal = len(args) == 1 and args[0].items is not None
        if len(args) == 1 and not literal and args[0].kind(LIST) is not FALSE:
            return self.unknown(node, f"{name}() of a list from the evidence", args)
        values = args[0].items if literal else args
        assert values is not None
        numbers = [v.num for v in values if v.num is not None]
        if not values or len(numbers) < len(values):
            return result(miss, terr, fine, [])  # an empty list, or something that is never a number
        best = numbers[0]
        for n in numbers[1:]:
            best = z3.If(n < best, n, best) if name == "min" else z3.If(n > best, n, best)
        return result(miss, terr, fine, [(z3.And([v.kind(NUM) for v in values]), number(best))])

    def approximated(
        self, name: str, node: ast.Call, args: list[Sym], miss: z3.BoolRef, terr: z3.BoolRef, fine: z3.BoolRef
    ) -> Sym:
        """lower(), upper(), round(): any value of the right kind; a witness uses an argument the
        function leaves as it is (a lower-case string for lower(), a whole number for round())."""
        self.assumes.add(f"{name}()")
        a = args[0]
        if name == "round":
            out = z3.Real(f"{self.key(node)}#value")
            if a.num is None:
                return result(miss, terr, fine, [])
            self.realize.append(z3.Implies(a.kind(NUM), z3.And(out == a.num, z3.IsInt(a.num))))
            return result(miss, terr, fine, [(a.kind(NUM), number(out))])
        text = z3.String(f"{self.key(node)}#value")
        if a.text is None:
            return result(miss, terr, fine, [])
        leaves = z3.Range("A", "Z") if name == "lower" else z3.Range("a", "z")
        unchanged = z3.Star(z3.Intersect(z3.AllChar(z3.ReSort(z3.StringSort())), z3.Complement(leaves)))
        self.realize.append(z3.Implies(a.kind(STR), z3.And(text == a.text, z3.InRe(a.text, unchanged))))
        return result(miss, terr, fine, [(a.kind(STR), string(text))])


def encode_policy(universe: Universe, policy: ast.Policy, source: str) -> PolicySym:
    enc = Encoder(universe, policy)
    rules = [enc.rule(policy.name, r) for r in policy.rules]
    return PolicySym(policy, source, scope(universe, policy), rules)


def scope(universe: Universe, policy: ast.Policy, only: str | None = None) -> z3.BoolRef:
    """`applies to model` globs and `applies to alias` names: alternatives within a kind, both kinds
    (`only`: one of the model globs alone)."""
    models = [only] if only else [a.pattern for a in policy.applies if a.scope == "model"]
    aliases = [a.pattern for a in policy.applies if a.scope == "alias"]
    parts = []
    if models:
        name = universe.read(("model", "name"))
        parts.append(z3.And(z3.Not(name.miss), z3.Or([z3.InRe(name.text, regexes.glob(g)) for g in models])))
    if aliases:
        parts.append(z3.Or([universe.alias(a) for a in aliases]))
    return z3.And(parts) if parts else TRUE
