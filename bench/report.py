"""Report time and peak memory over audit logs of 10k, 100k and 1M decisions (SQLite).

Each log is written in bulk: real decisions of the starter policies (pass, warn and fail, ten rule
results each, with their evidence) copied into chained records of their own, spread over 90 days
and 8 models, so that `audit verify` finds every record and its rows as the write path makes them.
Then `pml-policy report --period last-90d --format json` runs as a user runs it (from an installed
wheel), timed, with its peak memory read by /usr/bin/time, three ways interleaved round by round:
verifying the whole chain (which reads every record), verifying from a signed checkpoint at 99% of
the log (`--from`: the leaves before it against its root, every record after it in full), and
--no-verify (the SQL aggregates alone).

    python bench/report.py [--sizes 10000,100000,1000000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bulk_logs import fill
from measure import ROOT, Figures, Row, arguments, interleaved, positive, ratio, sizes, verdict
from pml_runs import installed_wheel, run_pml

TARGET_1M = 6.0  # seconds for a report over 1,000,000 decisions, from a checkpoint at 990,000 (issue #32)


def reporter(url: str, verify: list[str], wheel: dict[str, str], peaks: list[float]) -> Callable[[], None]:
    args = ["report", "--period", "last-90d", "--format", "json", "-o", "/dev/null", "--audit", url]
    args += ["-p", str(ROOT / "policies"), *verify]

    def run() -> None:
        peaks.append(run_pml(*args, env=wheel)[1])

    return run


def checkpoint_at(url: str, size: int, prefix: Path) -> list[str]:
    """The options of a report from a checkpoint of the log's first `size` records, signed with a
    key made for it (as `audit checkpoint` would have signed it when the log had that many)."""
    from pml_policy.audit import AuditStore
    from pml_policy.audit.signing import Signer, checkpoint, keygen

    private, public = keygen(prefix)
    store = AuditStore(url, create=False)
    _, root = store.tree_root(size)
    note = prefix.with_suffix(".checkpoint")
    note.write_text(checkpoint(Signer(private), store.origin, size, root))
    store.close()
    return ["--from", str(note), "--public-key", str(public)]


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
            trusted = checkpoint_at(url, size - size // 100, Path(tmp) / f"cp-{size}")
            peaks: dict[str, list[float]] = {"verified": [], "from": [], "aggregates": []}
            series = interleaved(
                {
                    "verified": (1, reporter(url, [], wheel, peaks["verified"])),
                    "from": (1, reporter(url, trusted, wheel, peaks["from"])),
                    "aggregates": (1, reporter(url, ["--no-verify"], wheel, peaks["aggregates"])),
                },
                args.rounds,
            )
            verified, from_checkpoint, aggregates = series["verified"], series["from"], series["aggregates"]
            target = (
                verdict(from_checkpoint.seconds().median, TARGET_1M, figures.quick, False, " s")
                if size == 1_000_000
                else ""
            )
            figures.row(
                "report",
                Row(
                    f"report over {size:,} decisions, from a checkpoint at {size - size // 100:,}",
                    f"{from_checkpoint.seconds().show('.2f', ' s')}, peak {max(peaks['from']):.0f} MiB",
                    f"whole chain verified {verified.seconds().show('.2f', ' s')}: from the checkpoint takes "
                    f"{ratio(verified, from_checkpoint).show('.2f', 'x')} as long",
                    target,
                    from_checkpoint.loads().show(".1f"),
                ),
            )
            figures.row(
                "report",
                Row(
                    f"report over {size:,} decisions, whole chain verified",
                    f"{verified.seconds().show('.2f', ' s')}, peak {max(peaks['verified']):.0f} MiB",
                    f"--no-verify (aggregates alone) {aggregates.seconds().show('.2f', ' s')}, "
                    f"peak {max(peaks['aggregates']):.0f} MiB: "
                    f"verified takes {ratio(aggregates, verified).show('.1f', 'x')} as long",
                    "",
                    verified.loads().show(".1f"),
                ),
            )
    figures.save(args.record)


if __name__ == "__main__":
    main()
