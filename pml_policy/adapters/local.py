"""A subject from a local folder of evidence.

The folder may hold a `pml.yaml` manifest::

    model: {name: credit-scorer, version: 7, aliases: [challenger]}
    run: {id: 8f2c, user: ana, git_commit: 3e1d0c9, start_time: 2026-11-20T10:00:00Z}
    tags: {use_case: credit, data.version: v12}
    metrics: metrics.json        # a file in the folder, or an inline mapping
    params: params.yaml          # likewise

Without one (or for what it leaves out) the conventions apply: `metrics.json`, else DVC's
`dvclive/metrics.json`; `params.json` or `params.yaml`; `tags.json`. Nested metrics and params are
flattened with dots (`train.loss`). Every file in the folder is an artifact with size and sha256;
a model card among them (`model_card.md`, `README.md`, a CycloneDX `bom.json`) is read as `card.…`.

Nothing outside the folder is read: a name or a symbolic link that leads out of it, to a special
file (a FIFO, a device) or nowhere is an evidence error (exit 3) naming the path (files.EvidenceFolder).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pml_policy.base.errors import EvidenceError
from pml_policy.base.escaping import one_line
from pml_policy.base.files import EvidenceFolder, sha256_file
from pml_policy.base.mappings import flatten, read_document, read_mapping
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from .base import AdapterConfig
from .cards import card_among

MANIFEST = "pml.yaml"
METRICS_FILES = ("metrics.json", "dvclive/metrics.json")
PARAMS_FILES = ("params.json", "params.yaml", "params.yml")
TAGS_FILES = ("tags.json",)
_FIX = "fix the file, or regenerate it from the training run"


class _ManifestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    name: str | None = None
    version: str | None = None
    aliases: list[str] = Field(default_factory=list)
    source: str | None = None


class _ManifestRun(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    id: str | None = None
    start_time: dt.datetime | None = None
    user: str | None = None
    git_commit: str | None = None


class Manifest(BaseModel):
    """The schema of pml.yaml; unknown keys are errors, so a typo never hides evidence."""

    model_config = ConfigDict(extra="forbid")
    model: _ManifestModel = Field(default_factory=_ManifestModel)
    run: _ManifestRun = Field(default_factory=_ManifestRun)
    tags: dict[str, Any] | str | None = None
    metrics: dict[str, Any] | str | None = None
    params: dict[str, Any] | str | None = None


class LocalAdapter:
    name = "local"

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig()  # a folder needs no settings

    @classmethod
    def handles(cls, ref: str) -> bool:
        # Anything without a scheme is a path; a path that does not exist is an evidence error.
        return ":/" not in ref and not ref.startswith("wandb:")

    def fetch(self, ref: str) -> Subject:
        folder = EvidenceFolder(ref)
        manifest = _manifest(folder)
        metrics = _section(folder, manifest.metrics, METRICS_FILES, "metrics")
        params = _section(folder, manifest.params, PARAMS_FILES, "params")
        files = [(relative, path) for relative, path in folder.files() if path is not None]  # (links out: refused)
        return Subject(
            source="local",
            reference=ref,
            model=ModelInfo(**manifest.model.model_dump()),
            run=RunInfo(**manifest.run.model_dump()),
            metrics=flatten(metrics, where=f"{ref}: metrics"),
            params={k: _as_param(v) for k, v in flatten(params, where=f"{ref}: params").items()},
            tags={k: _as_param(v) for k, v in _section(folder, manifest.tags, TAGS_FILES, "tags").items()},
            artifacts=_artifacts(files),
            card=card_among(dict(files), folder.shown),
        )


def _manifest(folder: EvidenceFolder) -> Manifest:
    path = folder.file(MANIFEST)
    if path is None:
        return Manifest()
    raw = read_document(path, EvidenceError, _FIX)
    if raw is None:
        return Manifest()
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        # keys come from the file: one line each, whatever they hold (a newline, a control character)
        problems = "; ".join(f"{one_line('.'.join(map(str, e['loc'])))}: {e['msg']}" for e in exc.errors())
        raise EvidenceError(
            f"{path}: invalid manifest: {problems}",
            "see the pml.yaml keys in the README: model, run, tags, metrics, params",
        ) from None


def _section(
    folder: EvidenceFolder, declared: dict | str | None, conventions: tuple[str, ...], what: str
) -> dict[str, Any]:
    if isinstance(declared, dict):
        return declared
    candidates = [declared] if isinstance(declared, str) else list(conventions)
    for name in candidates:
        path = folder.file(name)
        if path is not None:
            return read_mapping(path, EvidenceError, what, _FIX)
        if isinstance(declared, str):
            raise EvidenceError(f"{folder.shown(name)}: the {what} file named in {MANIFEST} does not exist")
    return {}


def _as_param(value: Any) -> Any:
    """Params and tags are strings, as MLflow keeps them; null stays null (and fails closed)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, default=str)


def _artifacts(files: list[tuple[str, Path]]) -> list[ArtifactInfo]:
    return [ArtifactInfo(path=relative, size=path.stat().st_size, sha256=sha256_file(path)) for relative, path in files]
