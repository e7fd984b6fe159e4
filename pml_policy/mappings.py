"""Mappings read from JSON and YAML files with located errors, and nested mappings flattened."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .errors import PmlError


def read_document(path: Path, error: type[PmlError], hint: str | None = None) -> Any:
    """A JSON (by the .json extension) or YAML file's content; `error` with file:line:col for a
    syntax error, or for a file that cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}", hint) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise error(f"{path}{where}: malformed YAML: {getattr(exc, 'problem', exc)}", hint) from None


def read_mapping(path: Path, error: type[PmlError], what: str, hint: str | None = None) -> dict[str, Any]:
    """A file whose top level must be a mapping (an empty file is an empty one)."""
    data = read_document(path, error, hint)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: {what} must be a mapping of names to values, found {type(data).__name__}")
    return data


def flatten(
    values: dict[str, Any], prefix: str = "", keep: Callable[[dict[str, Any]], bool] = lambda _: False
) -> dict[str, Any]:
    """Nested mappings as one level with dotted keys (`{"train": {"loss": 1}}` -> `train.loss`);
    a nested mapping for which `keep` is true stays a value (W&B media objects)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not keep(value):
            out.update(flatten(value, name + ".", keep))
        else:
            out[name] = value
    return out
