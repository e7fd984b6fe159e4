"""What a model package description says, read without a request: its champion, its metadata, its
model data, S3 locations; and boto3's errors as one line with what to do."""

from __future__ import annotations

import re
from typing import Any

from pml_policy.base.errors import EvidenceError

APPROVED, PENDING = "Approved", "PendingManualApproval"


def newest_approved(summaries: list[dict[str, Any]]) -> str | None:
    """The newest Approved version: what SageMaker deployment pipelines ship."""
    approved = [int(s["ModelPackageVersion"]) for s in summaries if s.get("ModelApprovalStatus") == APPROVED]
    return str(max(approved)) if approved else None


def metadata_of(package: dict[str, Any]) -> dict[str, str]:
    return dict(package.get("CustomerMetadataProperties") or {})


def model_data(package: dict[str, Any]) -> list[str]:
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    return [c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")]


def s3_location(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise EvidenceError(f"{uri}: not an s3://BUCKET/KEY location", "SageMaker keeps reports and model data in S3")
    return bucket, key


def first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else "request failed"


def readable(code: str, message: str) -> tuple[str, str]:
    """The error code and first line of the message; from an XML error body too, which botocore
    leaves unparsed for a JSON service (emulators and proxies answer so)."""
    if message.lstrip().startswith("<"):
        inner = {tag: re.search(rf"<{tag}>(.*?)</{tag}>", message, re.S) for tag in ("Code", "Message")}
        code = inner["Code"].group(1) if inner["Code"] else code
        message = inner["Message"].group(1) if inner["Message"] else f"HTTP {code}"
    return code, first_line(message)


def hint_for(code: str, message: str) -> str:
    if (
        code in ("ResourceNotFound", "NoSuchKey", "NoSuchBucket", "404")
        or "not found" in message.lower()
        or ("does not exist" in message.lower())
    ):
        return "check the group name and version: aws sagemaker list-model-packages --model-package-group-name GROUP"
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "403", "ExpiredToken", "InvalidClientTokenId"):
        return (
            "the credentials need sagemaker:ListModelPackages, DescribeModelPackage(Group), s3:GetObject on the "
            "reports and, with --apply, sagemaker:UpdateModelPackage"
        )
    if code in ("ThrottlingException", "Throttling", "TooManyRequestsException", "SlowDown"):
        return "SageMaker throttled the requests after boto3's retries; try again later or raise AWS_MAX_ATTEMPTS"
    return "check that the endpoint is up and reachable (--endpoint-url / AWS_ENDPOINT_URL)"
