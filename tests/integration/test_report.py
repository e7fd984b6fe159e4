"""Compliance reports read by real consumers and databases: the HTML report's numbers read from the DOM
by headless Chromium, and a report from PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser

from ..helpers import run_cli
from ..support.chromium import chromium
from ..support.report import _counts, _policies, _sql


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


def test_the_html_report_renders_in_chromium_with_the_right_numbers(decided, tmp_path):
    url, policies = decided
    page = tmp_path / "r.html"
    assert run_cli("report", "--period", "last-7d", "-o", str(page), "-p", str(policies)).exit_code == 0
    assert "<script" not in page.read_text()  # no JavaScript: works offline and in print
    browser = chromium()
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
