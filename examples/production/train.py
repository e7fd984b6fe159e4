"""A training job, as small as it gets: log a run with its validation AUC and a model card, and
register it as a new version of the model (MLFLOW_TRACKING_URI says where MLflow is).

    python examples/production/train.py 0.860                 # a version of credit-scorer
    python examples/production/train.py 0.863 --model churn  # of another model
"""

from __future__ import annotations

import argparse

import mlflow
from mlflow import MlflowClient


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("auc", type=float, help="the validation AUC the run reports")
    options.add_argument("--model", default="credit-scorer", help="the registered model [credit-scorer]")
    args = options.parse_args()
    client = MlflowClient()
    if not client.search_registered_models(f"name = '{args.model}'"):
        client.create_registered_model(args.model)
    mlflow.set_experiment("training")
    with mlflow.start_run(tags={"mlflow.source.git.commit": "c9f77ab3e1d0", "use_case": "credit"}) as run:
        mlflow.log_metric("val_auc", args.auc)
        mlflow.log_text("# Model card", "model_card.md")
    version = client.create_model_version(args.model, f"{run.info.artifact_uri}/model", run.info.run_id)
    print(f"registered {args.model} version {version.version} (val_auc {args.auc})")


if __name__ == "__main__":
    main()
