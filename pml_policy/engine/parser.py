"""Text to syntax tree: the lark LALR parser, its errors made readable, and comments kept for fmt.

>>> from pml_policy.engine.parser import parse
>>> f = parse('policy "p" version "1.0.0" { rule r { require metrics.auc >= 0.8 } }', "p.pml")
>>> f.policies[0].rules[0].id
'r'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path as FsPath

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pml_policy.base.errors import PolicyError

from . import ast
from .builder import Builder
from .comments import attach_comments, find_comments
from .diagnostics import Diagnostic, line_of
from .reading import read_policy

# What the user reads instead of lark's terminal names.
_TOKEN_NAMES = {
    "NAME": "a name",
    "ESCAPED_STRING": "a string in double quotes",
    "NUMBER": "a number",
    "INT": "a whole number",
    "PERCENT": "a percentage",
    "DATE": "a date (YYYY-MM-DD)",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "QUANT": '"all" or "any"',
    "ORDER": '"asc" or "desc"',
    "OUTCOME": '"pass" or "fail"',
    "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = FsPath(__file__).with_name("grammar.lark")
    # cache=True keeps the LALR tables in the temp folder, keyed by the grammar's hash and lark's
    # version: building them costs more than the rest of a `check` together.
    return Lark(grammar.read_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=True)


def parse(text: str, path: str = "<text>") -> ast.PolicyFile:
    """Parse one file's text; raise PolicyError with located Diagnostics on any error."""
    tree, errors = parse_with_errors(text, path)
    if errors:
        raise PolicyError(errors)
    return tree


def parse_with_errors(text: str, path: str = "<text>") -> tuple[ast.PolicyFile, list[Diagnostic]]:
    """The tree and the errors found while building it (a bad date, a clause written twice).

    A syntax error, or an expression nested deeper than MAX_DEPTH, stops the file: it raises
    PolicyError, as there is no tree to return.
    """
    try:
        tree = _lark().parse(text)  # LALR: linear time, and no recursion however deep the nesting
    except UnexpectedInput as exc:
        raise PolicyError([_syntax_diagnostic(exc, text, path)]) from None
    deep = _too_deep(tree)
    if deep is not None:
        line, column = deep.meta.line, deep.meta.column
        raise PolicyError(
            [
                Diagnostic(
                    path,
                    line,
                    column,
                    f"expression nested more than {MAX_DEPTH} levels deep",
                    line_of(text, line),
                    "name parts of it as facts (fact x = …), or use `in [...]` for a long list of alternatives",
                )
            ]
        )
    builder = Builder(path, text)
    result = builder.transform(tree)
    attach_comments(result, find_comments(text))
    return result, builder.errors


# Everything after the parser (building the tree, checking, compiling, formatting, messages)
# walks expressions recursively: a limit far above what people write keeps that within Python's
# stack, and makes a hostile file a located error instead of a RecursionError.
MAX_DEPTH = 100
_CHAINS = {"or_": 1, "and_": 1, "arith": 2}  # children per level the tree builder nests to the left


def _too_deep(tree: Tree) -> Tree | None:
    """The innermost node at which the expression tree (as built: chains nest to the left) grows
    deeper than MAX_DEPTH; computed without recursion."""
    depth: dict[int, int] = {}
    stack: list[tuple[Tree, bool]] = [(tree, False)]
    while stack:
        node, done = stack.pop()
        children = [c for c in node.children if isinstance(c, Tree)]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children)
            continue
        chain = (len(node.children) - 1) // _CHAINS[node.data] if node.data in _CHAINS else 0
        depth[id(node)] = 1 + chain + max((depth[id(c)] for c in children), default=0)
        if depth[id(node)] > MAX_DEPTH and node.meta and not node.meta.empty:
            return node
    return None


def parse_file(path: str | FsPath) -> ast.PolicyFile:
    p = FsPath(path)
    return parse(read_policy(p), str(p))


def _syntax_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        message = f"unexpected character {char!r}"
        if char == "'":
            message += "; strings use double quotes"
    elif isinstance(exc, UnexpectedEOF):
        line, column = _end_of(text)
        message = "unexpected end of file"
    else:
        assert isinstance(exc, UnexpectedToken)
        tok = exc.token
        message = "unexpected end of file" if tok.type == "$END" else f"unexpected {_describe(tok)}"
        if tok.type == "$END":
            line, column = _end_of(text)
    expected = sorted({_expected_name(t) for t in (exc.expected if hasattr(exc, "expected") else ()) or ()})
    if isinstance(exc, UnexpectedToken):
        expected = sorted({_expected_name(t) for t in exc.accepts or exc.expected})
    hint = f"expected {_join(expected)}" if expected else None
    return Diagnostic(path, line, column, message, line_of(text, line), hint)


def _end_of(text: str) -> tuple[int, int]:
    """Line and column just after the last character that is not a line break."""
    lines = text.rstrip("\n").split("\n")
    return len(lines), len(lines[-1]) + 1


def _describe(tok: Token) -> str:
    if tok.type in _TOKEN_NAMES:
        return f"{_TOKEN_NAMES[tok.type]} {tok.value!r}"
    return f"{tok.value!r}"


def _expected_name(terminal: str) -> str:
    if terminal in _TOKEN_NAMES:
        return _TOKEN_NAMES[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return f'"{pattern.value}"' if pattern.type == "str" else terminal


def _join(names: list[str]) -> str:
    if len(names) > 12:
        names = names[:12] + ["…"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
