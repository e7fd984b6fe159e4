"""The contracts of evidence sources, and the table that maps a reference to the adapter that reads it.

Two protocols: every adapter is an `Adapter` (it fetches subjects); an adapter that stands in front
of a model registry is also a `Registry` (it lists versions, names the champion, sets tags and
aliases). Callers test for the protocol (`isinstance(adapter, Registry)`), never for attributes.
Adapters never decide and never read the process environment: their settings come in as an
`AdapterConfig`, built by the front (options, env vars) or by `AdapterConfig.from_env()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from pml_policy.base.errors import UsageError
from pml_policy.base.waiting import DEFAULT_SECONDS, Deadline
from pml_policy.engine.subject import Subject

ENTRY_POINT_GROUP = "pml_policy.adapters"
BUILTIN = frozenset({"local", "mlflow", "wandb", "sagemaker"})
DEFAULT_CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class AdapterConfig:
    """What adapters are told: where the registry is, which alias is production, how long to wait."""

    tracking_uri: str | None = None
    endpoint_url: str | None = None  # AWS: SageMaker and S3 (an emulator, a VPC endpoint)
    champion_alias: str = DEFAULT_CHAMPION_ALIAS
    hash_artifacts: bool = False  # download a registry's artifacts to take their sha256
    timeout: float = DEFAULT_SECONDS  # seconds a command waits for registries, in total
    # One budget for everything read with this configuration (one per command), from its first use.
    deadline: Deadline = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.deadline is None:
            object.__setattr__(self, "deadline", Deadline(self.timeout))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AdapterConfig:
        """The settings a user put in the environment (MLFLOW_TRACKING_URI, AWS_ENDPOINT_URL,
        PML_CHAMPION_ALIAS, PML_HASH_ARTIFACTS=1, PML_REGISTRY_TIMEOUT), for library calls and plain
        pytest runs that have no options."""
        return cls(
            tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            champion_alias=env.get("PML_CHAMPION_ALIAS") or DEFAULT_CHAMPION_ALIAS,
            hash_artifacts=env.get("PML_HASH_ARTIFACTS", "") == "1",
            timeout=registry_timeout(env.get("PML_REGISTRY_TIMEOUT")),
        )


def registry_timeout(value: str | float | None) -> float:
    """Seconds from an option or PML_REGISTRY_TIMEOUT: a positive number up to a day."""
    if value is None or value == "":
        return DEFAULT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 86400:
        raise UsageError(
            f"registry timeout {value!r}: give seconds, more than 0 and at most 86400",
            "--registry-timeout / PML_REGISTRY_TIMEOUT",
        )
    return seconds


@dataclass
class RegistryState:
    """What a registry says now about one model: alias -> version, and each version's own tags."""

    aliases: dict[str, str]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)


@runtime_checkable
class Adapter(Protocol):
    """A source of evidence: reads subjects, never decides."""

    name: str

    def __init__(self, config: AdapterConfig) -> None: ...

    @classmethod
    def handles(cls, ref: str) -> bool:
        """Whether this adapter reads this reference (a folder path, models:/…, wandb:…)."""
        ...

    def fetch(self, ref: str) -> Subject:
        """The subject for ref; raise EvidenceError when it cannot be read."""
        ...


@runtime_checkable
class Registry(Adapter, Protocol):
    """A model registry: its versions, its champion, and the changes governance makes to it."""

    champion_alias: str

    def versions(
        self,
        name: str,
        select: str = "all",
        tag_keys: frozenset[str] = frozenset(),
        artifacts: bool = True,
        card: bool = True,
    ) -> tuple[list[Subject], RegistryState]:
        """The versions of a model that `select` picks (all | new | ALIAS | tag:KEY=VALUE), read in
        batches, and the registry as it is; `artifacts` and `card` False when no policy reads them."""
        ...

    def state(self, name: str, versions: Iterable[str]) -> RegistryState:
        """The registry as it is for a few versions (check --apply)."""
        ...

    def champion_of(self, subject: Subject) -> Subject | None:
        """The version of the subject's model that holds the champion alias, if any."""
        ...

    def reference(self, name: str, version: str) -> str:
        """The reference `fetch` reads a version of a model by (models:/NAME/N, sagemaker:GROUP/N)."""
        ...

    def inventory(self) -> dict[str, RegistryState]:
        """Every model with its aliases and versions, in a few paged listings (the service's sweep)."""
        ...

    def set_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def set_alias(self, name: str, version: str, alias: str) -> str | None:
        """Move the alias; returns what else the registry changed to make it so, for the record."""
        ...


@runtime_checkable
class MonitoringSource(Protocol):
    """An adapter that also finds the latest monitoring report on a model version (MLflow: a run
    tagged pml.monitors = NAME/VERSION)."""

    def monitoring(self, subject: Subject) -> dict[str, Any] | None:
        """The report's evidence (adapters/monitoring.py), or None when there is none."""
        ...


REGISTRIES = {"mlflow": "a bare MODEL name", "sagemaker": "sagemaker:GROUP"}


def registry_named(kind: str, config: AdapterConfig) -> Registry:
    """The registry adapter of a kind (mlflow | sagemaker), imported only when asked for."""
    if kind == "sagemaker":
        from .sagemaker import SageMakerAdapter

        return SageMakerAdapter(config)
    if kind == "mlflow":
        from .mlflow import MlflowAdapter

        return MlflowAdapter(config)
    raise UsageError(f"registry {kind!r}: not one this version knows", "use mlflow or sagemaker")


def registry_for(target: str, config: AdapterConfig) -> tuple[Registry, str]:
    """What `govern TARGET` governs: a SageMaker model package group (sagemaker:GROUP), else a
    registered model on MLflow; with the model's name in that registry."""
    if target.startswith("sagemaker:"):
        from .sagemaker import group_of

        return registry_named("sagemaker", config), group_of(target)
    return registry_named("mlflow", config), target


def selected(
    version: str, tags: Mapping[str, str], select: str, aliases: Mapping[str, str], tag_keys: frozenset[str]
) -> bool:
    """Whether `govern --candidates SELECT` picks a version: all | new (none of `tag_keys` set
    yet) | tag:KEY=VALUE | ALIAS (the version that holds it)."""
    if select == "all":
        return True
    if select == "new":  # not governed yet: none of the tags the policies set
        return not tag_keys & set(tags)
    if select.startswith("tag:"):
        key, _, value = select[4:].partition("=")
        return tags.get(key) == value
    return aliases.get(select) == version


@lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, Callable[[], type[Adapter]]], ...]:
    """Every installed adapter by name, not imported yet: ours and third parties' (entry-point
    group pml_policy.adapters); third parties' first, so that one can claim a reference ours would
    take (a folder too); the local adapter takes any path, so it is asked last."""
    found: dict[str, Callable[[], type[Adapter]]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.load)
    found.setdefault("local", _local)  # running from a source tree without installed metadata
    return tuple(sorted(found.items(), key=lambda item: (item[0] in BUILTIN, item[0] == "local")))


def _local() -> type[Adapter]:
    from .local import LocalAdapter

    return LocalAdapter


def adapters() -> tuple[type[Adapter], ...]:
    """Every installed adapter, in the order they are asked whether they read a reference."""
    return tuple(load() for _, load in _installed())


# How the references each of our registry adapters reads begin, known without importing it (their
# modules cost a tenth of a `check` of a folder): a necessary condition; handles() decides.
REFERENCE_PREFIXES: dict[str, tuple[str, ...]] = {
    "mlflow": ("models:/", "runs:/"),
    "sagemaker": ("sagemaker:", "arn:aws"),
}


def adapter_for(ref: str, config: AdapterConfig | None = None) -> Adapter:
    """The adapter that reads ref, configured (by default from the environment, as library callers
    had it before options existed); UsageError when none does."""
    config = config or AdapterConfig.from_env()
    for name, load in _installed():
        if name in REFERENCE_PREFIXES and not ref.startswith(REFERENCE_PREFIXES[name]):
            continue
        cls = load()
        if cls.handles(ref):
            return cls(config)
    names = ", ".join(sorted(a.name for a in adapters()))
    raise UsageError(
        f"{ref}: no installed adapter reads this kind of reference (installed: {names})",
        "pass a folder of evidence or a W&B run folder, models:/… and runs:/… on MLflow (pml-policy[mlflow]), "
        "wandb:ENTITY/PROJECT/RUN_ID (pml-policy[wandb]) or sagemaker:GROUP/VERSION (pml-policy[sagemaker]); "
        "other sources need an adapter plugin",
    )


def fetch(ref: str, config: AdapterConfig | None = None) -> Subject:
    """The subject behind a reference, through the adapter that handles it."""
    return adapter_for(ref, config).fetch(ref)
