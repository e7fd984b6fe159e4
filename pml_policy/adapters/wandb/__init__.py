"""Weights & Biases: offline run folders (read from the run's binary log) and online runs (wandb.Api).

The wandb package (`pml-policy[wandb]`) is imported only for an online run: an offline folder is
read by this package alone (adapter.py, log.py).
"""

from __future__ import annotations

from .adapter import PREFIX, WandbAdapter, is_wandb_run, subject_from_api_run, subject_from_folder

__all__ = ["PREFIX", "WandbAdapter", "is_wandb_run", "subject_from_api_run", "subject_from_folder"]
