"""Adapters read evidence from a source into a Subject: local folders here; MLflow and W&B as extras."""

from __future__ import annotations

from .base import Adapter, AdapterConfig, Registry, RegistryState, adapter_for, adapters, fetch

__all__ = ["Adapter", "AdapterConfig", "Registry", "RegistryState", "adapter_for", "adapters", "fetch"]
