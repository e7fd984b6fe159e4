"""govern over a model with many versions on a real MLflow server, beside a naive per-version loop.

Starts `mlflow server` on loopback (SQLite backend), registers N versions (default 500), each
with its own run, then times, interleaved round by round (bench/measure.py):

  * govern's read: search_model_versions (paged), the registered model's aliases, search_runs
    over run-id lists (pml_policy/adapters/mlflow: MlflowAdapter.versions), for a policy that
    reads no artifacts and for one that does (a listing per run: MLflow has no search for them);
  * the naive loop: one models:/NAME/N fetch per version (get_model_version, get_registered_model,
    get_run, list_artifacts), as a script calling the client per version would;
  * the whole `pml-policy govern NAME` command (plan only), as a user runs it from an installed wheel.

Requests are counted from the server's own access log, once per contender before the timing.
govern's read and the naive loop must read the same evidence: every version's digest is compared.

    python bench/mlflow_reads.py [--versions 500] [--rounds 3] [--quick]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import ROOT, Figures, Row, arguments, interleaved, positive, ratio
from pml_runs import installed_wheel, pml_command, timed_command

sys.path.insert(0, str(ROOT))  # the tests' MLflow server helper

from tests.mlflow_data import MlflowServer  # noqa: E402

NO_ARTIFACTS = """policy "bench-gate" version "1.0.0" {
  rule floor { require metrics.val_auc >= 0.80 }
  rule traceable { require run.git_commit matches "^[0-9a-f]{7,40}$" }
  rank by metrics.val_auc desc
  on pass { set alias "champion" set tag "governance.status" = "approved" }
  on fail { set tag "governance.status" = "rejected" }
}
"""


def register(uri: str, name: str, count: int) -> None:
    """N versions, each with a run holding metrics, params, a git commit and one artifact."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(uri)
    experiment = client.create_experiment(f"bench-{name}")
    client.create_registered_model(name)
    card = Path(tempfile.mkdtemp()) / "model_card.md"
    card.write_text("# card")
    rng = random.Random(7)
    now = int(time.time() * 1000)
    for i in range(count):
        run = client.create_run(experiment, tags={"mlflow.source.git.commit": "c9f77ab3e1d0"})
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("val_auc", round(rng.uniform(0.7, 0.9), 4), now, 0)],
            params=[Param("lr", "0.01")],
            tags=[RunTag("use_case", "credit")],
        )
        client.log_artifact(run_id, str(card))
        client.set_terminated(run_id)
        client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run_id)
        if (i + 1) % 100 == 0:
            print(f"  registered {i + 1} versions", flush=True)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--versions", type=positive, default=500)
    parser.add_argument("--rounds", type=positive, default=3)
    args = parser.parse_args()
    if args.quick:
        args.versions, args.rounds = 12, 2
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # not a line per version registered
    figures = Figures("mlflow_reads", args.quick)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wheel = installed_wheel(tmp)
        server = MlflowServer(tmp / "server").start()
        try:
            bench(figures, server, tmp, args.versions, args.rounds, wheel)
        finally:
            server.stop()
    figures.save(args.record)


def bench(figures: Figures, server: MlflowServer, tmp: Path, count: int, rounds: int, wheel: dict[str, str]) -> None:
    from pml_policy.adapters.base import AdapterConfig
    from pml_policy.adapters.mlflow import MlflowAdapter

    name = "bench-model"
    print(f"registering {count} versions on {server.uri} ...", flush=True)
    register(server.uri, name, count)
    (tmp / "no-artifacts.pml").write_text(NO_ARTIFACTS)
    read: dict[str, list[Any]] = {}

    # A bench measures, it does not gate: the registry budget (15 s for a command by default) is
    # an hour here, renewed for each run, as each command gets its own.
    config = AdapterConfig(tracking_uri=server.uri, timeout=3600)

    def reader(label: str, artifacts: bool) -> Callable[[], None]:
        return lambda: read.__setitem__(label, MlflowAdapter(config.renewed()).versions(name, artifacts=artifacts)[0])

    def naive() -> None:
        adapter = MlflowAdapter(config.renewed())
        read["naive"] = [adapter.fetch(f"models:/{name}/{v}") for v in range(1, count + 1)]

    govern = pml_command("govern", name, "-p", str(tmp / "no-artifacts.pml"), "--audit", f"sqlite:///{tmp}/audit.db")
    env = {**wheel, "MLFLOW_TRACKING_URI": server.uri, "PML_REGISTRY_TIMEOUT": "3600"}
    contenders = {
        "no artifacts": (count, reader("no artifacts", False)),
        "artifacts": (count, reader("artifacts", True)),
        "naive": (count, naive),
        "command": (count, lambda: timed_command(govern, env=env, cwd=tmp)),
    }
    requests = {}
    for label, (_, run) in contenders.items():  # counted once, untimed: the access log settles after
        before = server.requests_logged()
        run()
        requests[label] = server.requests_logged() - before
    digests = {label: [s.digest for s in read[label]] for label in ("artifacts", "naive")}
    if digests["artifacts"] != digests["naive"]:
        raise SystemExit("govern's read and the naive loop read different evidence")
    series = interleaved(contenders, rounds)
    naive_series = series["naive"]
    labels = {
        "no artifacts": "govern's read, policy reads no artifacts",
        "artifacts": "govern's read, policy reads artifacts (a listing per run)",
        "naive": "naive loop, one fetch per version",
        "command": "the whole `pml-policy govern` command (plan)",
    }
    for label, s in series.items():
        beside = (
            ""
            if label == "naive"
            else (
                f"{requests['naive'] / max(requests[label], 1):.1f}x fewer requests, "
                f"{ratio(s, naive_series).show('.1f', 'x')} as fast as the naive loop"
            )
        )
        figures.row(
            f"{count} versions on MLflow",
            Row(
                labels[label],
                f"{s.seconds().show('.2f', ' s')}, {requests[label]:,} requests",
                beside,
                "",
                s.loads().show(".1f"),
            ),
        )


if __name__ == "__main__":
    main()
