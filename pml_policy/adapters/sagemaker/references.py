"""SageMaker references: `sagemaker:GROUP/VERSION`, `sagemaker:GROUP@champion`, a model package ARN,
and the group `govern sagemaker:GROUP` names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pml_policy.base.errors import UsageError

PREFIX = "sagemaker:"
_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]*:model-package/(?P<group>[^/]+)/(?P<version>[0-9]+)")
_GROUP = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # SageMaker's own pattern for group names


def is_arn(ref: str) -> bool:
    return bool(_ARN.match(ref))


@dataclass(frozen=True)
class Ref:
    """A parsed SageMaker reference: a group with a version or an alias."""

    group: str
    version: str = ""
    alias: str = ""

    @classmethod
    def parse(cls, ref: str) -> Ref:
        arn = _ARN.fullmatch(ref)
        if arn:
            return cls(arn["group"], version=arn["version"])
        rest = ref[len(PREFIX) :] if ref.startswith(PREFIX) else ""
        group, sep, alias = rest.partition("@")
        if sep and _GROUP.fullmatch(group) and alias:
            return cls(group, alias=alias)
        group, _, version = rest.partition("/")
        if _GROUP.fullmatch(group) and version.isdigit():
            return cls(group, version=str(int(version)))
        raise UsageError(
            f"{ref}: not a SageMaker reference this adapter reads",
            "use sagemaker:GROUP/VERSION, sagemaker:GROUP@champion or a model package ARN "
            "(arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION)",
        )


def group_of(target: str) -> str:
    """The model package group `govern sagemaker:GROUP` names."""
    group = target[len(PREFIX) :]
    if not _GROUP.fullmatch(group):
        raise UsageError(
            f"{target}: not a model package group name",
            "govern takes sagemaker:GROUP (letters, digits and dashes, at most 63 characters)",
        )
    return group
