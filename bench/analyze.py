"""`pml-policy analyze` of every shipped policy pack, and `pml-policy diff` of a rewritten policy,
as users run them (from an installed wheel), beside `pml-policy validate` of the same files: the
floor every command over policies pays (start, parse, check). Target: analyze in under 3 s.

The answers are checked every round: the packs' findings are the same each time (and `validate`
passes), and `diff` proves the rewrite equivalent; a figure is only shown for work done right.

    python bench/analyze.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import ROOT, Figures, Row, arguments, interleaved, positive, ratio, verdict
from pml_runs import installed_wheel, run_pml

TARGET_SECONDS = 3.0
# The starter promotion gate reordered, laid out otherwise and written another way: equivalent.
REWRITE = ("require metrics.val_auc >= 0.80", "require 0.80 <= metrics.val_auc")


def command(answers: list[Any], wheel: dict[str, str], *args: str) -> Callable[[], None]:
    def run() -> None:
        seconds, peak, out = run_pml(*args, env=wheel)
        answers.append((seconds, peak, out))

    return run


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=positive, default=5)
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    figures = Figures("analyze", args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = installed_wheel(Path(tmp))
        packs = Path(tmp) / "policies"
        shutil.copytree(ROOT / "policies", packs)
        rewritten = Path(tmp) / "rewritten.pml"
        gate = (packs / "starter" / "promotion.pml").read_text()
        rewritten.write_text(gate.replace(*REWRITE))
        analyzed: list[Any] = []
        validated: list[Any] = []
        diffed: list[Any] = []
        series = interleaved(
            {
                "analyze": (1, command(analyzed, wheel, "analyze", str(packs), "-f", "json")),
                "validate": (1, command(validated, wheel, "validate", str(packs))),
                "diff": (
                    1,
                    command(
                        diffed, wheel, "diff", str(packs / "starter" / "promotion.pml"), str(rewritten), "-f", "json"
                    ),
                ),
            },
            rounds,
        )
        findings = {json.dumps(json.loads(out)["findings"], sort_keys=True) for _, _, out in analyzed}
        if len(findings) != 1:
            raise SystemExit("analyze found different things from one round to the next")
        if not all(json.loads(out)["equivalent"] for _, _, out in diffed):
            raise SystemExit("diff did not prove the rewritten promotion gate equivalent")
        report = json.loads(analyzed[-1][2])
        s, base, d = series["analyze"], series["validate"], series["diff"]
        figures.row(
            "analyze",
            Row(
                f"analyze: {report['policies']} policies, {report['rules']} rules (every shipped pack)",
                f"{s.seconds().show('.2f', ' s')}, peak {max(a[1] for a in analyzed):.0f} MiB",
                f"validate of the same files {base.seconds().show('.2f', ' s')}: analyze takes "
                f"{ratio(base, s).show('.1f', 'x')} as long",
                verdict(s.seconds().median, TARGET_SECONDS, args.quick, higher_is_better=False, unit=" s"),
                s.loads().show(".1f"),
            ),
        )
        figures.row(
            "analyze",
            Row(
                "diff: the starter promotion gate against a rewrite",
                f"{d.seconds().show('.2f', ' s')}, peak {max(a[1] for a in diffed):.0f} MiB",
                f"validate {base.seconds().show('.2f', ' s')}: diff takes {ratio(base, d).show('.1f', 'x')} as long",
                "",
                d.loads().show(".1f"),
            ),
        )
        figures.note(
            f"{len(report['findings'])} findings over the packs loaded as one set, the same every round "
            f"(solver time inside the command: {report['seconds']:.2f} s); the rewrite proved equivalent"
        )
    figures.save(args.record)


if __name__ == "__main__":
    main()
