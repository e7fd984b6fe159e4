"""govern over a model with many versions on a real MLflow server, beside a naive per-version loop.

Starts `mlflow server` on loopback (SQLite backend), registers N versions (default 500), each
with its own run, then measures in the same run:

  * govern's read: search_model_versions (paged), the registered model's aliases, search_runs
    over run-id lists (adapters/mlflow.py: MlflowAdapter.fetch_versions);
  * the naive loop: one models:/NAME/N fetch per version (get_model_version, get_registered_model,
    get_run, list_artifacts), as a script calling the client per version would;
  * the whole `pml-policy govern NAME` command (plan only), as a user runs it.

Requests are counted from the server's own access log. Two policies are used: one that reads
artifacts (a listing per run: MLflow has no search for them) and one that does not.

    python bench/mlflow.py [--versions 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, and its name would hide the mlflow package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

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
    import random

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


def measure(server: MlflowServer, fn) -> tuple[float, int, object]:
    before = server.requests_logged()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    time.sleep(0.5)  # the access log is written after the response
    return elapsed, server.requests_logged() - before, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = MlflowServer(tmp / "server").start()
        try:
            os.environ["MLFLOW_TRACKING_URI"] = server.uri
            name = "bench-model"
            print(f"registering {args.versions} versions on {server.uri} ...", flush=True)
            register(server.uri, name, args.versions)
            (tmp / "no-artifacts.pml").write_text(NO_ARTIFACTS)

            from pml_policy.adapters.base import AdapterConfig
            from pml_policy.adapters.mlflow import MlflowAdapter

            rows = []
            for label, reads_artifacts in (("policy reads no artifacts", False), ("policy reads artifacts", True)):
                adapter = MlflowAdapter(AdapterConfig(tracking_uri=server.uri))
                t, n, (subjects, _) = measure(server, lambda: adapter.versions(name, artifacts=reads_artifacts))  # noqa: B023
                assert len(subjects) == args.versions
                rows.append((f"govern's read, {label}", t, n))
            naive = MlflowAdapter(AdapterConfig(tracking_uri=server.uri))
            t, n, subjects = measure(
                server, lambda: [naive.fetch(f"models:/{name}/{v}") for v in range(1, args.versions + 1)]
            )
            rows.append(("naive loop, one fetch per version", t, n))
            exe = Path(sys.executable).with_name("pml-policy")
            command = [
                str(exe),
                "govern",
                name,
                "-p",
                str(tmp / "no-artifacts.pml"),
                "--audit",
                f"sqlite:///{tmp}/audit.db",
            ]
            t, n, done = measure(server, lambda: subprocess.run(command, capture_output=True, text=True))
            assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
            rows.append(("`pml-policy govern` (whole command, plan)", t, n))

            naive_t, naive_n = rows[2][1], rows[2][2]
            print(f"\n{args.versions} versions of one model on a real MLflow server (SQLite backend)")
            print(f"  {'':44} {'requests':>9} {'wall s':>8}   vs naive loop")
            for label, t, n in rows:
                ratio = f"{naive_n / n:5.1f}x fewer requests, {naive_t / t:5.1f}x faster" if label != rows[2][0] else ""
                print(f"  {label:44} {n:9d} {t:8.2f}   {ratio}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
