"""The adapter protocol (fetch a subject; apply actions) and the registry that maps a reference to one."""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from pml_policy.engine.subject import Subject
from pml_policy.errors import UsageError

ENTRY_POINT_GROUP = "pml_policy.adapters"


@runtime_checkable
class Adapter(Protocol):
    """A source of evidence. Adapters never decide: they read subjects and apply planned actions."""

    name: str

    @classmethod
    def handles(cls, ref: str) -> bool:
        """Whether this adapter reads this reference (a folder path, models:/…, wandb:…)."""
        ...

    def fetch(self, ref: str) -> Subject:
        """The subject for ref; raise EvidenceError when it cannot be read."""
        ...


@lru_cache(maxsize=1)
def adapters() -> tuple[type[Adapter], ...]:
    """Every installed adapter: ours and third parties' (entry-point group pml_policy.adapters)."""
    found: dict[str, type[Adapter]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = ep.load()
    if "local" not in found:  # running from a source tree without installed metadata
        from .local import LocalAdapter

        found["local"] = LocalAdapter
    # The local adapter takes any path, so it is asked last.
    return tuple(sorted(found.values(), key=lambda a: a.name == "local"))


def adapter_for(ref: str) -> Adapter:
    if ":" not in ref.split("/", 1)[0]:  # a plain path: no need to scan installed entry points
        from .wandb import WandbAdapter, is_wandb_run

        if is_wandb_run(ref):  # a W&B run folder (wandb/latest-run, wandb/offline-run-…)
            return WandbAdapter()
        from .local import LocalAdapter

        return LocalAdapter()
    for cls in adapters():
        if cls.handles(ref):
            return cls()
    names = ", ".join(sorted(a.name for a in adapters()))
    raise UsageError(
        f"{ref}: no installed adapter reads this kind of reference (installed: {names})",
        "pass a folder of evidence or a W&B run folder, models:/… and runs:/… on MLflow (pml-policy[mlflow]), or wandb:ENTITY/PROJECT/RUN_ID (pml-policy[wandb]); other sources need an adapter plugin",
    )


def fetch(ref: str) -> Subject:
    """The subject behind a reference, through the adapter that handles it."""
    return adapter_for(ref).fetch(ref)
