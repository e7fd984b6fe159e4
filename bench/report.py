"""Report time and peak memory over audit logs of 10k, 100k and 1M decisions (SQLite).

Each log is written in bulk: real decisions of the starter policies (pass, warn and fail, ten rule
results each, with their evidence) copied into chained records of their own, spread over 90 days
and 8 models, so that `audit verify` finds every record and its rows as the write path makes them.
Then `pml-policy report --period last-90d --format json` runs as a user runs it (from an installed
wheel), timed, with its peak memory read by /usr/bin/time: with the chain's verification (which
reads every record) and with --no-verify (the SQL aggregates alone), interleaved round by round.

    python bench/report.py [--sizes 10000,100000,1000000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bulk_logs import fill
from measure import ROOT, Figures, Row, arguments, interleaved, positive, ratio, sizes, verdict
from pml_runs import installed_wheel, run_pml

TARGET_1M = 6.0  # seconds for a report over 1,000,000 decisions, chain verified (issue #15)


def reporter(url: str, verify: bool, wheel: dict[str, str], peaks: list[float]) -> Callable[[], None]:
    args = ["report", "--period", "last-90d", "--format", "json", "-o", "/dev/null", "--audit", url]
    args += ["-p", str(ROOT / "policies"), *([] if verify else ["--no-verify"])]

    def run() -> None:
        peaks.append(run_pml(*args, env=wheel)[1])

    return run


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", type=sizes, default=[10_000, 100_000, 1_000_000], help="comma-separated")
    parser.add_argument("--rounds", type=positive, default=3)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.rounds = [2000], 2
    figures = Figures("report", args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = installed_wheel(Path(tmp))
        for size in args.sizes:
            url = f"sqlite:///{tmp}/audit-{size}.db"
            filled = fill(url, size)
            print(f"  (wrote {size:,} records in bulk in {filled:.0f} s)", flush=True)
            peaks: dict[str, list[float]] = {"verified": [], "aggregates": []}
            series = interleaved(
                {
                    "verified": (1, reporter(url, True, wheel, peaks["verified"])),
                    "aggregates": (1, reporter(url, False, wheel, peaks["aggregates"])),
                },
                args.rounds,
            )
            verified, aggregates = series["verified"], series["aggregates"]
            target = (
                verdict(verified.seconds().median, TARGET_1M, figures.quick, False, " s") if size == 1_000_000 else ""
            )
            figures.row(
                "report",
                Row(
                    f"report over {size:,} decisions, chain verified",
                    f"{verified.seconds().show('.2f', ' s')}, peak {max(peaks['verified']):.0f} MiB",
                    f"--no-verify (aggregates alone) {aggregates.seconds().show('.2f', ' s')}, "
                    f"peak {max(peaks['aggregates']):.0f} MiB: "
                    f"verified takes {ratio(aggregates, verified).show('.1f', 'x')} as long",
                    target,
                    verified.loads().show(".1f"),
                ),
            )
    figures.save(args.record)


if __name__ == "__main__":
    main()
