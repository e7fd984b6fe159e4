"""The engine bench's workload, and its floor: a 40-rule policy in pml-policy's language, generated
subjects as plain JSON values, and the same 40 rules written by hand as Python closures.

The closures are the floor an engine could reach in Python: no parsing, no interpretation, each
rule one function that reads its value, compares, and writes pml-policy's exact message and the
values it read. bench/engine.py checks that they agree with the compiled evaluator on every rule
of every subject, message included.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

RULES = 40
LEVELS = [("hard", "soft", "advisory")[i % 3] for i in range(RULES)]

# A rule's answer as pml-policy's rules make it: (outcome, message, the values it read).
Raw = tuple[str, str, dict[str, Any]]
Closure = Callable[[dict[str, Any], dict[str, Any], "dict[str, Any] | None"], Raw]


def kind(i: int) -> str:
    """Rule i's shape: a threshold, a champion comparison (when champion exists), or a threshold
    guarded by a tag (when tags.use_case == "credit")."""
    return {9: "champion", 4: "guarded"}.get(i % 10, "threshold")


def threshold(i: int) -> str:
    """The threshold as written in the policy: "0.10" for rule 0, "0.2" for a guarded rule."""
    return "0.2" if kind(i) == "guarded" else f"0.{10 + i}"


def required(i: int) -> str:
    if kind(i) == "champion":
        return f"metrics.m{i} >= champion.metrics.m{i} - 0.01"
    return f"metrics.m{i} {'<=' if kind(i) == 'guarded' else '>='} {threshold(i)}"


def policy_text() -> str:
    """The 40 rules in pml-policy's language, one per metric m0..m39."""
    lines = []
    for i in range(RULES):
        body = f"require {required(i)}"
        if kind(i) == "champion":
            body = f"when champion exists {body}"
        elif kind(i) == "guarded":
            body = f'when tags.use_case == "credit" {body}'
        lines.append(f'  rule r{i} "metric m{i}" {{ enforce {LEVELS[i]} {body} }}')
    return 'policy "bench" version "1.0.0" {\n' + "\n".join(lines) + "\n}\n"


def subjects(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Generated evidence as JSON values (what a request body or a run's files hold): 40 metrics
    with one in a hundred absent, and a use case; every second subject has a champion."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        metrics = {f"m{j}": round(rng.uniform(0.3, 1.0), 4) for j in range(RULES) if rng.random() > 0.01}
        out.append({"model": f"m-{i}", "metrics": metrics, "tags": {"use_case": rng.choice(["credit", "ads"])}})
    return out


CHAMPION = {f"m{j}": 0.6 for j in range(RULES)}


def has_champion(i: int) -> bool:
    return i % 2 == 1


def combine(outcomes: list[str]) -> str:
    """The decision from the rules' outcomes, as DSL.md says (no waivers here)."""
    blocking = any(o in ("fail", "error") and LEVELS[i] != "advisory" for i, o in enumerate(outcomes))
    return "fail" if blocking else "warn" if any(o in ("fail", "error") for o in outcomes) else "pass"


# ---- the floor: the rules by hand ------------------------------------------------------------


def shown(v: float) -> str:
    """A number as pml-policy's messages show it."""
    return str(int(v)) if v.is_integer() and -1e15 < v < 1e15 else "%.6g" % v  # noqa: UP031


def closures() -> list[Closure]:
    """One closure per rule: (metrics, tags, champion metrics or None) -> (outcome, message, read)."""
    return [_closure(i) for i in range(RULES)]


def _closure(i: int) -> Closure:
    key, text, need = f"m{i}", f"metrics.m{i}", required(i)
    absent = f"missing evidence: {text} is absent (required: {need})"
    if kind(i) == "champion":
        champion_text = f"champion.metrics.m{i}"
        head, skipped = f"{text} = ", "skipped: champion exists is false (champion = absent)"

        def against_champion(metrics: dict[str, Any], tags: dict[str, Any], champion: dict[str, Any] | None) -> Raw:
            if champion is None:
                return ("skip", skipped, {"champion": None})
            v = metrics.get(key)
            if v is None:
                return ("error", absent, {text: None})
            c = champion[key]
            bound = c - 0.01
            message = f"{head}{shown(v)}, required >= {champion_text} - 0.01 = {shown(bound)}"
            return ("pass" if v >= bound else "fail", message, {text: v, champion_text: c})

        return against_champion

    limit, op = float(threshold(i)), ">=" if kind(i) == "threshold" else "<="
    head, tail = f"{text} = ", f", required {op} {threshold(i)}"
    if kind(i) == "threshold":

        def at_least(metrics: dict[str, Any], tags: dict[str, Any], champion: dict[str, Any] | None) -> Raw:
            v = metrics.get(key)
            if v is None:
                return ("error", absent, {text: None})
            return ("pass" if v >= limit else "fail", head + shown(v) + tail, {text: v})

        return at_least

    def guarded(metrics: dict[str, Any], tags: dict[str, Any], champion: dict[str, Any] | None) -> Raw:
        use_case = tags.get("use_case")
        if use_case != "credit":
            seen = json.dumps(use_case, ensure_ascii=False)
            return (
                "skip",
                f'skipped: tags.use_case == "credit" is false (tags.use_case = {seen})',
                {"tags.use_case": use_case},
            )
        v = metrics.get(key)
        if v is None:
            return ("error", absent, {"tags.use_case": use_case, text: None})
        return ("pass" if v <= limit else "fail", head + shown(v) + tail, {"tags.use_case": use_case, text: v})

    return guarded
