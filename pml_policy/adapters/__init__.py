"""Adapters read evidence from a source into a Subject: local folders and W&B run folders here; MLflow,
W&B online runs and SageMaker through their extras. base.py holds the protocols, lookup.py the table
that maps a reference to the adapter that reads it; each registry is a package of its own."""

from __future__ import annotations

from .base import Adapter, AdapterConfig, Registry, RegistryState
from .lookup import adapter_for, adapters, fetch, registry_for, registry_named

__all__ = [
    "Adapter",
    "AdapterConfig",
    "Registry",
    "RegistryState",
    "adapter_for",
    "adapters",
    "fetch",
    "registry_for",
    "registry_named",
]
