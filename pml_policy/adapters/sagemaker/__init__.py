"""AWS SageMaker Model Registry: subjects from model packages, and the approval status governed.

References: `sagemaker:GROUP/VERSION`, `sagemaker:GROUP@champion`, or a model package ARN
(`arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION`); `govern sagemaker:GROUP` governs a
model package group. boto3 is imported only here (`pml-policy[sagemaker]`); region and credentials
come the usual boto3 way (AWS_PROFILE, AWS_REGION, …), the endpoint from `--endpoint-url` /
AWS_ENDPOINT_URL; requests retry in boto3's standard mode (throttling included).

The subject of a package: the group is the model name; `CustomerMetadataProperties` are its tags
(where SageMaker keeps per-version metadata, and where `set tag` writes), with `sagemaker.approval_status`,
`sagemaker.repository`, `sagemaker.project_id` and `sagemaker.arn`; `run.git_commit` and `run.id`
from `MetadataProperties` (CommitId, GeneratedBy), `run.user` from `CreatedBy`, `run.start_time` from
`CreationTime`; metrics from the Model Monitor and Clarify reports `ModelMetrics` points to in S3
(sagemaker_reports says how they map; a report whose `ContentDigest` does not match is refused); the
model data objects as artifacts (size; sha256 with --hash-artifacts). Resource tags of a package
are not read: they are not per-version metadata in SageMaker's model, and each would cost a request.

The registry has no aliases: the champion is the newest `Approved` version. `set alias "champion"`
approves the target and sends every newer `Approved` version back to `PendingManualApproval` (the
change record says which), so the deployment pipeline that ships the newest approved version ships
the target. Listing a group is one paged request; SageMaker lists summaries only, so each version
is then described (and its reports read) on a few threads, within the command's time budget.
"""

from __future__ import annotations

from .adapter import SageMakerAdapter
from .references import PREFIX, Ref, group_of

__all__ = ["PREFIX", "Ref", "SageMakerAdapter", "group_of"]
