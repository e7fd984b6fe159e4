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

import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.base.errors import EvidenceError, UsageError
from pml_policy.base.files import sha256_file
from pml_policy.base.mappings import LIMITS
from pml_policy.base.secrets import redact
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from .base import REFERENCE_PREFIXES, AdapterConfig, RegistryState, selected
from .cards import card_path, read_card_file
from .monitoring import read_report

GIT_COMMIT_TAG = "mlflow.source.git.commit"
MONITORS_TAG = "pml.monitors"  # a monitoring run names the model version it watched: NAME/VERSION
MONITORING_ARTIFACT = "monitoring.json"  # the report that run logged (Evidently's, or a JSON mapping)
_RUN_IDS_PER_SEARCH = 100  # run ids per search_runs filter: keeps the filter string well under server limits
_PAGE = 1000

# An unreachable server must fail in seconds, not after MLflow's default 7 retries with
# exponential backoff (minutes). A user's own settings win.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a download's progress bar is noise in a CI log
}


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


class MlflowAdapter:
    name = "mlflow"

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig.from_env()
        self.tracking_uri = self.config.tracking_uri
        self.champion_alias = self.config.champion_alias
        self.hash_artifacts = self.config.hash_artifacts
        self._client: Any = None

    @classmethod
    def handles(cls, ref: str) -> bool:
        return ref.startswith(REFERENCE_PREFIXES["mlflow"])

    # ---- the client ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            if not self.tracking_uri:
                raise UsageError(
                    "no MLflow tracking server given", "pass --tracking-uri URI or set MLFLOW_TRACKING_URI"
                )
            # MLflow reads its HTTP settings from the environment only; a user's own settings win.
            per_request = str(math.ceil(self.config.timeout))  # the whole budget bounds them too (call)
            for key, value in {**_HTTP_DEFAULTS, "MLFLOW_HTTP_REQUEST_TIMEOUT": per_request}.items():
                os.environ.setdefault(key, value)
            try:
                import mlflow
            except ImportError:
                raise UsageError(
                    "MLflow references need the mlflow package", "pip install 'pml-policy[mlflow]'"
                ) from None
            mlflow.set_tracking_uri(self.tracking_uri)  # artifact repositories (mlflow-artifacts:/…) resolve through it
            self._client = mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One request, with MLflow's errors turned into one line that says what and where."""
        from mlflow.exceptions import MlflowException

        try:
            with self.config.deadline.bounded(f"MLflow at {self.shown_uri}: {what}"):
                return fn(*args, **kwargs)
        except MlflowException as exc:
            raise EvidenceError(
                f"MLflow at {self.shown_uri}: {what}: {_first_line(exc.message)}", _hint_for(exc)
            ) from None
        except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
            raise EvidenceError(
                f"MLflow at {self.shown_uri}: {what}: {_first_line(str(exc))}",
                "check that the tracking server is running and reachable",
            ) from None

    @property
    def shown_uri(self) -> str:
        return redact(self.tracking_uri or "")  # never print credentials

    # ---- one subject --------------------------------------------------------------------------

    def fetch(self, ref: str) -> Subject:
        r = Ref.parse(ref)
        if r.kind == "run":
            run = self.call(f"run {r.run_id}", self.client.get_run, r.run_id)
            return self._subject(ref, run=run)
        if r.kind == "logged_model":
            logged = self.call(f"logged model {r.model_id}", self.client.get_logged_model, r.model_id)
            run = (
                self.call(f"run {logged.source_run_id}", self.client.get_run, logged.source_run_id)
                if logged.source_run_id
                else None
            )
            metrics = {
                m.key: m.value for m in sorted(logged.metrics or [], key=lambda m: (m.timestamp or 0, m.step or 0))
            }
            return self._subject(ref, run=run, logged_model=logged, extra_metrics=metrics)
        if r.kind == "alias":
            version = self.call(
                f'alias "{r.alias}" of model "{r.name}"', self.client.get_model_version_by_alias, r.name, r.alias
            )
        else:
            version = self.call(
                f'model "{r.name}" version {r.version}', self.client.get_model_version, r.name, r.version
            )
        aliases = _aliases_by_version(self.aliases(version.name))
        run = self.call(f"run {version.run_id}", self.client.get_run, version.run_id) if version.run_id else None
        return self._subject(ref, version=version, run=run, aliases=aliases)

    def champion_of(self, subject: Subject) -> Subject | None:
        """The version that holds the production alias of the subject's model, if any."""
        name = subject.model.name
        if subject.source != self.name or not name or subject.model.version is None:  # a run or an unregistered model
            return None
        holder = self.aliases(name).get(self.champion_alias)
        if holder is None:
            return None
        return self.fetch(self.reference(name, holder))

    def reference(self, name: str, version: str) -> str:
        return f"models:/{name}/{version}"

    def aliases(self, name: str) -> dict[str, str]:
        """alias -> version, from the registered model (search results carry none on SQL stores)."""
        model = self.call(f'model "{name}"', self.client.get_registered_model, name)
        return {alias: str(version) for alias, version in (model.aliases or {}).items()}

    def monitoring(self, subject: Subject) -> dict[str, Any] | None:
        """The newest monitoring report logged for the subject's model version: the `monitoring.json`
        artifact of the latest run tagged `pml.monitors = NAME/VERSION` (one search, one download);
        None when no run watches it. Its time is the report's, else the run's start."""
        name, version = subject.model.name, subject.model.version
        if subject.source != self.name or not name or version is None:
            return None
        from mlflow.entities import ViewType

        experiments = [
            e.experiment_id for e in self._paged("experiments", self.client.search_experiments, view_type=ViewType.ALL)
        ]
        runs = self.call(
            f"monitoring runs of model {name!r} version {version}",
            self.client.search_runs,
            experiments,
            f"tags.`{MONITORS_TAG}` = '{_quote(name)}/{version}'",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1,
            order_by=["attributes.start_time DESC"],
        )
        if not runs:
            return None
        run = runs[0]
        with tempfile.TemporaryDirectory(prefix="pml-monitoring-") as tmp:
            where = self.call(
                f"{MONITORING_ARTIFACT} of monitoring run {run.info.run_id}",
                self.client.download_artifacts,
                run.info.run_id,
                MONITORING_ARTIFACT,
                tmp,
            )
            report = read_report(Path(where))
        if "computed_at" not in report and run.info.start_time:
            report["computed_at"] = dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).isoformat()
        report["run_id"] = run.info.run_id
        return report

    # ---- many versions at once (govern) --------------------------------------------------------

    def versions(
        self,
        name: str,
        select: str = "all",
        tag_keys: frozenset[str] = frozenset(),
        artifacts: bool = True,
        card: bool = True,
    ) -> tuple[list[Subject], RegistryState]:
        """The versions of a model that `select` picks, as subjects, read in batches; and the
        registry as it is (aliases, each version's own tags). select: all | new (none of
        `tag_keys` set yet) | ALIAS | tag:KEY=VALUE. Listing artifacts takes a request per run
        (MLflow has no search for them): `artifacts=False` skips it when no policy reads them, and
        `card=False` the download of each model card when no policy reads `card.…`."""
        aliases = self.aliases(name)
        versions = list(self._search_versions(name))
        registry = RegistryState(aliases, {str(v.version): dict(v.tags or {}) for v in versions})
        chosen = [v for v in versions if selected(str(v.version), v.tags or {}, select, aliases, tag_keys)]
        runs = self._runs({v.run_id for v in chosen if v.run_id})
        by_version = _aliases_by_version(aliases)
        subjects = [
            self._subject(
                f"models:/{name}/{v.version}",
                version=v,
                run=runs.get(v.run_id),
                aliases=by_version,
                artifacts=artifacts,
                card=card,
            )
            for v in sorted(chosen, key=lambda v: int(v.version))
        ]
        return subjects, registry

    def state(self, name: str, versions: Iterable[str]) -> RegistryState:
        """The registry as it is for a few versions (check --apply)."""
        tags = {}
        for version in versions:
            mv = self.call(f'model "{name}" version {version}', self.client.get_model_version, name, version)
            tags[str(version)] = dict(mv.tags or {})
        return RegistryState(self.aliases(name), tags)

    def inventory(self) -> dict[str, RegistryState]:
        """Every registered model with its aliases and its versions (their own tags), in a few paged
        searches whatever the count: what the service's reconciliation sweep compares with the log."""
        found = {
            m.name: RegistryState({a: str(v) for a, v in (m.aliases or {}).items()})
            for m in self._paged("registered models", self.client.search_registered_models)
        }
        for v in self._paged("model versions", self.client.search_model_versions):
            found.setdefault(v.name, RegistryState({})).tags[str(v.version)] = dict(v.tags or {})
        return found

    def _search_versions(self, name: str) -> Iterator[Any]:
        token = None
        while True:
            page = self.call(
                f'versions of model "{name}"',
                self.client.search_model_versions,
                f"name = '{_quote(name)}'",
                max_results=_PAGE,
                page_token=token,
            )
            yield from page
            token = page.token
            if not token:
                return

    def _runs(self, run_ids: set[str]) -> dict[str, Any]:
        """The runs by id, through search_runs with run-id lists (a few requests for hundreds of runs)."""
        if not run_ids:
            return {}
        from mlflow.entities import ViewType

        experiments = [
            e.experiment_id for e in self._paged("experiments", self.client.search_experiments, view_type=ViewType.ALL)
        ]
        found: dict[str, Any] = {}
        ids = sorted(run_ids)
        for start in range(0, len(ids), _RUN_IDS_PER_SEARCH):
            chunk = ids[start : start + _RUN_IDS_PER_SEARCH]
            query = "attributes.run_id IN (" + ", ".join(f"'{i}'" for i in chunk) + ")"
            for run in self._paged("runs", self.client.search_runs, experiments, query, run_view_type=ViewType.ALL):
                found[run.info.run_id] = run
        return found

    def _paged(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        token = None
        while True:
            page = self.call(f"search {what}", fn, *args, max_results=_PAGE, page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return

    # ---- the subject --------------------------------------------------------------------------

    def _subject(
        self,
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
            model = ModelInfo(
                name=version.name, version=str(version.version), aliases=sorted(held), source=version.source
            )
        elif logged_model is not None:
            model = ModelInfo(name=logged_model.name, source=logged_model.artifact_location)
            tags.update(logged_model.tags or {})
        else:
            model = ModelInfo()
        run_info = RunInfo()
        if info is not None:
            run_info = RunInfo(
                id=info.run_id,
                start_time=dt.datetime.fromtimestamp(info.start_time / 1000, dt.UTC) if info.start_time else None,
                user=info.user_id or None,
                git_commit=tags.get(GIT_COMMIT_TAG),
                datasets=_datasets(run),
            )
        metrics = dict(data.metrics) if data else {}
        metrics.update(extra_metrics or {})
        archived = self._archived(info, card) if info is not None and artifacts else ([], None)
        return Subject(
            source=self.name,
            reference=ref,
            model=model,
            run=run_info,
            metrics=metrics,
            params=dict(data.params) if data else {},
            tags=tags,
            artifacts=archived[0],
            card=archived[1],
        )

    def _archived(self, info: Any, read_card: bool = True) -> tuple[list[ArtifactInfo], dict[str, Any] | None]:
        """The run's artifacts, and (with read_card) the metadata of its model card when one is
        among them (one download more). Straight to the run's artifact repository: the client's
        list_artifacts(run_id) reads the whole run again first, doubling the requests."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repository = get_artifact_repository(info.artifact_uri)
        files = sorted(self._listing(repository, info.run_id, None), key=lambda f: f.path)
        card = card_path([f.path for f in files]) if read_card else None
        shown = f"runs:/{info.run_id}/{card}"
        size = next((f.file_size or 0 for f in files if f.path == card), 0)
        if size > LIMITS.document_bytes:  # refused before it is downloaded: the disk and the time stay bounded
            raise EvidenceError(
                f"{shown}: a model card of {size:,} bytes; the limit is {LIMITS.document_bytes:,}",
                "archive the card's metadata in a small file (model_card.md front matter, or a CycloneDX bom.json)",
            )
        listed = [ArtifactInfo(path=f.path, size=f.file_size or 0) for f in files]
        if not files or not (self.hash_artifacts or card):
            return listed, None
        with tempfile.TemporaryDirectory(prefix="pml-artifacts-") as tmp:
            what = f"artifacts of run {info.run_id}"
            if not self.hash_artifacts:  # only the card, a file the listing named: one request
                assert card is not None
                # _download_file is the one method every artifact repository (and plugin) implements;
                # download_artifacts would list the path again first, to tell a folder from a file.
                fetched = Path(tmp) / "card"
                self.call(what, repository._download_file, card, str(fetched))
                return listed, read_card_file(card, fetched, shown)
            where = Path(self.call(what, repository.download_artifacts, "", tmp))
            for a in listed:
                a.sha256 = sha256_file(where / a.path)
            return listed, read_card_file(card, where / card, shown) if card else None

    def _listing(self, repository: Any, run_id: str, path: str | None) -> Iterator[Any]:
        # One request per folder: MLflow has no recursive listing.
        for f in self.call(f"artifacts of run {run_id}", repository.list_artifacts, path):
            if f.is_dir:
                yield from self._listing(repository, run_id, f.path)
            else:
                yield f

    # ---- actions ------------------------------------------------------------------------------

    def set_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.call(
            f'set tag "{key}" on model "{name}" version {version}',
            self.client.set_model_version_tag,
            name,
            version,
            key,
            value,
        )

    def set_alias(self, name: str, version: str, alias: str) -> str | None:
        self.call(
            f'set alias "{alias}" on model "{name}" version {version}',
            self.client.set_registered_model_alias,
            name,
            alias,
            version,
        )
        return None  # an alias is a pointer: nothing else moves


def _aliases_by_version(aliases: dict[str, str]) -> dict[str, list[str]]:
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return by_version


def _datasets(run: Any) -> list[str]:
    inputs = getattr(run, "inputs", None)
    return sorted({d.dataset.name for d in (getattr(inputs, "dataset_inputs", None) or [])})


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "request failed"


def _hint_for(exc: Any) -> str:
    code = getattr(exc, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return "check the model name, version or alias (MlflowClient().search_registered_models() lists them)"
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return (
            "set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN for a user allowed "
            "to read (and, with --apply, to edit) this model"
        )
    return "check that the tracking server is running and reachable at --tracking-uri / MLFLOW_TRACKING_URI"
