"""MLflow references (`models:/NAME/N`, `models:/NAME@ALIAS`, `models:/m-ID`, `runs:/ID`), and MLflow's
strings: a name quoted in a search filter, an error as one line with what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pml_policy.base.errors import EvidenceError, UsageError


@dataclass(frozen=True)
class Ref:
    """A parsed MLflow reference."""

    kind: str  # "version" | "alias" | "run" | "logged_model"
    name: str = ""
    version: str = ""
    alias: str = ""
    run_id: str = ""
    model_id: str = ""

    @classmethod
    def parse(cls, ref: str) -> Ref:
        if ref.startswith("runs:/"):
            run_id = ref[len("runs:/") :].strip("/").split("/", 1)[0]
            if run_id:
                return cls("run", run_id=run_id)
        elif ref.startswith("models:/"):
            rest = ref[len("models:/") :].strip("/")
            if re.fullmatch(r"m-[0-9a-f]+", rest):
                return cls("logged_model", model_id=rest)
            if "@" in rest and "/" not in rest:
                name, alias = rest.rsplit("@", 1)
                if name and alias:
                    return cls("alias", name=name, alias=alias)
            name, _, version = rest.rpartition("/")
            if name and version.isdigit():
                return cls("version", name=name, version=version)
        raise UsageError(
            f"{ref}: not an MLflow reference this adapter reads",
            "use models:/NAME/VERSION, models:/NAME@ALIAS, models:/m-<logged model id> or runs:/RUN_ID",
        )


def quote(text: str) -> str:
    return text.replace("'", "\\'")


def first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "request failed"


def hint_for(exc: Any) -> str:
    code = getattr(exc, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return "check the model name, version or alias (MlflowClient().search_registered_models() lists them)"
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return (
            "set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN for a user allowed "
            "to read (and, with --apply, to edit) this model"
        )
    return "check that the tracking server is running and reachable at --tracking-uri / MLFLOW_TRACKING_URI"


def artifacts_where_they_belong(uri: str, allowed_root: str | None, run_id: str) -> None:
    """A run's artifacts are read through the registry's own artifact store (mlflow-artifacts:, s3:,
    gs:, …), never from this machine's disk because a run says so (any MLflow user can set an
    experiment's artifact location to a local path): a file: or bare path is refused, unless the
    operator allowed a folder (--allow-local-artifacts DIR), and then only inside it."""
    parts = urlsplit(uri)
    if len(parts.scheme) > 1 and parts.scheme != "file":  # a store's scheme (one letter: a Windows drive)
        return
    local = Path(unquote(parts.path) if parts.scheme == "file" else uri).resolve()
    if allowed_root is None:
        raise EvidenceError(
            f"run {run_id}: its artifacts are on this machine's disk ({local}); pml-policy reads a registry's "
            "artifacts only through its artifact store",
            "log artifacts to the tracking server (mlflow-artifacts:) or a bucket, or allow a folder with "
            "--allow-local-artifacts DIR / PML_ALLOW_LOCAL_ARTIFACTS",
        )
    if not local.is_relative_to(Path(allowed_root).resolve()):
        raise EvidenceError(
            f"run {run_id}: its artifacts at {local} lie outside --allow-local-artifacts {allowed_root}",
            "allow the folder that holds them, or move the run's artifacts",
        )
