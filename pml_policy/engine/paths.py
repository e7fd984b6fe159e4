"""How a path in a rule reads the evidence: `metrics.x` (the hot path), nested mappings, the
champion, `data`, `now`, monitoring reports, model cards, facts and archived artifacts. A value
that is absent, null or not finite raises Missing (the rule's `error` outcome); every value read
is observed, for the rule's message and the record."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from . import ast
from .environment import Env, FactFailed, Fn, decision_time
from .formatter import expr_text
from .values import ABSENT, INF, is_missing


def path_reader(node: ast.Path, facts: frozenset[str]) -> Fn:
    text = expr_text(node)
    root, keys = node.parts[0], tuple(node.parts[1:])
    if root in facts:
        return _fact(root, keys, text)
    if root == "champion":
        return _champion_path(keys, text)
    if root == "data":
        return _walk(lambda env: env.data, keys, text)
    if root == "now":
        return lambda env: _observe(env, text, decision_time(env))
    if root == "monitoring":  # a report, or none (null): walked as nested mappings
        return _walk(lambda env: env.subject["monitoring"], keys, text)
    if root == "card":
        return _card(lambda env: env.subject["card"], keys, text)
    if root == "artifacts" and not keys:
        return lambda env: _observe(env, text, list(env.subject["artifacts"]))
    if len(keys) == 1:  # the hot path: metrics.x, params.x, tags.x, model.x, run.x
        key = keys[0]

        def get(env: Env) -> Any:
            v = env.subject[root].get(key, ABSENT)
            if v is ABSENT or v is None or (type(v) is float and not -INF < v < INF):  # is_missing, inlined: hot
                raise env.missing(text, v)
            env.observed[text] = v
            return v

        return get
    return _walk(lambda env: env.subject[root], keys, text)


def _observe(env: Env, text: str, v: Any) -> Any:
    if is_missing(v):
        raise env.missing(text, v)
    env.observed[text] = v
    return v


def _walk(base: Fn, keys: tuple[str, ...], text: str) -> Fn:
    def get(env: Env) -> Any:
        v = base(env)
        for k in keys:
            if not isinstance(v, dict):
                v = ABSENT
                break
            v = v.get(k, ABSENT)
        return _observe(env, text, v)

    return get


def _champion_path(keys: tuple[str, ...], text: str) -> Fn:
    def champion(env: Env) -> Any:
        if env.champion is None:
            raise env.missing("champion", ABSENT)
        return env.champion

    if not keys:
        return champion
    if keys[0] == "card":
        return _card(lambda env: champion(env)["card"], keys[1:], text)
    return _walk(champion, keys, text)


def _card(base: Fn, keys: tuple[str, ...], text: str) -> Fn:
    """A model card (one flat mapping with dotted keys, or none): `card.a.b` and `card["a.b"]` read
    the same key; `card` alone is the card, for `card exists`."""
    key = ".".join(keys)

    def get(env: Env) -> Any:
        card = base(env)
        if not keys or card is None:
            return _observe(env, text, card if card is not None else ABSENT)
        return _observe(env, text, card.get(key, ABSENT))

    return get


def _fact(name: str, keys: tuple[str, ...], text: str) -> Fn:
    def fact(env: Env) -> Any:
        f = env.facts[name]
        env.observed.update(f.observed)
        if isinstance(f, FactFailed):
            raise f.error
        env.observed[name] = f.value
        return f.value

    return _walk(fact, keys, text) if keys else fact


def artifact_reader(path: str) -> Fn:
    text = f'artifact "{path}"'
    if any(ch in path for ch in "*?["):
        pattern = re.compile(fnmatch.translate(path))

        def glob(env: Env) -> Any:
            hits = [a for p, a in env.subject["artifacts"].items() if pattern.match(p)]
            return _observe(env, text, hits[0] if hits else ABSENT)

        return glob
    return lambda env: _observe(env, text, env.subject["artifacts"].get(path, ABSENT))
