"""Report time and peak memory over audit logs of 10k, 100k and 1M decisions (SQLite).

Each log is written in bulk: real decisions of the starter policies (pass, warn and fail, ten rule
results each, with their evidence) copied into chained records of their own, spread over 90 days
and 8 models, so that `audit verify` finds every record and its rows as the write path makes them. Then
`pml-policy report --period … --format json` runs as a user runs it, timed, with its peak memory
read by /usr/bin/time: once with the chain's verification (which reads every record) and once
with --no-verify (the SQL aggregates alone).

    python bench/report.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import fill, run_pml  # noqa: E402  (bench/, beside this script)

TARGET_1M = 6.0  # seconds for a report over 1,000,000 decisions, chain verified (issue #15)


def report(url: str, verify: bool) -> tuple[float, float]:
    args = ["report", "--period", "last-90d", "--format", "json", "-o", "/dev/null", "--audit", url]
    args += ["-p", str(ROOT / "policies"), *([] if verify else ["--no-verify"])]
    elapsed, peak, _ = run_pml(*args)
    return elapsed, peak


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
            if size == 1_000_000:
                met = with_verify <= TARGET_1M
                print(f"  1,000,000 with the chain verified: target <= {TARGET_1M:g} s: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
