"""A model version, a run or a logged model as a subject: the run's metrics, params and tags with the
version's own tags over them, its artifact listing (sha256 when asked), its model card."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pml_policy.base.dates import from_epoch_ms
from pml_policy.base.errors import EvidenceError
from pml_policy.base.files import sha256_file
from pml_policy.base.mappings import LIMITS
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from ..cards import card_path, read_card_file
from .references import artifacts_where_they_belong

if TYPE_CHECKING:
    from .adapter import MlflowAdapter

GIT_COMMIT_TAG = "mlflow.source.git.commit"


def subject_of(
    adapter: MlflowAdapter,
    ref: str,
    version: Any = None,
    run: Any = None,
    aliases: dict[str, list[str]] | None = None,
    logged_model: Any = None,
    extra_metrics: dict[str, float] | None = None,
    artifacts: bool = True,
    card: bool = True,
) -> Subject:
    info, data = (run.info, run.data) if run is not None else (None, None)
    tags = dict(data.tags) if data else {}
    if version is not None:
        tags.update(version.tags or {})  # the version's own tags (governance.status…) over the run's
        held = (aliases or {}).get(str(version.version), [])
        model = ModelInfo(name=version.name, version=str(version.version), aliases=sorted(held), source=version.source)
    elif logged_model is not None:
        model = ModelInfo(name=logged_model.name, source=logged_model.artifact_location)
        tags.update(logged_model.tags or {})
    else:
        model = ModelInfo()
    run_info = RunInfo()
    if info is not None:
        run_info = RunInfo(
            id=info.run_id,
            start_time=from_epoch_ms(info.start_time, f"run {info.run_id}: start") if info.start_time else None,
            user=info.user_id or None,
            git_commit=tags.get(GIT_COMMIT_TAG),
            datasets=_datasets(run),
        )
    metrics = dict(data.metrics) if data else {}
    metrics.update(extra_metrics or {})
    archived = _archived(adapter, info, card) if info is not None and artifacts else ([], None)
    return Subject(
        source=adapter.name,
        reference=ref,
        model=model,
        run=run_info,
        metrics=metrics,
        params=dict(data.params) if data else {},
        tags=tags,
        artifacts=archived[0],
        card=archived[1],
    )


def _archived(
    adapter: MlflowAdapter, info: Any, read_card: bool = True
) -> tuple[list[ArtifactInfo], dict[str, Any] | None]:
    """The run's artifacts, and (with read_card) the metadata of its model card when one is
    among them (one download more). Straight to the run's artifact repository: the client's
    list_artifacts(run_id) reads the whole run again first, doubling the requests."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    artifacts_where_they_belong(info.artifact_uri, adapter.config.local_artifacts, info.run_id)
    repository = get_artifact_repository(info.artifact_uri)
    files = sorted(_listing(adapter, repository, info.run_id, None), key=lambda f: f.path)
    card = card_path([f.path for f in files]) if read_card else None
    shown = f"runs:/{info.run_id}/{card}"
    size = next((f.file_size or 0 for f in files if f.path == card), 0)
    if size > LIMITS.document_bytes:  # refused before it is downloaded: the disk and the time stay bounded
        raise EvidenceError(
            f"{shown}: a model card of {size:,} bytes; the limit is {LIMITS.document_bytes:,}",
            "archive the card's metadata in a small file (model_card.md front matter, or a CycloneDX bom.json)",
        )
    listed = [ArtifactInfo(path=f.path, size=f.file_size or 0) for f in files]
    if not files or not (adapter.hash_artifacts or card):
        return listed, None
    with tempfile.TemporaryDirectory(prefix="pml-artifacts-") as tmp:
        what = f"artifacts of run {info.run_id}"
        if not adapter.hash_artifacts:  # only the card, a file the listing named: one request
            assert card is not None
            # _download_file is the one method every artifact repository (and plugin) implements;
            # download_artifacts would list the path again first, to tell a folder from a file.
            fetched = Path(tmp) / "card"
            adapter.call(what, repository._download_file, card, str(fetched))
            return listed, read_card_file(card, fetched, shown)
        where = Path(adapter.call(what, repository.download_artifacts, "", tmp))
        for a in listed:
            a.sha256 = sha256_file(where / a.path)
        return listed, read_card_file(card, where / card, shown) if card else None


def _listing(adapter: MlflowAdapter, repository: Any, run_id: str, path: str | None) -> Iterator[Any]:
    # One request per folder: MLflow has no recursive listing.
    for f in adapter.call(f"artifacts of run {run_id}", repository.list_artifacts, path):
        if f.is_dir:
            yield from _listing(adapter, repository, run_id, f.path)
        else:
            yield f


def aliases_by_version(aliases: dict[str, str]) -> dict[str, list[str]]:
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return by_version


def _datasets(run: Any) -> list[str]:
    inputs = getattr(run, "inputs", None)
    return sorted({d.dataset.name for d in (getattr(inputs, "dataset_inputs", None) or [])})
