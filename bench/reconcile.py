"""What the service's reconcile records when versions are registered one at a time, on a real
MLflow server: decisions per registered version, beside govern deciding (and recording) every
version at each event, as the service did before it decided only what changed (#29).

Each new version is better than the last, so each becomes the champion: the case that re-judged
every earlier version at every promotion. Two models get the same versions, one reconciled as the
service's workers do (`reacting.react` on `model_version.created`), one governed whole at each
event (`governing.govern --apply`); after the run both must say the same (every version's
`governance.status`, the champion), or the bench stops.

    python bench/reconcile.py [--versions 20] [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import ROOT, Figures, Row, arguments, load_average, positive, verdict

sys.path.insert(0, str(ROOT))  # the package from this checkout, and the tests' MLflow server helper

from tests.mlflow_data import MlflowServer, log_version  # noqa: E402

TARGET = 2.0  # decisions per registered version (the issue: at most 2N for N versions)
METRICS = {"val_auc_slice_young": 0.8, "val_ece": 0.02, "dp_gap": 0.01, "eo_gap": 0.01}
TAGS = {"use_case": "churn", "owner": "risk", "data.version": "v1"}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--versions", type=positive, default=20)
    args = parser.parse_args()
    count = 4 if args.quick else args.versions
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    figures = Figures("reconcile", args.quick)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = MlflowServer(tmp / "server").start()
        try:
            bench(figures, server.uri, tmp, count, args.quick)
        finally:
            server.stop()
    figures.save(args.record)


def bench(figures: Figures, uri: str, tmp: Path, count: int, quick: bool) -> None:
    from mlflow import MlflowClient

    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.usecases.governing import govern
    from pml_policy.usecases.reacting import Controls, react
    from pml_policy.usecases.workspace import Workspace

    def workspace(name: str) -> Workspace:
        return Workspace.open(
            [ROOT / "policies" / "starter"],
            audit_url=f"sqlite:///{tmp}/{name}.db",
            adapters=AdapterConfig(tracking_uri=uri, timeout=600),
            actor="pml-policy service",
        )

    reconciled, whole = "bench-reconciled", "bench-whole"
    seconds: dict[str, list[float]] = {reconciled: [], whole: []}
    with workspace("reconciled") as ours, workspace("whole") as before:
        for n in range(count):
            # Better each time, all within the gate's no_regression margin (0.005) of the best: every
            # version passes under both, so both must leave the same tags (they differ beyond it:
            # governed whole, the earlier versions are judged rejected against the newest).
            auc = 0.85 + n * 0.004 / count
            for model in (reconciled, whole) if n % 2 == 0 else (whole, reconciled):  # the order rotates
                version = log_version(
                    uri, model, {"val_auc": auc, **METRICS}, {"lr": "0.1"}, TAGS, {"model_card.md": "#"}
                )
                started = time.perf_counter()
                if model == reconciled:
                    react(ours, "model_version.created", {"name": model, "version": version}, Controls(apply=True))
                else:
                    govern(before, model, apply=True)
                seconds[model].append(time.perf_counter() - started)
        decided = {
            model: len(ws.log.store().records(model=model, kind="decision", limit=100_000))
            for model, ws in ((reconciled, ours), (whole, before))
        }
    client = MlflowClient(uri)
    states = {
        model: (
            str(client.get_registered_model(model).aliases.get("champion")),
            sorted(
                (v.version, v.tags.get("governance.status")) for v in client.search_model_versions(f"name='{model}'")
            ),
        )
        for model in (reconciled, whole)
    }
    if states[reconciled] != states[whole]:
        raise SystemExit(f"the reconcile and govern left the registry saying different things: {states}")
    ours_per, whole_per = decided[reconciled] / count, decided[whole] / count
    figures.row(
        "reconcile",
        Row(
            f"{count} versions registered one by one, each better (each becomes the champion)",
            f"{decided[reconciled]} decisions: {ours_per:.2f} per version; "
            f"{statistics.median(seconds[reconciled]):.2f} s per reconcile",
            f"govern of every version at each event: {decided[whole]} decisions ({whole_per:.2f} per version, "
            f"{decided[whole] / max(decided[reconciled], 1):.1f}x as many); "
            f"{statistics.median(seconds[whole]):.2f} s per event",
            verdict(ours_per, TARGET, quick, higher_is_better=False, unit=" per version"),
            f"{load_average():.1f}",
        ),
    )
    figures.note(
        f"both leave the registry saying the same: champion version {states[reconciled][0]}, every version "
        f"{', '.join(sorted({s for _, s in states[reconciled][1]}))}"
    )


if __name__ == "__main__":
    main()
