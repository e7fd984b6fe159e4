"""The vocabulary of the language: what a path may start with, the functions, the levels."""

from __future__ import annotations

LEVELS = ("advisory", "soft", "hard")

# Path roots that read the subject; `champion.` takes the same roots on the current champion.
SUBJECT_ROOTS = ("metrics", "params", "tags", "model", "run", "artifacts", "monitoring", "card")
ROOTS = (*SUBJECT_ROOTS, "champion", "data", "now")  # now (1.1): the time of the decision
FIELDS = {
    "model": ("name", "version", "aliases", "source", "promoted_at"),
    "run": ("id", "start_time", "user", "git_commit", "datasets"),
}
