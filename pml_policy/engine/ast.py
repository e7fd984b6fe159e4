"""The PML syntax tree as pydantic models.

Source locations and comments are excluded from ``model_dump()``, so two trees compare equal when
they mean the same thing: ``parse(fmt(text)).model_dump() == parse(text).model_dump()``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Loc(BaseModel):
    """Where a node stands in its file: 1-based lines and columns, end exclusive."""

    # Every model here is built on first validation or dump, not at import: the parser constructs
    # nodes without validating, and `check` never needs their schemas (a sixth of its cold start).
    model_config = ConfigDict(defer_build=True)

    line: int
    column: int
    end_line: int
    end_column: int


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    loc: Loc | None = Field(default=None, exclude=True, repr=False)

    @property
    def line(self) -> int:
        """The line the node starts on (1 for a node built without a location)."""
        return self.loc.line if self.loc else 1


# ---- expressions ---------------------------------------------------------------------------


class Number(Node):
    kind: Literal["number"] = "number"
    value: float
    text: str  # as written ("0.80", "5%"): messages and fmt show what the author wrote


class String(Node):
    kind: Literal["string"] = "string"
    value: str


class Bool(Node):
    kind: Literal["bool"] = "bool"
    value: bool


class Date(Node):
    kind: Literal["date"] = "date"
    value: dt.date


class Duration(Node):
    """`15m`, `12h`, `30d`, `2w` (1.1): a span of time."""

    kind: Literal["duration"] = "duration"
    seconds: float
    text: str  # as written: messages and fmt show it


class ListLit(Node):
    kind: Literal["list"] = "list"
    items: list[Expr]


class Path(Node):
    """``metrics.val_auc``, ``tags["a.b"]``: parts[0] is the root; brackets marks the ["…"] form."""

    kind: Literal["path"] = "path"
    parts: list[str]
    brackets: list[bool]

    @property
    def root(self) -> str:
        return self.parts[0]


class Call(Node):
    kind: Literal["call"] = "call"
    name: str
    args: list[Expr]
    name_loc: Loc | None = Field(default=None, exclude=True, repr=False)


class Artifact(Node):
    kind: Literal["artifact"] = "artifact"
    path: str


class Unary(Node):
    kind: Literal["unary"] = "unary"
    op: Literal["-", "not"]
    operand: Expr


BinaryOp = Literal["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/"]


class Binary(Node):
    kind: Literal["binary"] = "binary"
    op: BinaryOp
    left: Expr
    right: Expr


class Matches(Node):
    kind: Literal["matches"] = "matches"
    operand: Expr
    pattern: str


class Presence(Node):
    """``x exists`` / ``x missing``: the only tests that look at absence safely."""

    kind: Literal["presence"] = "presence"
    op: Literal["exists", "missing"]
    operand: Expr


class Quantifier(Node):
    """``all metrics matching "val_auc_slice_*" >= 0.75``."""

    kind: Literal["quantifier"] = "quantifier"
    quant: Literal["all", "any"]
    glob: str
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    right: Expr


class Approval(Node):
    """``approved by 2 of "model-risk"``: a sign-off rule's whole require (1.1); unmet, the rule is pending."""

    kind: Literal["approval"] = "approval"
    count: int = 1
    count_written: bool = Field(default=False, exclude=True)  # `approved by 1 of "r"` keeps its `1 of`
    role: str


Expr = Annotated[
    Number
    | String
    | Bool
    | Date
    | Duration
    | ListLit
    | Path
    | Call
    | Artifact
    | Unary
    | Binary
    | Matches
    | Presence
    | Quantifier
    | Approval,
    Field(discriminator="kind"),
]

# ---- statements ----------------------------------------------------------------------------


class Stmt(Node):
    """A statement on its own line(s): carries the comments written before it and after it."""

    comments: list[str] = Field(default_factory=list, exclude=True, repr=False)
    trailing: list[str] = Field(default_factory=list, exclude=True, repr=False)


class Block(Stmt):
    """A statement with braces: comments after its last item stay inside it."""

    footer: list[str] = Field(default_factory=list, exclude=True, repr=False)


class Clause(Stmt):
    """A keyword and a string: title, owner, reason, approved by."""

    keyword: Literal["title", "owner", "reason", "approved by"]
    value: str


class Applies(Stmt):
    pattern: str
    scope: Literal["model", "alias"] = "model"  # a glob on the model name, or an alias the subject holds


class Fact(Stmt):
    name: str
    expr: Expr


class Enforce(Stmt):
    level: str  # checked against LEVELS by the checker, so a typo gets "did you mean"


class Condition(Stmt):
    keyword: Literal["when", "require"]
    expr: Expr


class Rule(Block):
    id: str
    title: str | None = None
    enforce: Enforce | None = None
    when: Condition | None = None
    require: Condition | None = None

    @property
    def level(self) -> str:
        return self.enforce.level if self.enforce else "hard"


class Rank(Stmt):
    expr: Expr
    order: Literal["asc", "desc"] = "desc"
    order_written: bool = Field(default=False, exclude=True)


class SetAlias(Stmt):
    action: Literal["set_alias"] = "set_alias"
    alias: str


class SetTag(Stmt):
    action: Literal["set_tag"] = "set_tag"
    key: str
    value: str


class RevertAlias(Stmt):
    """`revert alias "champion"` (1.1, `on fail` of a production policy)."""

    action: Literal["revert_alias"] = "revert_alias"
    alias: str


Action = Annotated[SetAlias | SetTag | RevertAlias, Field(discriminator="action")]


class OnBlock(Block):
    outcome: Literal["pass", "fail", "pending"]
    actions: list[Action] = Field(default_factory=list)


class Operational(Stmt):
    """`operational tags "deploy.*", …` (1.3): tag keys (globs) that other tools set on versions,
    left out of the evidence approvals and decisions bind."""

    patterns: list[str]


class Policy(Block):
    decl: Literal["policy"] = "policy"
    name: str
    version: str
    title: Clause | None = None
    owner: Clause | None = None
    applies: list[Applies] = Field(default_factory=list)
    operational: list[Operational] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    rank: Rank | None = None
    on_pass: OnBlock | None = None
    on_fail: OnBlock | None = None
    on_pending: OnBlock | None = None


class WaiverTarget(Stmt):
    policy: str
    rule: str


class WaiverModel(Stmt):
    model: str
    version: str  # a version number as text, or "*" for every version
    version_is_int: bool = True


class Expires(Stmt):
    date: dt.date


class Waiver(Block):
    decl: Literal["waiver"] = "waiver"
    id: str
    target: WaiverTarget | None = None
    model: WaiverModel | None = None
    reason: Clause | None = None
    approved: Clause | None = None
    expires: Expires | None = None


class Members(Stmt):
    emails: list[str] = Field(default_factory=list)
    keys: dict[str, str] = Field(default_factory=dict)  # email -> "ed25519:BASE64" (their approvals are signed)


class Role(Block):
    """``role "model-risk" { members ["cro@bank.example"] }``: who may sign off (1.1)."""

    decl: Literal["role"] = "role"
    name: str
    members: Members | None = None


Decl = Annotated[Policy | Waiver | Role, Field(discriminator="decl")]


class PolicyFile(Block):
    """One parsed file: its policies, waivers and roles in the order written."""

    path: str = Field(exclude=True)
    decls: list[Decl] = Field(default_factory=list)

    @property
    def policies(self) -> list[Policy]:
        return [d for d in self.decls if isinstance(d, Policy)]

    @property
    def waivers(self) -> list[Waiver]:
        return [d for d in self.decls if isinstance(d, Waiver)]

    @property
    def roles(self) -> list[Role]:
        return [d for d in self.decls if isinstance(d, Role)]
