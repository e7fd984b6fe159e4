"""Which adapter reads a reference, and which registry a command governs: one table, ours and
third parties' (entry-point group `pml_policy.adapters`), each adapter imported only when asked for.
The implementations import base.py only; this module imports them, lazily: no import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points

from pml_policy.base.errors import UsageError
from pml_policy.engine.subject import Subject

from .base import REFERENCE_PREFIXES, Adapter, AdapterConfig, Registry

ENTRY_POINT_GROUP = "pml_policy.adapters"
BUILTIN = frozenset({"local", "mlflow", "wandb", "sagemaker"})


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
