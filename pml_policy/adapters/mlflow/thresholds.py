"""MLflow's model validation thresholds as a PML policy.

`mlflow.validate_evaluation_results` checks a candidate's metrics against `MetricThreshold`s:
an absolute `threshold`, and against a baseline a `min_absolute_change` and a
`min_relative_change`, each in the direction `greater_is_better` gives. Each of those is one hard
rule in PML, with the baseline as the champion; a test checks that the two agree on generated
cases (tests/test_mlflow_thresholds.py). The translation, for greater_is_better (otherwise the
comparisons turn round and + becomes -):

    threshold=T            require metrics.M >= T
    min_absolute_change=A  require metrics.M >= champion.metrics.M + A
    min_relative_change=R  when champion.metrics.M != 0
                           require (metrics.M - champion.metrics.M) / abs(champion.metrics.M) >= R
                           when champion.metrics.M == 0       (MLflow's fallback: strictly better)
                           require metrics.M >= champion.metrics.M + 1e-10

A missing metric, or a missing baseline where a change is required, fails in both (PML: the rule
is an error, which fails a hard rule).
"""

from __future__ import annotations

import re
from typing import Any


def policy_text(thresholds: dict[str, Any], name: str = "mlflow-validation", version: str = "1.0.0") -> str:
    """A policy equivalent to `validate_evaluation_results(thresholds, candidate, baseline)`, with the
    candidate as the subject and the baseline as the champion. `thresholds` maps metric names to
    mlflow.models.MetricThreshold (or anything with the same four attributes)."""
    rules = []
    for metric, t in thresholds.items():
        m = f'metrics["{metric}"]' if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", metric) else f"metrics.{metric}"
        base = "champion." + m
        better, sign = (">=", "+") if t.greater_is_better else ("<=", "-")
        rid = re.sub(r"\W", "_", metric)
        if t.threshold is not None:
            rules.append(f"rule {rid}_threshold {{ require {m} {better} {_num(t.threshold)} }}")
        if t.min_absolute_change is not None:
            rules.append(
                f"rule {rid}_absolute_change {{ require {m} {better} {base} {sign} {_num(t.min_absolute_change)} }}"
            )
        if t.min_relative_change is not None:
            change = f"({m} - {base})" if t.greater_is_better else f"({base} - {m})"
            rules.append(
                f"rule {rid}_relative_change "
                f"{{ when {base} != 0 require {change} / abs({base}) >= {_num(t.min_relative_change)} }}"
            )
            rules.append(
                f"rule {rid}_relative_change_from_zero {{ when {base} == 0 require {m} {better} {base} {sign} 1e-10 }}"
            )
    body = "\n  ".join(rules)
    return f'policy "{name}" version "{version}" {{\n  {body}\n}}\n'


def _num(value: float) -> str:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    return text if not text.startswith("-") else f"({text})"
