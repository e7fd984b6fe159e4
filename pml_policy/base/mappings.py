"""Mappings read from JSON and YAML files with located errors, and nested mappings flattened.

Evidence files come from many hands, so reading them is bounded (LIMITS, documented in the
docs' Security page): a size limit, a nesting depth, a number of digits for integers, no YAML
anchors or aliases (a few lines of them expand to gigabytes), and no key given twice, in the file
or after flattening (`{"a": {"x": 1}, "a.x": 2}`): which one would a rule read?
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .errors import EvidenceError, PmlError, Unreadable
from .files import read_limited


class Limits(NamedTuple):
    document_bytes: int = 16 << 20  # one JSON or YAML document
    depth: int = 64  # mappings and lists inside one another
    integer_digits: int = 100  # an integer is at most this long (Python's own ceiling is 4,300)


LIMITS = Limits()


class _Refused(ValueError):
    """A document that breaks a limit; `where` is ':line:column' when known."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message, self.where = message, where


def read_document(path: Path, error: type[PmlError], hint: str | None = None) -> Any:
    """A JSON (by the .json extension) or YAML file's content; `error` with file:line:col for a
    syntax error, a broken limit, or a file that cannot be read."""
    try:
        text = read_limited(path, LIMITS.document_bytes, "the file")
    except Unreadable as exc:
        raise error(exc.message, exc.hint) from None
    return parse_document(text, str(path), path.suffix == ".json", error, hint)


def parse_document(text: str, shown: str, as_json: bool, error: type[PmlError], hint: str | None = None) -> Any:
    """JSON or YAML text (already read within the size limit) as read_document reads a file;
    errors are located as `shown:line:col`."""
    try:
        value = _json(text) if as_json else _yaml(text)
        _check_depth(value)
    except _Refused as exc:
        raise error(f"{shown}{exc.where}: {exc.message}", hint) from None
    except json.JSONDecodeError as exc:
        raise error(f"{shown}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}", hint) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character)
        raise error(f"{shown}: malformed YAML: {exc.reason} at character {exc.position}", hint) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).strip().split("\n")[0]
        raise error(f"{shown}{where}: malformed YAML: {problem}", hint) from None
    return value


def read_mapping(path: Path, error: type[PmlError], what: str, hint: str | None = None) -> dict[str, Any]:
    """A file whose top level must be a mapping (an empty file is an empty one)."""
    data = read_document(path, error, hint)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: {what} must be a mapping of names to values, found {type(data).__name__}")
    return data


def flatten(
    values: dict[str, Any],
    prefix: str = "",
    keep: Callable[[dict[str, Any]], bool] = lambda _: False,
    where: str = "evidence",
) -> dict[str, Any]:
    """Nested mappings as one level with dotted keys (`{"train": {"loss": 1}}` -> `train.loss`);
    a nested mapping for which `keep` is true stays a value (W&B media objects). A name reached
    twice (`{"a": {"x": 1}, "a.x": 2}`) is an EvidenceError naming `where`."""
    out: dict[str, Any] = {}
    _flatten_into(out, values, prefix, keep, where)
    return out


def _flatten_into(
    out: dict[str, Any], values: dict[str, Any], prefix: str, keep: Callable[[dict[str, Any]], bool], where: str
) -> None:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not keep(value):
            _flatten_into(out, value, name + ".", keep, where)
        elif name in out:
            raise EvidenceError(
                f'{where}: "{name}" is given twice (a dotted key and a nested one name the same value)',
                "keep one of them",
            )
        else:
            out[name] = value


# ---- JSON ------------------------------------------------------------------------------------


def loads_bounded(text: str) -> Any:
    """JSON text within the limits (a ValueError saying which one it breaks, or where it is malformed)."""
    value = _json(text)
    _check_depth(value)
    return value


def _json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_int=_bounded_int)
    except RecursionError:
        raise _Refused(f"nested deeper than the limit of {LIMITS.depth}") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f'the key "{key}" is given twice in one mapping')
            seen.add(key)
    return out


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > LIMITS.integer_digits:
        raise _Refused(f"an integer of {len(digits):,} digits; the limit is {LIMITS.integer_digits}")
    return int(digits)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_depth(value: Any) -> None:
    """Refuse a value nested deeper than the limit (walked without recursion), and text that is not
    text: a lone surrogate (`\\ud800`, which JSON and YAML escapes can write) cannot be stored,
    hashed or printed."""
    _check_text(value)
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for key in node if isinstance(node, dict) else ():
            _check_text(key)
        for child in children:
            _check_text(child)
            if isinstance(child, (dict, list)):
                if depth + 1 > LIMITS.depth:
                    raise _Refused(f"nested deeper than the limit of {LIMITS.depth}")
                stack.append((child, depth + 1))


def _check_text(value: Any) -> None:
    if isinstance(value, str) and _SURROGATE.search(value):
        raise _Refused("a string holds a lone surrogate (an escape such as \\ud800 that is no character)")


# ---- YAML ------------------------------------------------------------------------------------


class _EvidenceLoader(yaml.SafeLoader):
    """yaml.safe_load, bounded: no aliases, a depth limit while composing (before the recursion
    could overflow), no key twice, integers of a bounded length."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _Refused(
                "anchors and aliases (&name, *name) are not allowed (a few lines of them expand without bound)",
                _where(self.peek_event()),
            )
        self.depth += 1
        if self.depth > LIMITS.depth:
            raise _Refused(f"nested deeper than the limit of {LIMITS.depth}", _where(self.peek_event()))
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(node.value):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise _Refused(f'the key "{key}" is given twice in one mapping', _where(key_node))
                seen.add(key)
        return mapping


def _construct_int(loader: _EvidenceLoader, node: Any) -> int:
    digits = sum(c.isalnum() for c in node.value)
    if digits > LIMITS.integer_digits:
        raise _Refused(f"an integer of {digits:,} digits; the limit is {LIMITS.integer_digits}", _where(node))
    value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    return value


_EvidenceLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _where(event_or_node: Any) -> str:
    mark = event_or_node.start_mark
    return f":{mark.line + 1}:{mark.column + 1}"


def _yaml(text: str) -> Any:
    loader = _EvidenceLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
