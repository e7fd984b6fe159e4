"""Compliance reports: the numbers in HTML (read from the DOM by headless Chromium), Markdown and
JSON equal counts made directly in SQL on the audit log; periods; the scheduler."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import missing_service, needs
from pml_policy.adapters import fetch
from pml_policy.audit import AuditStore, Entry
from pml_policy.engine import evaluate, load

from .helpers import ROOT, run_cli

TODAY = dt.datetime.now(dt.UTC).date()


def _policies(tmp_path: Path) -> Path:
    """The starter gate, plus waivers: one expiring within 30 days, one expired (yet referenced)."""
    folder = tmp_path / "policies"
    shutil.copytree(ROOT / "policies" / "starter", folder)
    soon, past = TODAY + dt.timedelta(days=10), TODAY - dt.timedelta(days=3)
    (folder / "waivers.pml").write_text(f"""
waiver "RISK-1" {{
  policy "fairness-high-risk" rule parity_gap
  model "credit-scorer" version "*"
  reason "label delay" approved by "cro@bank.example" expires {soon.isoformat()}
}}
waiver "RISK-0" {{
  policy "promotion-gate" rule no_regression
  model "credit-scorer" version "*"
  reason "old calibration set" approved by "cro@bank.example" expires {past.isoformat()}
}}
""")
    return folder


@pytest.fixture
def decided(tmp_path, private_audit_log):
    """A dozen decisions through the CLI, as a new user makes them."""
    policies = _policies(tmp_path)
    for example in ["credit-pass"] * 5 + ["credit-warn"] * 3 + ["credit-fail"] * 4:
        result = run_cli("check", f"examples/{example}", "--champion", "examples/credit-champion", "-p", str(policies))
        assert result.exit_code in (0, 1), result.output
    return private_audit_log, policies


def _sql(url: str, query: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(query)))
    engine.dispose()
    return rows


def _counts(url: str) -> dict[str, int]:
    by_outcome = dict(_sql(url, "SELECT outcome, COUNT(*) FROM pml_decisions GROUP BY outcome"))
    return {
        "decisions": sum(by_outcome.values()),
        "passed": by_outcome.get("pass", 0),
        "warned": by_outcome.get("warn", 0),
        "failed": by_outcome.get("fail", 0),
    }


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
    assert {(f["policy"], f["rule"]): f["failures"] for f in report["failing_rules"]} == rule_failures
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
    assert report["chain"] == {"verified": True, "ok": True, "records": 12, "head": head, "problem": None}


def test_markdown_carries_the_same_numbers(decided):
    url, policies = decided
    md = run_cli("report", "--period", "last-7d", "--format", "md", "-p", str(policies)).stdout
    c = _counts(url)
    assert f"| {c['decisions']} | {c['passed']} (" in md and f"| {c['failed']} (" in md
    assert "Expired but still referenced: RISK-0" in md and "Intact: 12 records" in md


class _Counts(HTMLParser):
    """The numbers the page shows, found by their data-count attributes in the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self._key: str | None = None

    def handle_starttag(self, tag, attrs):
        self._key = dict(attrs).get("data-count") or dict(attrs).get("data-failures")

    def handle_data(self, data):
        if self._key and data.strip():
            self.found[self._key] = data.strip()
            self._key = None


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    missing_service("Chromium is not installed (apt-get install chromium)")


def test_the_html_report_renders_in_chromium_with_the_right_numbers(decided, tmp_path):
    url, policies = decided
    page = tmp_path / "r.html"
    assert run_cli("report", "--period", "last-7d", "-o", str(page), "-p", str(policies)).exit_code == 0
    assert "<script" not in page.read_text()  # no JavaScript: works offline and in print
    browser = _chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    parser = _Counts()
    parser.feed(dom)
    counts = _counts(url)
    assert {k: int(parser.found[k]) for k in counts} == counts
    failures = {
        f"{p}/{r}": n
        for p, r, n in _sql(
            url,
            "SELECT policy, rule, COUNT(*) FROM pml_rule_results WHERE outcome IN ('fail', 'error') GROUP BY policy, "
            "rule",
        )
    }
    assert {k: int(v) for k, v in parser.found.items() if "/" in k} == failures
    assert "Intact: 12 records verified" in dom and "<svg" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, "--window-size=1000,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000  # a page, not a blank


def test_a_report_from_postgresql(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PML_AUDIT_URL", postgres_url)
    policies = _policies(tmp_path)
    for example in ("credit-pass", "credit-warn", "credit-fail"):
        run_cli("check", f"examples/{example}", "--champion", "examples/credit-champion", "-p", str(policies))
    report = json.loads(run_cli("report", "--period", "last-7d", "--format", "json", "-p", str(policies)).stdout)
    assert report["totals"]["decisions"] == 3 and report["chain"]["ok"] is True
    assert report["totals"] == {**report["totals"], "passed": 1, "warned": 1, "failed": 1}
    assert [w["waiver"] for w in report["waivers_expired_in_use"]] == ["RISK-0"]


def test_a_tampered_log_is_reported_and_exits_1(decided):
    url, policies = decided
    _sql_exec(url, "UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 12")
    result = run_cli("report", "--period", "last-7d", "--format", "md", "-p", str(policies))
    assert result.exit_code == 1 and "**TAMPERED**: record #12 was altered" in result.stdout


def _sql_exec(url: str, statement: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


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


@pytest.mark.slow
def test_the_scheduler_writes_one_report_per_period_and_a_restart_writes_no_duplicate(decided, tmp_path):
    url, policies = decided
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "pml_policy.cli",
        "report",
        "--schedule",
        "* * * * * */2",
        "--out-dir",
        str(out),
        "--format",
        "md",
        "-p",
        str(policies),
    ]

    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.md"))) < 2 and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")}
    assert len(first) >= 2 and all(
        re.fullmatch(r"report-\d{4}-\d\d-\d\dT\d{6}_\d{4}-\d\d-\d\dT\d{6}\.md", n) for n in first
    )
    spans = sorted(n[len("report-") : -len(".md")].split("_") for n in first)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # one file per period, none skipped
    # Restart: the period that was last written is caught up again, and skipped, not rewritten.
    subprocess.run([*command, "--once"], cwd=ROOT, capture_output=True, check=True)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")}
    assert all(after[n] == first[n] for n in first)
    assert len(after) - len(first) <= 1  # at most the one period that ended meanwhile


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


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        missing_service(f"{tool} is not installed (apt-get install poppler-utils)")
    return str(path)


def test_the_pdf_report_has_a_cover_pages_the_same_numbers_and_a_sign_off_block(decided, tmp_path):
    """Rendered for real (WeasyPrint), then read back as a reader would: each page drawn to PNG,
    and the numbers taken from the PDF's own text."""
    needs("weasyprint", "pdf")
    url, policies = decided
    config = tmp_path / "pml-report.yaml"
    config.write_text("organisation: Example Bank\nsign_off: [Model risk officer, Chief risk officer]\n")
    pdf = tmp_path / "report.pdf"
    out = run_cli("report", "--period", "last-7d", "-o", str(pdf), "-p", str(policies), "--report-config", str(config))
    assert out.exit_code == 0, out.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run([_poppler("pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) >= 3 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    def page_text(*pages: str) -> str:
        args = [_poppler("pdftotext"), "-layout", *pages, str(pdf), "-"]
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout

    cover = page_text("-f", "1", "-l", "1")
    assert "Example Bank" in cover and "Model governance report" in cover and "last-7d" in cover
    assert "intact, 12 records" in cover and f"Page 1 of {len(pngs)}" in cover
    body = page_text()
    counts = _counts(url)
    plain = subprocess.run([_poppler("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    cards = re.search(
        r"decisions\s+passed\s+warned\s+pending\s+failed\s+promotions\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+(\d+)", plain
    )
    assert cards is not None, plain[:2000]
    assert dict(zip(["decisions", "passed", "warned", "failed"], map(int, cards.groups()))) == counts
    failures = dict(
        _sql(url, "SELECT policy || '/' || rule, COUNT(*) FROM pml_rule_results WHERE outcome IN ('fail', 'error') "
             "GROUP BY policy, rule")
    )  # fmt: skip
    for rule, n in failures.items():
        assert re.search(rf"^\s*{re.escape(rule)}\s+{n}\s", body, re.M), rule
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", body)  # readable times: no seconds' fractions
    last = page_text("-f", str(len(pngs)), "-l", str(len(pngs)))
    assert "Sign-off" in last and "Model risk officer" in last and "Chief risk officer" in last


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


def test_a_pdf_without_weasyprint_says_what_to_install_before_reading_the_log(tmp_path):
    code = (
        "import sys; sys.modules['weasyprint'] = None\n"  # as if it were not installed
        "from pml_policy.cli import main\n"
        f"sys.argv = ['pml-policy', 'report', '-o', {str(tmp_path / 'r.pdf')!r}, '--audit', 'sqlite:///{tmp_path}/none.db']\n"
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "pip install 'pml-policy[pdf]'" in done.stderr, done.stderr
    assert "no audit log" not in done.stderr and not (tmp_path / "r.pdf").exists()


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


def _tamper(url: str, statement: str) -> None:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(statement)
