"""MLflow: subjects from a tracking server and its model registry, and actions applied back to it.

References: `models:/NAME/N`, `models:/NAME@ALIAS`, `runs:/RUN_ID`, and MLflow 3 logged models
`models:/m-…`. The server is `--tracking-uri`, else `MLFLOW_TRACKING_URI`.

The subject of a model version: the version (name, version, aliases, source) and its run (latest
metric values, params, tags, start time, user, git commit from `mlflow.source.git.commit`, dataset
inputs), with the version's own tags over the run's; the run's artifact listing (path, size; sha256
when asked). A logged model's own metrics go over its run's. The champion of a model is the version
that holds the production alias (`champion` unless told otherwise).

Reads are batched for `govern` (versions): one search for the versions, one read of the
registered model for its aliases (MLflow's SQL store returns none in search results,
mlflow/mlflow#16734), and search_runs over run-id lists: a handful of requests for any number of
versions. mlflow is imported only here, and only when an MLflow reference is used.
"""

from __future__ import annotations

from .adapter import MlflowAdapter
from .references import Ref

__all__ = ["MlflowAdapter", "Ref"]
