"""What the report tests of several tiers share."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text

from ..helpers import ROOT

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


def _sql(url: str, query: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(query)))
    engine.dispose()
    return rows


def _sql_exec(url: str, statement: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def _counts(url: str) -> dict[str, int]:
    by_outcome = dict(_sql(url, "SELECT outcome, COUNT(*) FROM pml_decisions GROUP BY outcome"))
    return {
        "decisions": sum(by_outcome.values()),
        "passed": by_outcome.get("pass", 0),
        "warned": by_outcome.get("warn", 0),
        "failed": by_outcome.get("fail", 0),
    }
