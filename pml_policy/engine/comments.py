"""Attach comments to statements so that `fmt` can keep them.

A comment after code on the same line trails the statement that ends there; a comment on a line of
its own leads the next statement of its block, or stays at the block's end when nothing follows.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict

from . import ast

Comment = tuple[int, int, str]  # line, column, text

_COMMENT_OR_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*')


def find_comments(text: str) -> list[Comment]:
    """(line, column, text) of every comment, skipping '#' inside strings."""
    found = []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    for m in _COMMENT_OR_STRING.finditer(text):
        if m.group().startswith("#"):
            line = bisect.bisect_right(line_starts, m.start())
            found.append((line, m.start() - line_starts[line - 1] + 1, m.group().rstrip()))
    return found


def children(node: ast.Stmt) -> list[ast.Stmt]:
    """The statements directly inside a block, in the order they were written."""
    items: list[ast.Stmt | None]
    if isinstance(node, ast.PolicyFile):
        items = list(node.decls)
    elif isinstance(node, ast.Policy):
        items = [
            node.title,
            node.owner,
            *node.applies,
            *node.facts,
            *node.rules,
            node.rank,
            node.on_pass,
            node.on_fail,
            node.on_pending,
        ]
    elif isinstance(node, ast.Rule):
        items = [node.enforce, node.when, node.require]
    elif isinstance(node, ast.OnBlock):
        items = list(node.actions)
    elif isinstance(node, ast.Waiver):
        items = [node.target, node.model, node.reason, node.approved, node.expires]
    elif isinstance(node, ast.Role):
        items = [node.members]
    else:
        items = []
    present = [i for i in items if i is not None and i.loc is not None]
    return sorted(present, key=_where)


def _where(node: ast.Stmt) -> tuple[int, int, int, int]:
    """(line, column, end line, end column); a node built without a location sorts first."""
    loc = node.loc
    return (loc.line, loc.column, loc.end_line, loc.end_column) if loc else (0, 0, 0, 0)


def attach_comments(block: ast.Block, comments: list[Comment]) -> None:
    items = children(block)
    nested: dict[int, list[Comment]] = defaultdict(list)
    by_id = {id(i): i for i in items}
    for comment in comments:
        line, column, text = comment
        holder = next((i for i in items if _where(i)[0] <= line <= _where(i)[2]), None)
        if holder is not None:
            ends_before = line == _where(holder)[2] and column >= _where(holder)[3]
            if isinstance(holder, ast.Block) and not ends_before:
                nested[id(holder)].append(comment)
            else:
                holder.trailing.append(text)
            continue
        following = next((i for i in items if _where(i)[0] > line), None)
        if following is not None:
            following.comments.append(text)
        else:
            block.footer.append(text)
    for key, inner in nested.items():
        holder = by_id[key]
        assert isinstance(holder, ast.Block)
        attach_comments(holder, inner)
