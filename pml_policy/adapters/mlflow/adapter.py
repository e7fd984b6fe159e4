"""The registry protocol over MLflow's client: one subject, many versions at once (govern), the
inventory (the sweep), monitoring reports, tags and aliases set back.

Reads are batched for `govern` (versions): one search for the versions, one read of the
registered model for its aliases (MLflow's SQL store returns none in search results,
mlflow/mlflow#16734), and search_runs over run-id lists: a handful of requests for any number of
versions. mlflow is imported only here, and only when an MLflow reference is used.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pml_policy.base.dates import from_epoch_ms
from pml_policy.base.errors import EvidenceError, NotInRegistry, PmlError, UsageError
from pml_policy.base.secrets import redact
from pml_policy.engine.subject import Subject

from ..base import REFERENCE_PREFIXES, AdapterConfig, RegistryState, selected
from ..monitoring import read_report
from .references import Ref, artifacts_where_they_belong, first_line, hint_for, quote
from .subjects import aliases_by_version, subject_of

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
            return self.config.deadline.run(f"MLflow at {self.shown_uri}: {what}", fn, *args, **kwargs)
        except PmlError:
            raise  # the budget's own: no answer in time, every slot taken
        except MlflowException as exc:
            missing = getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
            raise (NotInRegistry if missing else EvidenceError)(
                f"MLflow at {self.shown_uri}: {what}: {first_line(exc.message)}", hint_for(exc)
            ) from None
        except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
            raise EvidenceError(
                f"MLflow at {self.shown_uri}: {what}: {first_line(str(exc))}",
                "check that the tracking server is running and reachable",
            ) from None
        except Exception as exc:  # an answer MLflow's client cannot read (JSON of another shape: ParseError, …)
            raise EvidenceError(
                f"MLflow at {self.shown_uri}: {what}: an answer that is not MLflow's ({type(exc).__name__}: "
                f"{first_line(str(exc))[:200]})",
                "check that --tracking-uri points at an MLflow tracking server, not another service or a proxy",
            ) from None

    @property
    def shown_uri(self) -> str:
        return redact(self.tracking_uri or "")  # never print credentials

    # ---- one subject --------------------------------------------------------------------------

    def fetch(self, ref: str) -> Subject:
        r = Ref.parse(ref)
        if r.kind == "run":
            run = self.call(f"run {r.run_id}", self.client.get_run, r.run_id)
            return subject_of(self, ref, run=run)
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
            return subject_of(self, ref, run=run, logged_model=logged, extra_metrics=metrics)
        if r.kind == "alias":
            version = self.call(
                f'alias "{r.alias}" of model "{r.name}"', self.client.get_model_version_by_alias, r.name, r.alias
            )
        else:
            version = self.call(
                f'model "{r.name}" version {r.version}', self.client.get_model_version, r.name, r.version
            )
        aliases = aliases_by_version(self.aliases(version.name))
        run = self.call(f"run {version.run_id}", self.client.get_run, version.run_id) if version.run_id else None
        return subject_of(self, ref, version=version, run=run, aliases=aliases)

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
        artifact of the latest run tagged `pml.monitors = NAME/VERSION`, or, for a version that
        governance moved an alias to (`model.promoted_at`), `NAME@ALIAS`: a report about the slot
        counts for the version that held it when the run started (one search per slot, one
        download); None when no run watches it. Its time is the report's, else the run's start."""
        name, version = subject.model.name, subject.model.version
        if subject.source != self.name or not name or version is None:
            return None
        from mlflow.entities import ViewType

        experiments = [
            e.experiment_id for e in self._paged("experiments", self.client.search_experiments, view_type=ViewType.ALL)
        ]
        since = subject.model.promoted_at
        slots = [f"{name}/{version}", *([f"{name}@{alias}" for alias in subject.model.aliases] if since else [])]
        watching = []  # the newest run per slot that counts for this version
        for slot in slots:
            runs = self.call(
                f"monitoring runs of {slot}",
                self.client.search_runs,
                experiments,
                f"tags.`{MONITORS_TAG}` = '{quote(slot)}'",
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=1,
                order_by=["attributes.start_time DESC"],
            )
            by_version = slot == slots[0]
            if runs and (by_version or (since and (runs[0].info.start_time or 0) >= since.timestamp() * 1000)):
                watching.append(runs[0])
        if not watching:
            return None
        run = max(watching, key=lambda r: r.info.start_time or 0)
        artifacts_where_they_belong(run.info.artifact_uri, self.config.local_artifacts, run.info.run_id)
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
            report["computed_at"] = from_epoch_ms(run.info.start_time, f"monitoring run {run.info.run_id}").isoformat()
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
        by_version = aliases_by_version(aliases)
        subjects = [
            subject_of(
                self,
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

    def reachable(self) -> None:
        self.call("reach the registry", self.client.search_registered_models, max_results=1)

    def _search_versions(self, name: str) -> Iterator[Any]:
        token = None
        while True:
            page = self.call(
                f'versions of model "{name}"',
                self.client.search_model_versions,
                f"name = '{quote(name)}'",
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
