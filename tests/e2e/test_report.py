"""Compliance reports from the command as a process: the scheduler across a restart, the PDF report
read back with poppler, and a PDF asked for without WeasyPrint."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import missing_service, needs

from ..helpers import ROOT, run_cli
from ..support.report import _counts, _sql


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        missing_service(f"{tool} is not installed (apt-get install poppler-utils)")
    return str(path)


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
        assert re.search(rf"^\s*{re.escape(rule)}\s+(?:hard\s+|soft\s+)?{n}\s", body, re.M), rule
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", body)  # readable times: no seconds' fractions
    last = page_text("-f", str(len(pngs)), "-l", str(len(pngs)))
    assert "Sign-off" in last and "Model risk officer" in last and "Chief risk officer" in last


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
