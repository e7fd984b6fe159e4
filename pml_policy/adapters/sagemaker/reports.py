"""The metrics of a SageMaker model package: the JSON reports its `ModelMetrics` point to in S3, as
SageMaker Model Monitor and Clarify write them, mapped to `metrics.…` names.

- ModelQuality.Statistics (Model Monitor): `binary_classification_metrics.auc.value` -> `auc`,
  `….auc.standard_deviation` -> `auc_std`; likewise `regression_metrics.rmse`,
  `multiclass_classification_metrics.accuracy`, …; `dataset.item_count` -> `item_count`.
- Bias.Report, Bias.PostTrainingReport (Clarify): in `post_training_bias_metrics.facets`, facet
  `age`, metric `DPPL` -> `bias.age.DPPL`.
- Bias.Report, Bias.PreTrainingReport (Clarify): `pre_training_bias_metrics…` -> `pre_training_bias.age.CI`.

A facet measured for several groups (`value_or_threshold`) names the group too: `bias.age.40.DPPL`.
Curves, confusion matrices and anything that is not a number are left out; a metric Clarify could
not compute (null) is left out, so a rule that reads it errors (fail closed). Pure functions: the
adapter reads the objects.
"""

from __future__ import annotations

from typing import Any

from pml_policy.base.errors import EvidenceError

QUALITY_SLOTS = (("ModelQuality", "Statistics"),)
BIAS_SLOTS = (("Bias", "Report"), ("Bias", "PreTrainingReport"), ("Bias", "PostTrainingReport"))
_BIAS_SECTIONS = {"post_training_bias_metrics": "bias", "pre_training_bias_metrics": "pre_training_bias"}


def report_locations(model_metrics: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(slot name, MetricsSource) for each report this module reads, in a fixed order."""
    found = []
    for group, slot in (*QUALITY_SLOTS, *BIAS_SLOTS):
        source = (model_metrics.get(group) or {}).get(slot)
        if isinstance(source, dict) and source.get("S3Uri"):
            found.append((f"{group}.{slot}", source))
    return found


def metrics_of(slot: str, report: Any, where: str) -> dict[str, float]:
    """The metrics one report holds; EvidenceError naming `where` for a report of the wrong shape."""
    if not isinstance(report, dict):
        raise EvidenceError(f"{where}: a {slot} report must be a JSON object, found {type(report).__name__}")
    if slot.startswith("ModelQuality"):
        return _quality(report)
    return _bias(report, where)


def merge(into: dict[str, float], more: dict[str, float], where: str) -> None:
    for name, value in more.items():
        if name in into:
            raise EvidenceError(f'{where}: metric "{name}" is given by two reports', "keep it in one report")
        into[name] = value


def _quality(report: dict[str, Any]) -> dict[str, float]:
    out: dict[str, Any] = {}
    dataset = report.get("dataset")
    count = dataset.get("item_count") if isinstance(dataset, dict) else None
    if _number(count):
        out["item_count"] = count
    for section, entries in report.items():
        if not section.endswith("_metrics") or not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            if _number(entry.get("value")):
                out[name] = entry["value"]
            if _number(entry.get("standard_deviation")):
                out[f"{name}_std"] = entry["standard_deviation"]
    return out


def _bias(report: dict[str, Any], where: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for section, prefix in _BIAS_SECTIONS.items():
        part = report.get(section)
        facets = (part.get("facets") if isinstance(part, dict) else None) or {}
        if not isinstance(facets, dict):
            raise EvidenceError(f"{where}: {section}.facets must map facet names to lists of groups")
        for facet, groups in facets.items():
            if not isinstance(groups, list):
                raise EvidenceError(f"{where}: {section}.facets.{facet} must be a list of groups")
            for group in groups:
                if not isinstance(group, dict):
                    raise EvidenceError(f"{where}: {section}.facets.{facet} must be a list of objects")
                label = f"{group.get('value_or_threshold')}." if len(groups) > 1 else ""
                metrics = group.get("metrics")
                for metric in metrics if isinstance(metrics, list) else []:
                    if isinstance(metric, dict) and _number(metric.get("value")):
                        merge(out, {f"{prefix}.{facet}.{label}{metric.get('name')}": metric["value"]}, where)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
