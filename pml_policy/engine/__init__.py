"""The language and the evaluator: parse, check, format, compile and evaluate PML policies."""

from __future__ import annotations

from .backends import backend, evaluate
from .decision import Decision, PolicyResult, RuleResult
from .loader import PolicySet, load
from .subject import ArtifactInfo, ModelInfo, RunInfo, Subject

__all__ = [
    "ArtifactInfo",
    "Decision",
    "ModelInfo",
    "PolicyResult",
    "PolicySet",
    "RuleResult",
    "RunInfo",
    "Subject",
    "backend",
    "evaluate",
    "load",
]
