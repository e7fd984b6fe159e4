"""Attach comments to statements so that `fmt` can keep them.

A comment after code on the same line trails the statement that ends there; a comment on a line of
its own leads the next statement of its block, or stays at the block's end when nothing follows.
"""
from __future__ import annotations

from collections import defaultdict

from . import ast

Comment = tuple[int, int, str]  # line, column, text


def children(node: ast.Stmt) -> list[ast.Stmt]:
    """The statements directly inside a block, in the order they were written."""
    if isinstance(node, ast.PolicyFile):
        items = list(node.decls)
    elif isinstance(node, ast.Policy):
        items = [node.title, node.owner, *node.applies, *node.facts, *node.rules, node.rank, node.on_pass, node.on_fail]
    elif isinstance(node, ast.Rule):
        items = [node.enforce, node.when, node.require]
    elif isinstance(node, ast.OnBlock):
        items = list(node.actions)
    elif isinstance(node, ast.Waiver):
        items = [node.target, node.model, node.reason, node.approved, node.expires]
    else:
        items = []
    present = [i for i in items if i is not None and i.loc is not None]
    return sorted(present, key=lambda i: (i.loc.line, i.loc.column))


def attach_comments(block: ast.Block, comments: list[Comment]) -> None:
    items = children(block)
    nested: dict[int, list[Comment]] = defaultdict(list)
    by_id = {id(i): i for i in items}
    for comment in comments:
        line, column, text = comment
        holder = next((i for i in items if i.loc.line <= line <= i.loc.end_line), None)
        if holder is not None:
            ends_before = line == holder.loc.end_line and column >= holder.loc.end_column
            if isinstance(holder, ast.Block) and not ends_before:
                nested[id(holder)].append(comment)
            else:
                holder.trailing.append(text)
            continue
        following = next((i for i in items if i.loc.line > line), None)
        if following is not None:
            following.comments.append(text)
        else:
            block.footer.append(text)
    for key, inner in nested.items():
        attach_comments(by_id[key], inner)
