"""Monitoring reports as evidence (`monitoring.…`, DSL 1.1): an Evidently report, as the real
library writes it, or a plain JSON mapping, read as it is.

Evidently (0.7 and later) writes two forms, and teams keep either: `snapshot.json()` (`metrics`
and `tests`, no time) and the full snapshot `snapshot.dumps()` (`metric_results` by metric id, and
the `timestamp` the report was computed for). Both become one mapping:

- `monitoring.source`: "evidently", or "json" for a plain mapping.
- `monitoring.computed_at`: the snapshot's `timestamp` (UTC when it names no zone); `json()` has none.
- `monitoring.drift.share`, `.count`, `.threshold`: `DriftedColumnsCount` (its `drift_share`);
  `monitoring.drift.detected`: its test's status (FAIL: drift), else share >= drift_share.
- `monitoring.columns["income"].score`, `.method`, `.threshold`: `ValueDrift(column=income)`;
  `.drift_detected`: its test's status, else by the method: a p-value drifts below the threshold,
  a distance at or above it (Evidently's own rule).
- `monitoring.rows`: `RowCount`, when the report has one; `monitoring.tests.total`, `.failed`.
- `monitoring.TYPE.COLUMN`: any other metric with a numeric value (`MeanValue.income`).

Evidently's raw drift value is a p-value for some methods and a distance for others, so policies
read `drift_detected`, never the score against a number of their own. A report that cannot be read
or is neither form is an EvidenceError (exit 3).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pml_policy.base.dates import in_utc
from pml_policy.base.errors import EvidenceError
from pml_policy.base.mappings import flatten, read_document

_HINT = "give an Evidently report (snapshot.dumps() or snapshot.json()) or a JSON mapping of numbers"


def read_report(path: Path) -> dict[str, Any]:
    """The monitoring evidence in a report file (JSON, bounded as all evidence is)."""
    if not path.is_file():
        raise EvidenceError(f"{path}: no monitoring report there", _HINT)
    return report_from(read_document(path, EvidenceError, _HINT), str(path))


def report_from(document: Any, where: str) -> dict[str, Any]:
    """The monitoring mapping of a parsed report (Evidently's two forms, or a plain mapping)."""
    if not isinstance(document, dict):
        raise EvidenceError(f"{where}: a monitoring report must be a JSON object", _HINT)
    if isinstance(document.get("metric_results"), dict):
        return _evidently(_from_snapshot(document, where), document.get("timestamp"), where)
    if isinstance(document.get("metrics"), list) and all(
        isinstance(m, dict) and "config" in m for m in document["metrics"]
    ):
        return _evidently(_from_json(document), None, where)
    return {"source": "json", **document}


Measured = tuple[dict[str, Any], Any, list[str]]  # (metric params, value, test statuses)


def _from_json(doc: dict[str, Any]) -> list[Measured]:
    statuses: dict[str, list[str]] = {}
    for test in _list(doc.get("tests")):
        statuses.setdefault(str(_dig(test, "metric_config", "metric_id")), []).append(str(_dig(test, "status")))
    return [(_dig(m, "config") or {}, m.get("value"), statuses.get(str(m.get("id")), [])) for m in doc["metrics"]]


def _from_snapshot(doc: dict[str, Any], where: str) -> list[Measured]:
    found = []
    for result in doc["metric_results"].values():
        if not isinstance(result, dict):
            raise EvidenceError(f"{where}: metric_results must map metric ids to results", _HINT)
        params = _dig(result, "metric_value_location", "metric", "params") or {}
        if "value" in result:
            value: Any = result["value"]
        else:  # a count-and-share result: each part is a result of its own
            value = {k: v.get("value") for k, v in result.items() if isinstance(v, dict) and "value" in v}
        found.append((params, value, [str(t.get("status")) for t in _list(result.get("tests")) if isinstance(t, dict)]))
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]… through mappings only: None where the report has another shape."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _evidently(measured: list[Measured], timestamp: Any, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"source": "evidently", "columns": {}}
    if timestamp is not None:
        out["computed_at"] = _utc(timestamp, where)
    failed = total = 0
    others: dict[str, Any] = {}
    for params, value, statuses in measured:
        if not isinstance(params, dict):
            raise EvidenceError(f"{where}: a metric's configuration must be a JSON object", _HINT)
        kind = str(params.get("type", "")).rsplit(":", 1)[-1]
        total += len(statuses)
        failed += statuses.count("FAIL")
        if kind == "DriftedColumnsCount" and isinstance(value, dict):
            share, threshold = value.get("share"), params.get("drift_share")
            detected = "FAIL" in statuses if statuses else _at_least(share, threshold)
            out["drift"] = {"share": share, "count": value.get("count"), "threshold": threshold, "detected": detected}
        elif kind == "ValueDrift" and params.get("column") is not None:
            method, threshold = str(params.get("method", "")), params.get("threshold")
            detected = "FAIL" in statuses if statuses else _drifted(method, value, threshold)
            out["columns"][str(params["column"])] = {
                "score": value,
                "method": method,
                "threshold": threshold,
                "drift_detected": detected,
            }
        elif kind == "RowCount" and _number(value):
            out["rows"] = value
        elif _number(value) or isinstance(value, dict):
            name = kind + (f".{params['column']}" if params.get("column") is not None else "")
            others[name] = value
    out["tests"] = {"total": total, "failed": failed}
    return {**flatten(others, where=where), **out}


def _drifted(method: str, score: Any, threshold: Any) -> bool | None:
    """Evidently's own rule: a p-value method drifts below its threshold, a distance at or above it."""
    if not (_number(score) and _number(threshold)):
        return None  # unknown: a rule that reads it errors (fail closed)
    return score < threshold if "p_value" in method else score >= threshold


def _at_least(share: Any, threshold: Any) -> bool | None:
    return share >= threshold if _number(share) and _number(threshold) else None


def _utc(value: Any, where: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise EvidenceError(f"{where}: timestamp {value!r} is not an ISO 8601 time", _HINT) from None
    return in_utc(moment, f"{where}: timestamp").isoformat()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
