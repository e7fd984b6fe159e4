"""Every bench runs, and stays running: each script in bench/ in quick mode (tiny sizes), as a
user runs it, its figures saved and written into the benchmarks page. A bench that breaks, or
whose engines disagree, is a red build."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PG_ADMIN_URL, missing_service

from ..helpers import ROOT

BENCH = ROOT / "bench"
STORES = ("sqlite", "postgresql")
# script: (extra options, the tables its figures must hold)
BENCHES = {
    "engine": ([], {"engines": 7}),
    "audit": ([], {f"{t} ({db})": 3 for db in STORES for t in ("appends", "verify")} | {"cold start": 2}),
    "report": ([], {"report": 2}),
    "impact": ([], {"impact": 1}),
    "analyze": ([], {"analyze": 2}),
    "mlflow_reads": ([], {"12 versions on MLflow": 4}),
    "reconcile": ([], {"reconcile": 1}),
    "service": (["--mlflow", "--client", "wrk"], {"service (sqlite)": 3, "service (postgresql)": 3, "webhooks": 1}),
    "service-python-clients": (["--client", "python", "--stores", "sqlite"], {"service (sqlite)": 3}),
}


def test_every_bench_script_is_run_here():
    scripts = {p.stem for p in BENCH.glob("*.py") if 'if __name__ == "__main__":' in p.read_text()} - {"readme"}
    assert scripts == {name.split("-")[0] for name in BENCHES}


def _needs(name: str) -> None:
    if name in ("audit", "service"):
        try:
            import psycopg

            psycopg.connect(PG_ADMIN_URL, connect_timeout=5).close()
        except Exception as exc:  # noqa: BLE001 (any reason it is unreachable)
            missing_service(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).strip()[:200]}")
    if "wrk" in BENCHES[name][0] and shutil.which("wrk") is None:
        missing_service("wrk is not installed (apt-get install wrk)")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BENCHES))
def test_bench_runs_in_quick_mode(name: str, tmp_path: Path):
    _needs(name)
    options, tables = BENCHES[name]
    script = BENCH / f"{name.split('-')[0]}.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--record", str(tmp_path), *options],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert saved["quick"] is True
    assert {table: len(rows) for table, rows in saved["tables"].items()} == tables
    for rows in saved["tables"].values():
        for row in rows:
            assert re.search(r"\d", row["figure"]), row  # a measured figure, not a blank
            assert row["load"], row
            assert "MISSED" not in row["target"] and "met" not in row["target"].split(":")[-1]  # quick: not judged
    page = subprocess.run(
        [sys.executable, str(BENCH / "readme.py"), "--results", str(tmp_path), "--output", str(tmp_path / "README.md")],
        capture_output=True,
        text=True,
    )
    assert page.returncode == 0, page.stderr
    text = (tmp_path / "README.md").read_text()
    assert "(quick sizes: not a measurement)" in text
    for table in tables:
        assert f"**{table}**" in text
