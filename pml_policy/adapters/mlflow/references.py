"""MLflow references (`models:/NAME/N`, `models:/NAME@ALIAS`, `models:/m-ID`, `runs:/ID`), and MLflow's
strings: a name quoted in a search filter, an error as one line with what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pml_policy.base.errors import UsageError


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
