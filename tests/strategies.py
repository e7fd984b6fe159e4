"""Hypothesis strategies that generate syntax trees of the whole language (DSL.md)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from pml_policy.engine import ast
from pml_policy.engine.checker import time_kind

KEYWORDS = {
    "policy",
    "version",
    "title",
    "owner",
    "applies",
    "to",
    "model",
    "fact",
    "rule",
    "enforce",
    "when",
    "require",
    "rank",
    "by",
    "asc",
    "desc",
    "on",
    "pass",
    "fail",
    "set",
    "alias",
    "tag",
    "waiver",
    "reason",
    "approved",
    "expires",
    "and",
    "or",
    "not",
    "in",
    "matches",
    "exists",
    "missing",
    "all",
    "any",
    "metrics",
    "matching",
    "artifact",
    "true",
    "false",
    "now",
    "revert",
    "role",
    "members",
    "pending",
    "of",
}
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}  # seconds in each duration unit
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
roots = st.sampled_from(["metrics", "params", "tags", "model", "run", "artifacts", "champion", "data", "high_risk"])


@st.composite
def numbers(draw) -> ast.Number:
    whole = draw(st.integers(0, 10**6))
    form = draw(st.sampled_from(["int", "dec", "exp", "pct"]))
    text = {
        "int": str(whole),
        "dec": f"{whole}.{draw(st.integers(0, 999)):03d}",
        "exp": f"{whole}e-{draw(st.integers(0, 9))}",
        "pct": f"{draw(st.integers(0, 100))}%",
    }[form]
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if draw(st.booleans()):
        return ast.Number(value=-value, text="-" + text)
    return ast.Number(value=value, text=text)


@st.composite
def paths(draw) -> ast.Path:
    rest = draw(st.lists(st.tuples(st.one_of(names, texts), st.booleans()), max_size=3))
    parts = [draw(roots)] + [p for p, _ in rest]
    # A part that is not a name can only be written in brackets.
    brackets = [False] + [b or p in KEYWORDS or not p.isidentifier() or not p.isascii() for p, b in rest]
    return ast.Path(parts=parts, brackets=brackets)


leaves = st.one_of(
    numbers(),
    texts.map(lambda t: ast.String(value=t)),
    st.booleans().map(lambda b: ast.Bool(value=b)),
    st.dates(min_value=dt.date(1000, 1, 1)).map(lambda d: ast.Date(value=d)),
    paths(),
    texts.map(lambda t: ast.Artifact(path=t)),
    st.tuples(st.integers(0, 10**6), st.sampled_from("smhdw")).map(
        lambda n: ast.Duration(seconds=float(n[0]) * UNIT[n[1]], text=f"{n[0]}{n[1]}")
    ),
)
CMP = ["==", "!=", "<", "<=", ">", ">="]


def _extend(children):
    return st.one_of(
        st.builds(
            ast.Binary,
            op=st.sampled_from(["or", "and", *CMP, "in", "not in", "+", "-", "*", "/"]),
            left=children,
            right=children,
        ),
        st.builds(ast.Unary, op=st.just("not"), operand=children),
        st.builds(
            ast.Unary,
            op=st.just("-"),
            operand=children.filter(lambda c: not (isinstance(c, ast.Number) and not c.text.startswith("-"))),
        ),
        st.builds(ast.Matches, operand=children, pattern=texts),
        st.builds(ast.Presence, op=st.sampled_from(["exists", "missing"]), operand=children),
        st.builds(
            ast.Quantifier, quant=st.sampled_from(["all", "any"]), glob=texts, op=st.sampled_from(CMP), right=children
        ),
        st.builds(ast.Call, name=names, args=st.lists(children, max_size=3)),
        st.builds(ast.ListLit, items=st.lists(children, max_size=3)),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


def _opt(strategy):
    return st.one_of(st.none(), strategy)


rules = st.builds(
    ast.Rule,
    id=names,
    title=_opt(texts),
    enforce=_opt(st.builds(ast.Enforce, level=st.one_of(st.sampled_from(["hard", "soft", "advisory"]), names))),
    when=_opt(st.builds(ast.Condition, keyword=st.just("when"), expr=expressions)),
    require=_opt(st.builds(ast.Condition, keyword=st.just("require"), expr=expressions)),
)
actions = st.one_of(st.builds(ast.SetAlias, alias=texts), st.builds(ast.SetTag, key=texts, value=texts))
fail_actions = st.one_of(actions, st.builds(ast.RevertAlias, alias=texts))

policies = st.builds(
    ast.Policy,
    name=texts,
    version=texts,
    title=_opt(st.builds(ast.Clause, keyword=st.just("title"), value=texts)),
    owner=_opt(st.builds(ast.Clause, keyword=st.just("owner"), value=texts)),
    applies=st.lists(st.builds(ast.Applies, pattern=texts, scope=st.sampled_from(["model", "alias"])), max_size=2),
    facts=st.lists(st.builds(ast.Fact, name=names, expr=expressions), max_size=2),
    rules=st.lists(rules, max_size=3),
    rank=_opt(st.builds(ast.Rank, expr=expressions, order=st.sampled_from(["asc", "desc"]))),
    on_pass=_opt(st.builds(ast.OnBlock, outcome=st.just("pass"), actions=st.lists(actions, max_size=2))),
    on_fail=_opt(st.builds(ast.OnBlock, outcome=st.just("fail"), actions=st.lists(fail_actions, max_size=2))),
    on_pending=_opt(st.builds(ast.OnBlock, outcome=st.just("pending"), actions=st.lists(actions, max_size=2))),
)


@st.composite
def waiver_models(draw) -> ast.WaiverModel:
    if draw(st.booleans()):
        return ast.WaiverModel(model=draw(texts), version=str(draw(st.integers(0, 10**6))), version_is_int=True)
    return ast.WaiverModel(model=draw(texts), version=draw(texts), version_is_int=False)


waivers = st.builds(
    ast.Waiver,
    id=texts,
    target=_opt(st.builds(ast.WaiverTarget, policy=texts, rule=names)),
    model=_opt(waiver_models()),
    reason=_opt(st.builds(ast.Clause, keyword=st.just("reason"), value=texts)),
    approved=_opt(st.builds(ast.Clause, keyword=st.just("approved by"), value=texts)),
    expires=_opt(st.builds(ast.Expires, date=st.dates(min_value=dt.date(1000, 1, 1)))),
)

files = st.builds(
    ast.PolicyFile, path=st.just("generated.pml"), decls=st.lists(st.one_of(policies, waivers), max_size=3)
)


# ---- policies that must pass the checker: known paths, functions with their arity ----------

valid_paths = st.sampled_from(
    [
        ["metrics", "a"],
        ["metrics", "b"],
        ["metrics", "auc_slice_x"],
        ["params", "p"],
        ["tags", "t"],
        ["model", "name"],
        ["model", "version"],
        ["model", "aliases"],
        ["run", "id"],
        ["run", "start_time"],
        ["data", "k"],
        ["champion", "metrics", "a"],
        ["champion"],
        ["artifacts"],
    ]
).map(lambda parts: ast.Path(parts=parts, brackets=[False] * len(parts)))

valid_leaves = st.one_of(
    numbers(),
    st.sampled_from(["1", "x", ""]).map(lambda t: ast.String(value=t)),
    st.booleans().map(lambda b: ast.Bool(value=b)),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)).map(lambda d: ast.Date(value=d)),
    valid_paths,
    st.sampled_from(["model_card.md", "*.md"]).map(lambda p: ast.Artifact(path=p)),
    st.sampled_from(["90d", "12h", "15m", "30s", "2w", "1.5d"]).map(
        lambda t: ast.Duration(
            seconds=float(t[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[t[-1]], text=t
        )
    ),
    st.just(ast.Path(parts=["now"], brackets=[False])),
)
ARITY = {"abs": 1, "len": 1, "lower": 1, "upper": 1, "round": 2, "min": 2, "max": 3, "age": 1}


def _unit_kept(b: ast.Binary) -> bool:
    """No duration beside a bare number: the checker refuses `age(x) <= 90` (a forgotten unit)."""
    return sorted(k for k in (time_kind(b.left), time_kind(b.right)) if k) not in (
        ["duration", "number"],
        ["duration", "time"],
    )


def _valid_extend(children):
    return st.one_of(
        st.builds(
            ast.Binary,
            op=st.sampled_from(["or", "and", *CMP, "in", "not in", "+", "-", "*", "/"]),
            left=children,
            right=children,
        ).filter(_unit_kept),
        st.builds(ast.Unary, op=st.just("not"), operand=children),
        st.builds(ast.Unary, op=st.just("-"), operand=children.filter(lambda c: not isinstance(c, ast.Number))),
        st.builds(ast.Matches, operand=children, pattern=st.sampled_from(["^a", "x$", "[0-9]+"])),
        st.builds(ast.Presence, op=st.sampled_from(["exists", "missing"]), operand=children),
        st.builds(
            ast.Quantifier,
            quant=st.sampled_from(["all", "any"]),
            glob=st.sampled_from(["auc_*", "*"]),
            op=st.sampled_from(CMP),
            right=children,
        ),
        st.sampled_from(sorted(ARITY)).flatmap(
            lambda n: st.builds(
                ast.Call, name=st.just(n), args=st.lists(children, min_size=ARITY[n], max_size=ARITY[n])
            )
        ),
        st.builds(ast.ListLit, items=st.lists(children, max_size=3)),
    )


valid_expressions = st.recursive(valid_leaves, _valid_extend, max_leaves=10)


@st.composite
def valid_policies(draw) -> ast.PolicyFile:
    count = draw(st.integers(1, 4))
    rules = [
        ast.Rule(
            id=f"r{i}",
            enforce=draw(_opt(st.sampled_from(["hard", "soft", "advisory"]).map(lambda lv: ast.Enforce(level=lv)))),
            when=draw(_opt(valid_expressions.map(lambda e: ast.Condition(keyword="when", expr=e)))),
            require=ast.Condition(keyword="require", expr=draw(valid_expressions)),
        )
        for i in range(count)
    ]
    policy = ast.Policy(name="generated", version="1.0.0", rules=rules)
    return ast.PolicyFile(path="generated.pml", decls=[policy])
