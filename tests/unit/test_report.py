"""Compliance reports from a SQLite log: the numbers in Markdown and JSON equal counts made directly in
SQL; periods; a tampered log; templates; the scheduler's file names."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest

from pml_policy.adapters import fetch
from pml_policy.audit import AuditStore, Entry
from pml_policy.engine import evaluate, load

from ..helpers import ROOT, run_cli
from ..support.markdown import plain
from ..support.report import _counts, _sql, _sql_exec


def _tamper(url: str, statement: str) -> None:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(statement)


def test_json_numbers_equal_sql_counts(decided):
    url, policies = decided
    report = json.loads(run_cli("report", "--period", "last-7d", "--format", "json", "-p", str(policies)).stdout)
    counts = _counts(url)
    assert {k: report["totals"][k] for k in counts} == counts and counts["decisions"] == 12
    rule_failures = {
        (p, r): n
        for p, r, n in _sql(
            url,
            "SELECT policy, rule, COUNT(*) FROM pml_rule_results WHERE outcome IN ('fail', 'error') GROUP BY policy, "
            "rule",
        )
    }
    found = report["failing_rules"] + report["advisory_findings"]
    assert {(f["policy"], f["rule"]): f["failures"] for f in found} == rule_failures
    enforce = dict(_sql(url, "SELECT DISTINCT policy || '/' || rule, enforce FROM pml_rule_results"))
    assert {f["enforce"] for f in report["failing_rules"]} <= {"hard", "soft"}  # the gating ones first...
    assert [f["enforce"] for f in report["advisory_findings"]] == ["advisory"]  # ...advisory ones apart
    assert all(f["enforce"] == enforce[f"{f['policy']}/{f['rule']}"] for f in found)
    assert report["failing_rules"][0]["last_message"] and report["failing_rules"][0]["last_observed"]
    (model,) = report["models"]
    assert (
        model["model"] == "credit-scorer"
        and model["decisions"] == 12
        and model["last_outcome"] == "fail"
        and model["why"]
    )
    assert [w["waiver"] for w in report["waivers_expiring"]] == ["RISK-1"]
    assert [w["waiver"] for w in report["waivers_expired_in_use"]] == ["RISK-0"]
    used = dict(_sql(url, "SELECT waiver, COUNT(*) FROM pml_waivers_used GROUP BY waiver"))
    assert {w["waiver"]: w["uses"] for w in report["waivers_used"]} == used
    assert {(p["name"], p["decisions"]) for p in report["policies"]} == {
        (n, 12) for n in ("documentation", "fairness-high-risk", "promotion-gate", "reproducibility")
    }
    head = _sql(url, "SELECT hash FROM pml_head")[0][0]
    how = "every record re-hashed and linked, every table beside it and the Merkle tree checked"
    assert report["chain"] == {
        "verified": True,
        "ok": True,
        "records": 12,
        "head": head,
        "problem": None,
        "how": how,
        "distrust": None,
    }


def test_markdown_carries_the_same_numbers(decided):
    url, policies = decided
    md = run_cli("report", "--period", "last-7d", "--format", "md", "-p", str(policies)).stdout
    c = _counts(url)
    assert f"| {c['decisions']} | {c['passed']} (" in md and f"| {c['failed']} (" in md
    assert "Expired but still referenced: RISK-0" in md and "Intact: 12 records" in md


def test_a_tampered_log_opens_the_report_and_its_first_line_or_with_strict_writes_none(decided, tmp_path):
    url, policies = decided
    _sql_exec(url, "UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 12")
    result = run_cli("report", "--period", "last-7d", "--format", "md", "-p", str(policies))
    assert result.exit_code == 1
    assert result.stderr.startswith("TAMPERED: the audit log failed verification: record #12 was altered")
    first = plain(result.stdout.split("\n\n")[0]).strip()
    assert first.startswith("TAMPERED AUDIT LOG: record #12 was altered") and "none can be trusted" in first
    html = run_cli("report", "--period", "last-7d", "--format", "html", "-p", str(policies)).stdout
    assert 'id="tampered"' in html and html.index('id="tampered"') < html.index("<h1>")
    out = tmp_path / "report.html"
    strict = run_cli("report", "--period", "last-7d", "-o", str(out), "--strict", "-p", str(policies))
    assert strict.exit_code == 1 and not out.exists() and "--strict: no report written" in strict.stderr
    refused = run_cli("report", "--strict", "--no-verify")
    assert refused.exit_code == 2 and "cannot go with --no-verify" in refused.stderr


def test_without_policies_the_waivers_come_from_where_the_log_registered_them(decided, tmp_path, monkeypatch):
    url, policies = decided
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no ./policies, no -p
    (policies / "old").mkdir()
    (policies / "old" / "draft.pml").write_text("policy {")  # below the folder: never walked into
    report = json.loads(run_cli("report", "--period", "last-7d", "--format", "json").stdout)
    assert [w["waiver"] for w in report["waivers_expiring"]] == ["RISK-1"]
    assert report["waivers_from"] == f"the folders the log registered its policies from: {policies}"
    shutil.rmtree(policies)  # gone from where the log saw them: the report cannot tell, and says so
    md = run_cli("report", "--period", "last-7d", "--format", "md").stdout
    assert "Expiring within 30 days: unknown: no policy files" in plain(md)


@pytest.mark.parametrize(
    ("name", "since", "until"),
    [
        ("2026-Q4", "2026-10-01", "2027-01-01"),
        ("2026-11", "2026-11-01", "2026-12-01"),
        ("last-month", "2026-10-01", "2026-11-01"),
        ("last-7d", "2026-11-20T12:00:00", "2026-11-27T12:00:00"),
    ],
)
def test_periods(name, since, until):
    from pml_policy.reports.period import named

    p = named(name, dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    assert (p.since.isoformat()[: len(since)], p.until.isoformat()[: len(until)]) == (since, until)


def test_a_bad_period_says_what_is_accepted():
    result = run_cli("report", "--period", "last-week")
    assert result.exit_code == 2 and "use last-7d (any number of days), last-month, 2026-Q4 or 2026-11" in result.stderr


def test_the_scheduler_names_weekly_files_by_their_period(decided, tmp_path):
    from pml_policy.usecases.reporting import run_schedule

    written = []
    clock = iter([dt.datetime(2026, 11, 30, 7, tzinfo=dt.UTC)] * 3)
    run_schedule(
        "0 6 * * MON",
        tmp_path,
        "md",
        lambda period, path: written.append((period.slug, path.name)) or path.write_text("x"),
        once=True,
        now=lambda: next(clock),
    )
    assert written == [("2026-11-23_2026-11-30", "report-2026-11-23_2026-11-30.md")]


def test_an_output_name_that_does_not_match_the_format_is_refused(decided, tmp_path):
    _, policies = decided
    wrong = run_cli("report", "--format", "md", "-o", str(tmp_path / "report.pdf"), "-p", str(policies))
    assert wrong.exit_code == 2 and "names a pdf file, but --format is md" in wrong.stderr
    unknown = run_cli("report", "-o", str(tmp_path / "report.txt"), "-p", str(policies))
    assert unknown.exit_code == 2 and "cannot tell the report format" in unknown.stderr
    assert not (tmp_path / "report.pdf").exists() and not (tmp_path / "report.txt").exists()
    md = run_cli("report", "--format", "md", "-o", str(tmp_path / "notes.txt"), "-p", str(policies))
    assert md.exit_code == 0 and (tmp_path / "notes.txt").read_text().startswith("## Model governance report")
    bad = tmp_path / "bad.yaml"
    bad.write_text("organisation: [1, 2]\n")
    config = run_cli("report", "--format", "md", "--report-config", str(bad), "-p", str(policies))
    assert config.exit_code == 2 and "organisation" in config.stderr and "Traceback" not in config.output


def test_the_html_report_names_the_organisation_and_reads_times_whole(decided, tmp_path, monkeypatch):
    _, policies = decided
    monkeypatch.setenv("PML_ORGANISATION", "Example <Bank>")
    html = run_cli("report", "--period", "last-7d", "--format", "html", "-p", str(policies)).stdout
    assert '<p class="org" id="organisation">Example &lt;Bank&gt;</p>' in html
    assert "max-width: 960px" not in html  # the page's width is used
    assert "white-space: nowrap" in html and not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", html)
    assert re.search(r"<time[^>]*>\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC</time>", html)


def test_an_organisations_own_template_is_used_and_its_mistakes_are_located(decided, tmp_path):
    url, policies = decided
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.md.j2").write_text(
        "# {{ r.totals.decisions }} decisions, {{ r.totals.failed }} failed ({{ r.period }})\n"
    )
    own = run_cli(
        "report", "--period", "last-7d", "--format", "md", "--template-dir", str(templates), "-p", str(policies)
    )
    assert own.stdout == f"# 12 decisions, {_counts(url)['failed']} failed (last-7d)\n"
    assert (
        "<h1>Model governance report</h1>"
        in run_cli("report", "--period", "last-7d", "--format", "html", "--template-dir", str(templates)).stdout
    )  # ours fill in
    (templates / "report.md.j2").write_text("{{ r.no_such_field }}\n")
    broken = run_cli("report", "--period", "last-7d", "--format", "md", "--template-dir", str(templates))
    assert (
        broken.exit_code == 2 and "report template report.md.j2" in broken.stderr and "no_such_field" in broken.stderr
    )


def test_a_version_checked_many_times_is_one_version_and_plans_are_left_out(tmp_path):
    """The headline counts model versions by their latest decision; every evaluation is counted
    beside it; plans (govern without --apply) are recorded but never counted as decisions."""
    url = f"sqlite:///{tmp_path}/audit.db"
    for example in ("credit-fail", "credit-fail", "credit-pass"):  # v10 fails twice, v8 passes
        assert run_cli("check", f"examples/{example}", "-p", "policies/starter", "--audit", url).exit_code in (0, 1)
    policies = load([ROOT / "policies" / "starter"])
    planned = evaluate(policies, fetch(str(ROOT / "examples" / "credit-warn")))
    planned.kind = "plan"
    store = AuditStore(url)
    store.append([Entry(planned, fetch(str(ROOT / "examples" / "credit-warn")))], "tester", {})
    store.close()
    report = json.loads(run_cli("report", "--period", "last-7d", "--format", "json", "--audit", url).stdout)
    t = report["totals"]
    assert (t["decisions"], t["passed"], t["failed"], t["warned"], t["plans"]) == (3, 1, 2, 0, 1)
    assert (t["versions"], t["versions_passed"], t["versions_failed"]) == (2, 1, 1)
    md = run_cli("report", "--period", "last-7d", "--format", "md", "--audit", url).stdout
    assert "| 2 | 1 (50%) | 0 (0%) | 0 (0%) | 1 (50%) |" in md and "1 plan (govern without `--apply`) left out" in md
    # a plan made to look like a gating decision by hand is found
    _tamper(url, "UPDATE pml_decisions SET kind = 'decision' WHERE kind = 'plan'")
    verify = run_cli("audit", "verify", "--audit", url)
    assert (
        verify.exit_code == 1
        and "record #4 was altered: its kind is 'decision' but its body says 'plan'" in verify.stderr
    )
