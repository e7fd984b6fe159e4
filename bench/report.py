"""Report time and peak memory over audit logs of 10k, 100k and 1M decisions (SQLite).

Each log is written in bulk: chained decision records spread over 90 days, 8 models, four rule
results each (one of them failing now and then), and a waiver use every 50 decisions. Then
`pml-policy report --period … --format json` runs as a user runs it, timed, with its peak memory
read by /usr/bin/time: once with the chain's verification (which reads every record) and once
with --no-verify (the SQL aggregates alone).

    python bench/report.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RULES = ("auc_floor", "calibration", "slices", "git_commit")


def fill(url: str, count: int, batch: int = 20_000) -> float:
    from sqlalchemy import column, table, text

    from pml_policy.audit import AuditStore, chain
    from pml_policy.audit.rows import utc_text

    store = AuditStore(url)
    decisions = table("pml_decisions", *(column(c) for c in (*chain.HASHED, "hash")))
    rules = table(
        "pml_rule_results",
        *(
            column(c)
            for c in (
                "decision_seq",
                "policy",
                "policy_version",
                "policy_digest",
                "rule",
                "enforce",
                "outcome",
                "message",
                "required",
                "observed",
                "waiver",
            )
        ),
    )
    waivers = table("pml_waivers_used", *(column(c) for c in ("decision_seq", "waiver", "policy", "rule", "expired")))
    used = table("pml_decision_policies", *(column(c) for c in ("decision_seq", "policy", "version", "digest")))
    start_time = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    prev, seq, started = chain.GENESIS, 0, time.perf_counter()
    with store.db.engine.begin() as conn:
        while seq < count:
            d_rows, r_rows, w_rows, p_rows = [], [], [], []
            for _ in range(min(batch, count - seq)):
                seq += 1
                outcome = "fail" if seq % 7 == 0 else ("warn" if seq % 5 == 0 else "pass")
                row = {
                    "seq": seq,
                    "id": uuid.uuid4().hex,
                    "time": utc_text(start_time + dt.timedelta(seconds=seq * 90 * 86400 / count)),
                    "actor": "bench",
                    "ci": "{}",
                    "subject_ref": f"runs/{seq}",
                    "subject_digest": "0" * 64,
                    "model": f"model-{seq % 8}",
                    "version": str(seq // 8),
                    "outcome": outcome,
                    "engine": "python",
                    "body": "{}",
                    "evidence": "{}",
                    "prev_hash": prev,
                }
                row["hash"] = prev = chain.record_hash(row)
                d_rows.append(row)
                p_rows.append({"decision_seq": seq, "policy": "promotion-gate", "version": "1.0.0", "digest": "a" * 64})
                for i, rule in enumerate(RULES):
                    failed = outcome == "fail" and i == seq % 4
                    r_rows.append(
                        {
                            "decision_seq": seq,
                            "policy": "promotion-gate",
                            "policy_version": "1.0.0",
                            "policy_digest": "a" * 64,
                            "rule": rule,
                            "enforce": "hard",
                            "outcome": "fail" if failed else "pass",
                            "message": f"metrics.{rule} = 0.7, required >= 0.8",
                            "required": "metrics.x >= 0.8",
                            "observed": '{"metrics.x":0.7}',
                            "waiver": None,
                        }
                    )
                if seq % 50 == 0:
                    w_rows.append(
                        {
                            "decision_seq": seq,
                            "waiver": "RISK-1",
                            "policy": "promotion-gate",
                            "rule": "calibration",
                            "expired": seq % 100 == 0,
                        }
                    )
            conn.execute(decisions.insert(), d_rows)
            conn.execute(rules.insert(), r_rows)
            conn.execute(used.insert(), p_rows)
            if w_rows:
                conn.execute(waivers.insert(), w_rows)
        conn.execute(text("UPDATE pml_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": prev})
    store.close()
    return time.perf_counter() - started


def report(url: str, verify: bool) -> tuple[float, float]:
    exe = Path(sys.executable).with_name("pml-policy")
    command = [
        "/usr/bin/time",
        "-f",
        "%M",
        str(exe),
        "report",
        "--period",
        "last-90d",
        "--format",
        "json",
        "-o",
        "/dev/null",
        "--audit",
        url,
        "-p",
        str(ROOT / "policies"),
    ]
    if not verify:
        command.append("--no-verify")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    print(f"{'decisions':>10} {'fill s':>8} {'report s':>9} {'peak MiB':>9} {'--no-verify s':>14} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            url = f"sqlite:///{tmp}/audit-{size}.db"
            filled = fill(url, size)
            with_verify, peak = report(url, True)
            without, peak_nv = report(url, False)
            print(
                f"{size:>10,} {filled:8.1f} {with_verify:9.2f} {peak:9.0f} {without:14.2f} {peak_nv:9.0f}", flush=True
            )


if __name__ == "__main__":
    main()
