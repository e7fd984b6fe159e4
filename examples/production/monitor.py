"""A monitoring job: compare what the model in production sees with its training data using
Evidently, and log the report where `pml-policy recheck` finds it: an MLflow run tagged
`pml.monitors = NAME/VERSION` (or `NAME@ALIAS`: the slot, whichever version governance put there)
with the report as its `monitoring.json` artifact.

    python examples/production/monitor.py credit-scorer 2 --drifted    # a shifted `income`
    python examples/production/monitor.py credit-scorer @champion      # the model in the slot
    pml-policy recheck credit-scorer -p policies --data examples/production/context.yaml --apply

The data here is made up (income and age, the second time with `income` shifted when --drifted);
a real job reads the features the model served in the last day and its training sample.
Needs `pip install evidently 'pandas<3' mlflow`; MLFLOW_TRACKING_URI says where MLflow is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os

os.environ.setdefault("ITERATIVE_DO_NOT_TRACK", "1")  # Evidently's usage telemetry off

import mlflow
import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("model")
    options.add_argument("version", help="a version, or @ALIAS for the slot (e.g. @champion)")
    options.add_argument("--drifted", action="store_true", help="shift income by two standard deviations")
    args = options.parse_args()
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"income": rng.normal(50, 10, 500), "age": rng.normal(40, 8, 500)})
    shift = 20 if args.drifted else 0
    current = pd.DataFrame({"income": rng.normal(50 + shift, 10, 300), "age": rng.normal(40, 8, 300)})
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # Evidently keeps naive UTC times
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=current, reference_data=reference, timestamp=now
    )
    mlflow.set_experiment("monitoring")
    slot = f"{args.model}{args.version}" if args.version.startswith("@") else f"{args.model}/{args.version}"
    with mlflow.start_run(tags={"pml.monitors": slot}) as run:
        mlflow.log_text(snapshot.dumps(), "monitoring.json")  # the full snapshot: it has the time
    print(f"logged the monitoring report of {slot} in run {run.info.run_id}")


if __name__ == "__main__":
    main()
