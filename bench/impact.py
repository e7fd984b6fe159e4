"""`pml-policy impact` over audit logs of real recorded decisions: its time and peak memory, beside
the floor (the same re-evaluations in memory, with no log to read), interleaved round by round.

Each log holds decisions made by the starter policies on generated versions of 8 models (metrics
around the AUC floor, a champion for each), recorded through the audit log's own write path, so
every record carries the full evidence a replay reads. Then `pml-policy impact -p PROPOSED --format
json` runs as a user runs it (from an installed wheel; the AUC floor raised from 0.80 to 0.84),
timed, with its peak memory read by /usr/bin/time: memory should not grow with the log. The floor's
re-evaluations must find the very outcome changes the command reports.

    python bench/impact.py [--sizes 2000,20000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import ROOT, Figures, Row, arguments, interleaved, positive, ratio, sizes
from pml_runs import installed_wheel, run_pml


def subjects(count: int) -> list[Any]:
    from pml_policy.engine import Subject

    rng = random.Random(7)
    out = []
    for n in range(count):
        auc = round(rng.uniform(0.76, 0.9), 3)
        out.append(
            Subject(
                source="local",
                reference=f"runs/{n}",
                model={"name": f"model-{n % 8}", "version": str(n // 8 + 1)},
                run={"id": f"r{n}", "user": "ana", "git_commit": "3e1d0c9f77ab"},
                metrics={
                    "val_auc": auc,
                    "val_auc_slice_young": auc - 0.03,
                    "val_auc_slice_senior": auc - 0.04,
                    "val_ece": 0.03,
                    "dp_gap": 0.02,
                    "eo_gap": 0.03,
                },
                tags={"use_case": "credit", "owner": "risk", "data.version": "2026-11"},
                artifacts=[{"path": "model_card.md", "size": 100}],
            )
        )
    return out


def fill(url: str, policies: Path, made: list[Any], batch: int = 500) -> list[str]:
    """Record the decisions of `policies` on every subject through the write path; their outcomes."""
    from pml_policy.audit import AuditStore, Entry
    from pml_policy.engine import evaluate, load

    store, ps, champion = AuditStore(url), load([policies]), made[0]
    outcomes = []
    for i in range(0, len(made), batch):
        entries = [Entry(evaluate(ps, s, champion), s, champion) for s in made[i : i + batch]]
        store.append(entries, "bench", {})
        outcomes += [e.decision.outcome for e in entries]
    store.close()
    return outcomes


def floor(policies: Path, made: list[Any], found: list[str]) -> Callable[[], None]:
    """The re-evaluations alone: the same subjects under the proposed policies, in memory."""
    from pml_policy.engine import evaluate, load

    ps, champion = load([policies]), made[0]

    def run() -> None:
        found[:] = [evaluate(ps, s, champion).outcome for s in made]

    return run


def command(url: str, proposed: Path, wheel: dict[str, str], answers: list[dict[str, Any]]) -> Callable[[], None]:
    def run() -> None:
        _, peak, out = run_pml("impact", "-p", str(proposed), "--format", "json", "--audit", url, env=wheel)
        answers.append(dict(json.loads(out), peak=peak))

    return run


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", type=sizes, default=[2000, 20000], help="comma-separated")
    parser.add_argument("--rounds", type=positive, default=3)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.rounds = [300], 2
    figures = Figures("impact", args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = installed_wheel(Path(tmp))
        current, proposed = Path(tmp) / "current", Path(tmp) / "proposed"
        shutil.copytree(ROOT / "policies" / "starter", current)
        shutil.copytree(current, proposed)
        gate = proposed / "promotion.pml"
        gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.84"))
        for size in args.sizes:
            url, made = f"sqlite:///{tmp}/audit-{size}.db", subjects(size)
            recorded = fill(url, current, made)
            answers: list[dict[str, Any]] = []
            now: list[str] = []
            series = interleaved(
                {"impact": (size, command(url, proposed, wheel, answers)), "floor": (size, floor(proposed, made, now))},
                args.rounds,
            )
            changes = sum(a != b for a, b in zip(recorded, now))
            for answer in answers:
                if answer["replayed"] != size or answer["outcome_changes"] != changes:
                    raise SystemExit(
                        f"impact replayed {answer['replayed']} of {size} and found {answer['outcome_changes']} outcome "
                        f"changes; the same re-evaluations in memory find {changes}"
                    )
            s, base = series["impact"], series["floor"]
            figures.row(
                "impact",
                Row(
                    f"impact over {size:,} recorded versions",
                    f"{s.seconds().show('.2f', ' s')}, peak {max(a['peak'] for a in answers):.0f} MiB",
                    f"floor (re-evaluations in memory) {base.seconds().show('.2f', ' s')}: "
                    f"the command takes {ratio(base, s).show('.1f', 'x')} as long",
                    "",
                    s.loads().show(".1f"),
                ),
            )
            figures.note(f"over {size:,} versions, {answers[-1]['summary'].split(':')[0]}")
    figures.save(args.record)


if __name__ == "__main__":
    main()
