"""The canonical text of a policy file (`pml-policy fmt`), and of one expression for messages.

Idempotent: ``fmt(parse(fmt(t))) == fmt(t)``, and ``parse(fmt(t))`` means what ``parse(t)`` means.
With ``comments=False`` the text is what a policy's sha256 digest is taken over, so editing a
comment does not make a new policy version.
"""

from __future__ import annotations

import json

from . import ast

INDENT = "  "

# Binding strength, loosest first; an operand weaker than its slot is parenthesised.
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}
_CMP = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def expr_text(node: ast.Expr) -> str:
    """The expression in canonical form: what messages quote as 'required'."""
    return _expr(node, 0)


def _prec(node: ast.Expr) -> int:
    if isinstance(node, ast.Binary):
        return _PREC["cmp"] if node.op in _CMP else _PREC[node.op]
    if isinstance(node, ast.Unary):
        return _PREC["not"] if node.op == "not" else _PREC["neg"]
    if isinstance(node, (ast.Matches, ast.Presence, ast.Quantifier)):
        return _PREC["cmp"]
    if isinstance(node, ast.Number) and node.text.startswith("-"):
        return _PREC["neg"]
    return _PREC["atom"]


def _expr(node: ast.Expr, slot: int) -> str:
    text = _bare(node)
    return f"({text})" if _prec(node) < slot else text


def _bare(node: ast.Expr) -> str:
    match node:
        case ast.Number():
            return node.text
        case ast.String():
            return quote(node.value)
        case ast.Bool():
            return "true" if node.value else "false"
        case ast.Date():
            return node.value.isoformat()
        case ast.Duration():
            return node.text
        case ast.ListLit():
            return "[" + ", ".join(_expr(i, 0) for i in node.items) + "]"
        case ast.Path():
            out = node.parts[0]
            for part, bracket in zip(node.parts[1:], node.brackets[1:]):
                out += f"[{quote(part)}]" if bracket else f".{part}"
            return out
        case ast.Call():
            return f"{node.name}(" + ", ".join(_expr(a, 0) for a in node.args) + ")"
        case ast.Artifact():
            return f"artifact {quote(node.path)}"
        case ast.Unary(op="not"):
            return "not " + _expr(node.operand, _PREC["not"])
        case ast.Unary():
            return "-" + _expr(node.operand, _PREC["neg"])
        case ast.Binary(op="or" | "and"):
            p = _PREC[node.op]
            return f"{_expr(node.left, p)} {node.op} {_expr(node.right, p + 1)}"
        case ast.Binary() if node.op in _CMP:
            return f"{_expr(node.left, 5)} {node.op} {_expr(node.right, 5)}"
        case ast.Binary():
            p = _PREC[node.op]
            return f"{_expr(node.left, p)} {node.op} {_expr(node.right, p + 1)}"
        case ast.Matches():
            return f"{_expr(node.operand, 5)} matches {quote(node.pattern)}"
        case ast.Presence():
            return f"{_expr(node.operand, 5)} {node.op}"
        case ast.Quantifier():
            return f"{node.quant} metrics matching {quote(node.glob)} {node.op} {_expr(node.right, 5)}"
        case ast.Approval():
            count = f"{node.count} of " if node.count_written or node.count != 1 else ""
            return f"approved by {count}{quote(node.role)}"
    raise TypeError(f"cannot format {node!r}")


class _Writer:
    def __init__(self, comments: bool) -> None:
        self.comments = comments
        self.lines: list[str] = []

    def stmt(self, node: ast.Stmt, depth: int, text: str) -> None:
        pad = INDENT * depth
        if self.comments:
            self.lines.extend(pad + c for c in node.comments)
        trailing = "  " + " ".join(node.trailing) if self.comments and node.trailing else ""
        self.lines.append(pad + text + trailing)

    def open(self, node: ast.Block, depth: int, header: str) -> None:
        pad = INDENT * depth
        if self.comments:
            self.lines.extend(pad + c for c in node.comments)
        self.lines.append(pad + header + " {")

    def close(self, node: ast.Block, depth: int) -> None:
        if self.comments:
            self.lines.extend(INDENT * (depth + 1) + c for c in node.footer)
        trailing = "  " + " ".join(node.trailing) if self.comments and node.trailing else ""
        self.lines.append(INDENT * depth + "}" + trailing)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lines[-1].endswith("{"):
            self.lines.append("")


def fmt(file: ast.PolicyFile, comments: bool = True) -> str:
    w = _Writer(comments)
    for decl in file.decls:
        w.blank()
        if isinstance(decl, ast.Policy):
            _policy(w, decl)
        elif isinstance(decl, ast.Role):
            _role(w, decl)
        else:
            _waiver(w, decl)
    if comments and file.footer:
        w.blank()
        w.lines.extend(file.footer)
    return "\n".join(w.lines).strip("\n") + "\n" if w.lines else ""


def policy_text(policy: ast.Policy) -> str:
    """The canonical text of one policy without comments: what its digest is taken over."""
    w = _Writer(False)
    _policy(w, policy)
    return "\n".join(w.lines) + "\n"


def _policy(w: _Writer, p: ast.Policy) -> None:
    w.open(p, 0, f"policy {quote(p.name)} version {quote(p.version)}")
    for clause in (p.title, p.owner):
        if clause:
            w.stmt(clause, 1, f"{clause.keyword} {quote(clause.value)}")
    for a in p.applies:
        w.stmt(a, 1, f"applies to {a.scope} {quote(a.pattern)}")
    for o in p.operational:
        w.stmt(o, 1, f"operational tags {', '.join(quote(t) for t in o.patterns)}")
    if p.facts:
        w.blank()
    for f in p.facts:
        w.stmt(f, 1, f"fact {f.name} = {expr_text(f.expr)}")
    for r in p.rules:
        w.blank()
        _rule(w, r)
    if p.rank:
        w.blank()
        w.stmt(p.rank, 1, f"rank by {expr_text(p.rank.expr)} {p.rank.order}")
    for block in (p.on_pass, p.on_fail, p.on_pending):
        if block:
            w.blank()
            w.open(block, 1, f"on {block.outcome}")
            for action in block.actions:
                if isinstance(action, ast.SetAlias):
                    w.stmt(action, 2, f"set alias {quote(action.alias)}")
                elif isinstance(action, ast.RevertAlias):
                    w.stmt(action, 2, f"revert alias {quote(action.alias)}")
                else:
                    w.stmt(action, 2, f"set tag {quote(action.key)} = {quote(action.value)}")
            w.close(block, 1)
    w.close(p, 0)


def _rule(w: _Writer, r: ast.Rule) -> None:
    header = f"rule {r.id}" + (f" {quote(r.title)}" if r.title is not None else "")
    w.open(r, 1, header)
    if r.enforce:
        w.stmt(r.enforce, 2, f"enforce {r.enforce.level}")
    for cond in (r.when, r.require):
        if cond:
            w.stmt(cond, 2, f"{cond.keyword} {expr_text(cond.expr)}")
    w.close(r, 1)


def _waiver(w: _Writer, v: ast.Waiver) -> None:
    w.open(v, 0, f"waiver {quote(v.id)}")
    if v.target:
        w.stmt(v.target, 1, f"policy {quote(v.target.policy)} rule {v.target.rule}")
    if v.model:
        version = v.model.version if v.model.version_is_int else quote(v.model.version)
        w.stmt(v.model, 1, f"model {quote(v.model.model)} version {version}")
    for clause in (v.reason, v.approved):
        if clause:
            w.stmt(clause, 1, f"{clause.keyword} {quote(clause.value)}")
    if v.expires:
        w.stmt(v.expires, 1, f"expires {v.expires.date.isoformat()}")
    w.close(v, 0)


def _role(w: _Writer, r: ast.Role) -> None:
    w.open(r, 0, f"role {quote(r.name)}")
    if r.members:
        keys = r.members.keys
        shown = [quote(m) + (f" key {quote(keys[m])}" if m in keys else "") for m in r.members.emails]
        w.stmt(r.members, 1, "members [" + ", ".join(shown) + "]")
    w.close(r, 0)
