"""The lark parse tree to pydantic nodes (ast.py): one method per grammar rule, literals checked as
they are built (a date that does not exist, a number that is not finite, a duration too long),
structural errors collected as located diagnostics (a clause written twice)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any, TypeVar

from lark import Token, Transformer, v_args
from pydantic import BaseModel

from . import ast
from .diagnostics import Diagnostic, line_of

_N = TypeVar("_N", bound=BaseModel)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LONGEST = 999_999_999 * 86400  # Python's timedelta holds no more days


def _new(cls: type[_N], **fields: Any) -> _N:
    """A node without validation: the grammar has already fixed its shape, and skipping pydantic's
    validators means `check` never pays for building them (a third of its cold start)."""
    return cls.model_construct(**fields)


def _loc(meta) -> ast.Loc:
    return _new(ast.Loc, line=meta.line, column=meta.column, end_line=meta.end_line, end_column=meta.end_column)


def _tok_loc(tok: Token) -> ast.Loc:
    return _new(ast.Loc, line=tok.line, column=tok.column, end_line=tok.end_line, end_column=tok.end_column)


@v_args(meta=True)
class Builder(Transformer):
    """Builds pydantic nodes; collects structural errors (a clause written twice) as it goes."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self.file_path = path
        self.text = text
        self.errors: list[Diagnostic] = []

    def _error(self, loc: ast.Loc | None, message: str, hint: str | None = None) -> None:
        line, column = (loc.line, loc.column) if loc else (1, 1)
        self.errors.append(Diagnostic(self.file_path, line, column, message, line_of(self.text, line), hint))

    # ---- files and declarations ----
    def start(self, meta, children):
        f = _new(ast.PolicyFile, path=self.file_path, decls=children)
        f.loc = _new(ast.Loc, line=1, column=1, end_line=self.text.count("\n") + 2, end_column=1)
        return f

    def policy(self, meta, children):
        name, version, *items = children
        p = _new(ast.Policy, name=name.value, version=version.value, loc=_loc(meta))
        for item in items:
            if isinstance(item, ast.Clause):
                self._set_once(p, item.keyword, item, "policy")
            elif isinstance(item, ast.Applies):
                p.applies.append(item)
            elif isinstance(item, ast.Operational):
                p.operational.append(item)
            elif isinstance(item, ast.Fact):
                p.facts.append(item)
            elif isinstance(item, ast.Rule):
                p.rules.append(item)
            elif isinstance(item, ast.Rank):
                self._set_once(p, "rank", item, "policy")
            elif isinstance(item, ast.OnBlock):
                self._set_once(p, f"on_{item.outcome}", item, "policy")
        return p

    def _set_once(self, owner: ast.Node, attr: str, item: ast.Stmt, where: str) -> None:
        field = attr.replace("approved by", "approved")
        if getattr(owner, field) is not None:
            shown = attr.replace("_", " ")
            self._error(item.loc, f'"{shown}" is written twice in this {where}', "keep one of them")
            return
        setattr(owner, field, item)

    def title(self, meta, children):
        return _new(ast.Clause, keyword="title", value=children[0].value, loc=_loc(meta))

    def owner(self, meta, children):
        return _new(ast.Clause, keyword="owner", value=children[0].value, loc=_loc(meta))

    def reason(self, meta, children):
        return _new(ast.Clause, keyword="reason", value=children[0].value, loc=_loc(meta))

    def approved(self, meta, children):
        return _new(ast.Clause, keyword="approved by", value=children[0].value, loc=_loc(meta))

    def operational(self, meta, children):
        return _new(ast.Operational, patterns=[c.value for c in children], loc=_loc(meta))

    def applies(self, meta, children):
        scope, pattern = children
        return _new(ast.Applies, pattern=pattern.value, scope=str(scope), loc=_loc(meta))

    def fact(self, meta, children):
        return _new(ast.Fact, name=str(children[0]), expr=children[1], loc=_loc(meta))

    def rule(self, meta, children):
        rule_id, *rest = children
        r = _new(ast.Rule, id=str(rule_id), loc=_loc(meta))
        if rest and isinstance(rest[0], ast.String):
            r.title = rest.pop(0).value
        for item in rest:
            attr = "enforce" if isinstance(item, ast.Enforce) else item.keyword
            self._set_once(r, attr, item, "rule")
        return r

    def enforce(self, meta, children):
        return _new(ast.Enforce, level=str(children[0]), loc=_loc(meta))

    def when(self, meta, children):
        return _new(ast.Condition, keyword="when", expr=children[0], loc=_loc(meta))

    def require(self, meta, children):
        return _new(ast.Condition, keyword="require", expr=children[0], loc=_loc(meta))

    def rank(self, meta, children):
        expr, *order = children
        r = _new(ast.Rank, expr=expr, loc=_loc(meta))
        if order:
            r.order, r.order_written = ("asc" if str(order[0]) == "asc" else "desc"), True
        return r

    def on_block(self, meta, children):
        outcome, *actions = children
        return _new(ast.OnBlock, outcome=str(outcome), actions=actions, loc=_loc(meta))

    def set_alias(self, meta, children):
        return _new(ast.SetAlias, alias=children[0].value, loc=_loc(meta))

    def revert_alias(self, meta, children):
        return _new(ast.RevertAlias, alias=children[0].value, loc=_loc(meta))

    def set_tag(self, meta, children):
        return _new(ast.SetTag, key=children[0].value, value=children[1].value, loc=_loc(meta))

    def waiver(self, meta, children):
        wid, *items = children
        w = _new(ast.Waiver, id=wid.value, loc=_loc(meta))
        slots: dict[type, str] = {ast.WaiverTarget: "target", ast.WaiverModel: "model", ast.Expires: "expires"}
        for item in items:
            attr = item.keyword if isinstance(item, ast.Clause) else slots[type(item)]
            self._set_once(w, attr, item, "waiver")
        return w

    def waiver_policy(self, meta, children):
        return _new(ast.WaiverTarget, policy=children[0].value, rule=str(children[1]), loc=_loc(meta))

    def waiver_model(self, meta, children):
        model, version = children
        if isinstance(version, Token):
            return _new(ast.WaiverModel, model=model.value, version=str(int(version)), loc=_loc(meta))
        return _new(ast.WaiverModel, model=model.value, version=version.value, version_is_int=False, loc=_loc(meta))

    def role(self, meta, children):
        name, *members = children
        return _new(ast.Role, name=name.value, members=members[0] if members else None, loc=_loc(meta))

    def members(self, meta, children):
        given = [c for c in children if c is not None]
        keys = {email: key for email, key in given if key is not None}
        return _new(ast.Members, emails=[email for email, _ in given], keys=keys, loc=_loc(meta))

    def member(self, meta, children):
        email, *key = children
        return email.value, key[0].value if key else None

    def approval(self, meta, children):
        *count, role = children
        written = bool(count)
        return _new(
            ast.Approval, count=int(count[0]) if written else 1, count_written=written, role=role.value, loc=_loc(meta)
        )

    def expires(self, meta, children):
        return _new(ast.Expires, date=self._date(children[0]), loc=_loc(meta))

    # ---- expressions ----
    def string(self, meta, children):
        tok = children[0]
        try:
            value = json.loads(tok)
        except ValueError:
            self._error(_tok_loc(tok), "invalid escape in string", 'use \\" \\\\ \\n \\t or \\uXXXX')
            value = tok[1:-1]
        if any("\ud800" <= c <= "\udfff" for c in value):  # \ud800 alone is no character: it cannot be hashed
            self._error(
                _tok_loc(tok), "a \\u escape names half of a character (a lone surrogate)", "write the character itself"
            )
            value = value.encode("utf-8", "replace").decode("utf-8")
        return _new(ast.String, value=value, loc=_loc(meta))

    def number(self, meta, children):
        return _new(
            ast.Number, value=self._finite(children[0], float(children[0])), text=str(children[0]), loc=_loc(meta)
        )

    def percent(self, meta, children):
        text = str(children[0])
        return _new(ast.Number, value=self._finite(children[0], float(text[:-1]) / 100), text=text, loc=_loc(meta))

    def _finite(self, tok: Token, value: float) -> float:
        """A literal past the largest float (1e400) would be infinity, which the language has no literal for."""
        if not math.isfinite(value):
            self._error(_tok_loc(tok), f"the number {tok} is too large", "numbers go up to about 1.8e308")
            return 0.0
        return value

    def duration(self, meta, children):
        text = str(children[0])
        seconds = float(text[:-1]) * _UNIT_SECONDS[text[-1]]
        if seconds > _LONGEST:
            self._error(_tok_loc(children[0]), f"the duration {text} is too long", "durations go up to 999999999d")
            seconds = 0.0
        return _new(ast.Duration, seconds=seconds, text=text, loc=_loc(meta))

    def date(self, meta, children):
        return _new(ast.Date, value=self._date(children[0]), loc=_loc(meta))

    def _date(self, tok: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            self._error(_tok_loc(tok), f"{tok} is not a valid date", "write a calendar date as YYYY-MM-DD")
            return dt.date(1970, 1, 1)

    def true(self, meta, children):
        return _new(ast.Bool, value=True, loc=_loc(meta))

    def false(self, meta, children):
        return _new(ast.Bool, value=False, loc=_loc(meta))

    def list_(self, meta, children):
        return _new(ast.ListLit, items=[c for c in children if c is not None], loc=_loc(meta))

    def path(self, meta, children):
        parts, brackets = [], []
        for child in children:
            if isinstance(child, ast.String):
                parts.append(child.value)
                brackets.append(True)
            else:
                parts.append(str(child))
                brackets.append(False)
        return _new(ast.Path, parts=parts, brackets=brackets, loc=_loc(meta))

    def call(self, meta, children):
        name, *args = children
        return _new(
            ast.Call, name=str(name), args=[a for a in args if a is not None], loc=_loc(meta), name_loc=_tok_loc(name)
        )

    def artifact(self, meta, children):
        return _new(ast.Artifact, path=children[0].value, loc=_loc(meta))

    def neg(self, meta, children):
        operand = children[0]
        if isinstance(operand, ast.Number) and not operand.text.startswith("-"):
            return _new(ast.Number, value=-operand.value, text="-" + operand.text, loc=_loc(meta))
        return _new(ast.Unary, op="-", operand=operand, loc=_loc(meta))

    def not_(self, meta, children):
        return _new(ast.Unary, op="not", operand=children[0], loc=_loc(meta))

    def or_(self, meta, children):
        return self._left_assoc(meta, children, "or")

    def and_(self, meta, children):
        return self._left_assoc(meta, children, "and")

    def _left_assoc(self, meta, children, op):
        node = children[0]
        for right in children[1:]:
            node = _new(ast.Binary, op=op, left=node, right=right, loc=_span(node.loc, right.loc))
        return node

    def arith(self, meta, children):
        node = children[0]
        for op, right in zip(children[1::2], children[2::2]):
            node = _new(ast.Binary, op=str(op), left=node, right=right, loc=_span(node.loc, right.loc))
        return node

    def compare(self, meta, children):
        left, op, right = children
        return _new(ast.Binary, op=str(op), left=left, right=right, loc=_loc(meta))

    def in_(self, meta, children):
        return _new(ast.Binary, op="in", left=children[0], right=children[1], loc=_loc(meta))

    def not_in(self, meta, children):
        return _new(ast.Binary, op="not in", left=children[0], right=children[1], loc=_loc(meta))

    def matches(self, meta, children):
        return _new(ast.Matches, operand=children[0], pattern=children[1].value, loc=_loc(meta))

    def exists(self, meta, children):
        return _new(ast.Presence, op="exists", operand=children[0], loc=_loc(meta))

    def missing(self, meta, children):
        return _new(ast.Presence, op="missing", operand=children[0], loc=_loc(meta))

    def quantifier(self, meta, children):
        quant, glob, op, right = children
        return _new(ast.Quantifier, quant=str(quant), glob=glob.value, op=str(op), right=right, loc=_loc(meta))


def _span(a: ast.Loc | None, b: ast.Loc | None) -> ast.Loc | None:
    if a is None or b is None:
        return a or b
    return _new(ast.Loc, line=a.line, column=a.column, end_line=b.end_line, end_column=b.end_column)
