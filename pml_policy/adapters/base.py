"""The contracts of evidence sources: what an adapter and a registry are, and what they are told.

Two protocols: every adapter is an `Adapter` (it fetches subjects); an adapter that stands in front
of a model registry is also a `Registry` (it lists versions, names the champion, sets tags and
aliases). Callers test for the protocol (`isinstance(adapter, Registry)`), never for attributes.
Adapters never decide and never read the process environment: their settings come in as an
`AdapterConfig`, built by the front (options, env vars) or by `AdapterConfig.from_env()`. Which
adapter reads a reference is lookup.py's to say; this module imports no implementation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from pml_policy.base.errors import UsageError
from pml_policy.base.waiting import DEFAULT_SECONDS, Deadline, Slots
from pml_policy.engine.subject import Subject

DEFAULT_CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class AdapterConfig:
    """What adapters are told: where the registry is, which alias is production, how long to wait."""

    tracking_uri: str | None = None
    endpoint_url: str | None = None  # AWS: SageMaker and S3 (an emulator, a VPC endpoint)
    champion_alias: str = DEFAULT_CHAMPION_ALIAS
    hash_artifacts: bool = False  # download a registry's artifacts to take their sha256
    local_artifacts: str | None = None  # a folder a registry's runs may keep artifacts in on this disk; else none
    timeout: float = DEFAULT_SECONDS  # seconds a command waits for registries, in total
    # How many registry calls this process lets wait at once (the service); None: no bound (a command).
    slots: Slots | None = field(default=None, compare=False, repr=False)
    # One budget for everything read with this configuration (one per command), from its first use.
    deadline: Deadline = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.deadline is None:
            object.__setattr__(self, "deadline", Deadline(self.timeout, self.slots))

    def renewed(self) -> AdapterConfig:
        """The same configuration with a time budget of its own, from its first use (a service's
        request or job), sharing the process's slots."""
        return replace(self, deadline=Deadline(self.timeout, self.slots))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AdapterConfig:
        """The settings a user put in the environment (MLFLOW_TRACKING_URI, AWS_ENDPOINT_URL,
        PML_CHAMPION_ALIAS, PML_HASH_ARTIFACTS=1, PML_REGISTRY_TIMEOUT, PML_ALLOW_LOCAL_ARTIFACTS), for
        library calls and plain pytest runs that have no options."""
        return cls(
            tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            champion_alias=env.get("PML_CHAMPION_ALIAS") or DEFAULT_CHAMPION_ALIAS,
            hash_artifacts=env.get("PML_HASH_ARTIFACTS", "") == "1",
            timeout=registry_timeout(env.get("PML_REGISTRY_TIMEOUT")),
            local_artifacts=env.get("PML_ALLOW_LOCAL_ARTIFACTS") or None,
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

    def reachable(self) -> None:
        """One small request that the registry answers (the service's readiness); EvidenceError if not."""
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


# How the references each of our registry adapters reads begin, known without importing it (their
# modules cost a tenth of a `check` of a folder): a necessary condition; handles() decides.
REFERENCE_PREFIXES: dict[str, tuple[str, ...]] = {
    "mlflow": ("models:/", "runs:/"),
    "sagemaker": ("sagemaker:", "arn:aws"),
}


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
