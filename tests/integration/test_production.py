"""Production models stay governed: monitoring evidence from reports the real `evidently` writes,
and `recheck` re-checking and reverting a champion on a real MLflow server."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pml_policy.engine import evaluate, load

from ..helpers import ROOT, run_cli
from ..support.production import PRODUCTION, evidently_report

_KEYS = ["metrics", "metric_results", "tests", "config", "value", "metric_value_location", "metric", "params", "type"]
_KEYS += [
    "column",
    "method",
    "threshold",
    "drift_share",
    "status",
    "metric_config",
    "metric_id",
    "id",
    "count",
    "share",
]


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from([*_KEYS, "timestamp"]), inner, max_size=4)
    ),
    max_leaves=30,
)


def _champion_folder(tmp_path: Path, started: dt.datetime) -> Path:
    folder = tmp_path / "champion"
    folder.mkdir()
    (folder / "pml.yaml").write_text(
        "model: {name: credit-scorer, version: 3, aliases: [champion]}\n"
        f'run: {{start_time: "{started.isoformat()}"}}\ntags: {{use_case: credit}}\n'
    )
    (tmp_path / "context.yaml").write_text("monitored_columns: {credit: [income, age]}\n")
    return folder


def _example(script: Path, *args: str) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, str(script), *args], check=True, capture_output=True, env=os.environ.copy())


def test_evidently_reports_read_in_both_forms(tmp_path):
    from pml_policy.adapters.monitoring import read_report

    when = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
    for drifted in (True, False):
        snapshot, plain = evidently_report(drifted, when)
        (tmp_path / "snapshot.json").write_text(snapshot)
        (tmp_path / "plain.json").write_text(plain)
        full, short = read_report(tmp_path / "snapshot.json"), read_report(tmp_path / "plain.json")
        assert full["computed_at"] == "2026-11-28T06:00:00+00:00" and "computed_at" not in short
        for report in (full, short):
            income, age = report["columns"]["income"], report["columns"]["age"]
            assert income["drift_detected"] is drifted and age["drift_detected"] is False
            assert income["method"] == "K-S p_value" and income["threshold"] == 0.05
            assert report["drift"]["share"] == (0.5 if drifted else 0.0) and report["drift"]["detected"] is drifted
            assert report["tests"]["failed"] == (2 if drifted else 0)


@given(_JSON)
def test_a_report_of_any_shape_is_read_or_refused_never_a_crash(document):
    """Hostile reports: Evidently's keys in any arrangement and any JSON value."""
    from pml_policy.adapters.monitoring import report_from
    from pml_policy.base.errors import EvidenceError

    try:
        report = report_from(document, "report.json")
    except EvidenceError:
        return
    assert isinstance(report, dict) and report["source"] in ("evidently", "json")


def test_check_reads_a_monitoring_report_and_a_stale_one_fails_the_freshness_rule(tmp_path):
    now = dt.datetime.now(dt.UTC)
    folder = _champion_folder(tmp_path, now - dt.timedelta(days=30))
    args = ("check", str(folder), "-p", str(PRODUCTION), "--data", str(tmp_path / "context.yaml"))
    fresh, _ = evidently_report(False, now - dt.timedelta(days=1))
    (tmp_path / "fresh.json").write_text(fresh)
    ok = run_cli(*args, "--monitoring", str(tmp_path / "fresh.json"))
    assert ok.exit_code == 0, ok.output
    stale, _ = evidently_report(False, now - dt.timedelta(days=9))
    (tmp_path / "stale.json").write_text(stale)
    old = run_cli(*args, "--monitoring", str(tmp_path / "stale.json"))
    assert old.exit_code == 1 and "FAIL   champion-health/fresh_monitoring" in old.stdout, old.output
    assert 'planned: revert alias "champion"' in old.stdout
    drifted, _ = evidently_report(True, now - dt.timedelta(hours=2))
    (tmp_path / "drifted.json").write_text(drifted)
    bad = run_cli(*args, "--monitoring", str(tmp_path / "drifted.json"))
    assert (
        bad.exit_code == 1
        and 'drifted(monitoring.columns, pick(data.monitored_columns, tags.use_case)) = ["income"]' in (bad.stdout)
    ), bad.output
    (tmp_path / "broken.json").write_text('{"metric_results": [1, 2]')
    broken = run_cli(*args, "--monitoring", str(tmp_path / "broken.json"))
    assert broken.exit_code == 3 and "broken.json" in broken.stderr and "Traceback" not in broken.stderr


def test_a_recorded_recheck_replays_to_the_same_outcome_a_month_later(tmp_path, private_audit_log):
    """`now` is recorded with the decision: a replay judges freshness at that time, not today's."""
    from pml_policy.adapters.monitoring import read_report
    from pml_policy.audit import AuditStore, Entry
    from pml_policy.engine import Subject

    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    folder = _champion_folder(tmp_path, then - dt.timedelta(days=30))
    snapshot, _ = evidently_report(False, then - dt.timedelta(days=1))
    (tmp_path / "report.json").write_text(snapshot)
    from pml_policy.adapters.lookup import fetch

    champion: Subject = fetch(str(folder)).with_monitoring(read_report(tmp_path / "report.json"))
    decision = evaluate(load([PRODUCTION]), champion, data={"monitored_columns": {"credit": ["income"]}}, now=then)
    decision.kind = "recheck"
    assert decision.outcome == "pass"
    store = AuditStore(private_audit_log)
    store.append([Entry(decision, champion)], "tester", {})
    store.close()
    (tmp_path / "context.yaml").write_text("monitored_columns: {credit: [income]}\n")
    replayed = run_cli("explain", "#1", "--replay", "-p", str(PRODUCTION), "--data", str(tmp_path / "context.yaml"))
    assert (
        replayed.exit_code == 0
        and "pass -> pass" in replayed.stdout
        and "no rule would decide otherwise" in (replayed.stdout)
    ), replayed.output
    today = evaluate(load([PRODUCTION]), champion, data={"monitored_columns": {"credit": ["income"]}})
    assert today.outcome == "fail"  # judged today, the same report is stale


@pytest.mark.slow
def test_recheck_reverts_a_drifting_champion_to_the_earlier_one_that_passed(uri, tmp_path, private_audit_log):
    from mlflow import MlflowClient

    """The README's walkthrough: the example training and monitoring jobs, run as a user runs them."""
    model = f"prod-{uuid.uuid4().hex[:8]}"
    shutil.copytree(PRODUCTION, tmp_path / "policies" / "production")
    shutil.copytree(ROOT / "policies" / "mlflow", tmp_path / "policies" / "mlflow")
    gate = ["-p", str(tmp_path / "policies")]
    (tmp_path / "context.yaml").write_text("monitored_columns: {credit: [income, age]}\n")
    jobs = ROOT / "examples" / "production"
    for auc in ("0.860", "0.900"):  # v1 champion, then v2: judged against it, v1 now fails no_regression
        _example(jobs / "train.py", auc, "--model", model)
        assert run_cli("govern", model, *gate, "--apply").exit_code == 0
    client = MlflowClient(uri)
    assert client.get_registered_model(model).aliases == {"champion": "2"}
    # The team's monitoring job watches the slot: a real Evidently report, counted for the version in it.
    _example(jobs / "monitor.py", model, "@champion", "--drifted")

    plan = run_cli("recheck", model, *gate, "--data", str(tmp_path / "context.yaml"))
    assert plan.exit_code == 1, plan.output
    assert f'model "{model}": champion version 2 re-checked: FAIL' in plan.stdout
    assert 'alias "champion" -> version 1' in plan.stdout and client.get_registered_model(model).aliases == {
        "champion": "2"
    }  # a plan changes nothing
    done = run_cli("recheck", model, *gate, "--data", str(tmp_path / "context.yaml"), "--apply")
    assert done.exit_code == 1, done.output
    assert client.get_registered_model(model).aliases == {"champion": "1"}
    assert client.get_model_version(model, "2").tags["governance.status"] == "reverted"
    seq = done.stdout.split("record #")[1].split(" ")[0]
    shown = run_cli("audit", "show", f"#{seq}")  # the reason: the rules that failed, with what was read
    assert "FAIL   champion-health/key_columns" in shown.stdout and '["income"]' in shown.stdout
    moves = run_cli("audit", "list", "--kind", "change", "--model", model).stdout.splitlines()
    newest = moves[1].split()[0]  # under the header, newest first
    revert = run_cli("audit", "show", f"#{newest}").stdout
    assert 'applied set alias "champion" on' in revert and "version 1" in revert and "reverted from version 2" in revert
    assert "version 1 passes now on its own evidence, judged without a champion" in revert
    assert run_cli("audit", "verify").exit_code == 0
    report = json.loads(
        run_cli("report", "--format", "json", "--model", model, "-p", str(tmp_path / "policies")).stdout
    )
    (prod,) = report["production"]
    # the champion is the version holding the alias now (reverted to 1), not the one re-checked (2)
    assert (prod["model"], prod["champion"], prod["rechecked"], prod["last_outcome"]) == (model, "1", "2", "fail")
    assert prod["drift"][-1]["share"] == 0.5 and prod["evidence_age"].endswith("s")  # seconds old
    (back,) = report["reverts"]
    assert (back["model"], back["to_version"]) == (model, "1") and "reverted from version 2" in back["detail"]
    html = run_cli("report", "--format", "html", "--model", model, "-p", str(tmp_path / "policies")).stdout
    assert 'id="production"' in html and 'aria-label="Share of drifted columns per re-check"' in html
    assert 'id="reverts"' in html

    # v1 was put back a moment ago: the slot's report predates it, so v1 has none yet. Within the
    # grace period that is awaiting monitoring, not a failure (no revert, no tag saying reverted).
    again = run_cli("recheck", model, *gate, "--data", str(tmp_path / "context.yaml"), "--apply")
    assert again.exit_code == 0 and "awaiting monitoring" in again.stdout, again.output
    assert "SKIP   champion-health/fresh_monitoring" in again.stdout
    assert client.get_registered_model(model).aliases == {"champion": "1"}
    assert client.get_model_version(model, "1").tags["governance.status"] == "approved"
    _example(jobs / "monitor.py", model, "1", "--drifted")  # now v1 drifts too
    worse = run_cli("recheck", model, *gate, "--data", str(tmp_path / "context.yaml"), "--apply")
    assert worse.exit_code == 1 and "FAIL   champion-health/drift_share" in worse.stdout, worse.output
    assert (
        "withheld" in worse.stdout
        and "no earlier holder" in worse.stdout
        and "version 2 failed its re-check" in worse.stdout
    )
    assert client.get_registered_model(model).aliases == {"champion": "1"}  # never simply removed
    # It keeps the alias, so its tag says what is true: failing, not reverted.
    assert client.get_model_version(model, "1").tags["governance.status"] == "failing"
    # v2 ranks first, but it failed in production and has not changed since: not promoted again.
    regoverned = run_cli("govern", model, *gate, "--apply")
    assert regoverned.exit_code == 0 and "failed its re-check in production" in regoverned.stdout, regoverned.output
    assert client.get_registered_model(model).aliases == {"champion": "1"}
    # Their re-checks' tags stand: govern does not put their promotion decisions' `approved` back.
    tags = {v: client.get_model_version(model, v).tags["governance.status"] for v in ("1", "2")}
    assert tags == {"1": "failing", "2": "reverted"}, regoverned.output
