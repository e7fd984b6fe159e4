"""A model package as a subject: its metadata as tags, its reports' metrics (their digests checked),
its model data as artifacts."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from pml_policy.base.errors import EvidenceError
from pml_policy.base.mappings import LIMITS, loads_bounded
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from .packages import first_line, metadata_of, model_data, s3_location
from .reports import merge, metrics_of, report_locations

if TYPE_CHECKING:
    from .adapter import SageMakerAdapter


def subject_of(
    adapter: SageMakerAdapter, ref: str, package: dict[str, Any], champion: str | None, artifacts: bool
) -> Subject:
    group, version = package["ModelPackageGroupName"], str(package["ModelPackageVersion"])
    meta = package.get("MetadataProperties") or {}
    created = package.get("CreatedBy") or {}
    urls = model_data(package)
    tags = {
        **metadata_of(package),
        **{
            f"sagemaker.{name}": value
            for name, value in (
                ("approval_status", package.get("ModelApprovalStatus")),
                ("repository", meta.get("Repository")),
                ("project_id", meta.get("ProjectId")),
                ("arn", package.get("ModelPackageArn")),
            )
            if value
        },
    }
    created_at = package.get("CreationTime")
    return Subject(
        source=adapter.name,
        reference=ref,
        model=ModelInfo(
            name=group,
            version=version,
            aliases=[adapter.champion_alias] if version == champion else [],
            source=urls[0] if urls else package.get("ModelPackageArn"),
        ),
        run=RunInfo(
            id=meta.get("GeneratedBy"),
            start_time=created_at.astimezone(dt.UTC) if isinstance(created_at, dt.datetime) else None,
            user=created.get("UserProfileName") or (created.get("IamIdentity") or {}).get("Arn"),
            git_commit=meta.get("CommitId"),
        ),
        metrics=_metrics(adapter, package),
        tags=tags,
        artifacts=_artifacts(adapter, urls) if artifacts else [],
    )


def _metrics(adapter: SageMakerAdapter, package: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for slot, source in report_locations(package.get("ModelMetrics") or {}):
        uri = source["S3Uri"]
        body = _object(adapter, uri, f"the {slot} report")
        digest = source.get("ContentDigest")
        if digest and digest.lower() != "sha256:" + hashlib.sha256(body).hexdigest():
            raise EvidenceError(
                f"{uri}: the {slot} report does not match its ContentDigest ({digest})",
                "the report was changed after the package was registered; register a new version",
            )
        try:
            report = loads_bounded(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise EvidenceError(f"{uri}: the {slot} report is not readable JSON: {first_line(str(exc))}") from None
        merge(metrics, metrics_of(slot, report, uri), uri)
    return metrics


def _object(adapter: SageMakerAdapter, uri: str, what: str) -> bytes:
    bucket, key = s3_location(uri)
    answer = adapter.call(f"read {what} {uri}", adapter.client("s3").get_object, Bucket=bucket, Key=key)
    if int(answer.get("ContentLength") or 0) > LIMITS.document_bytes:
        raise EvidenceError(f"{uri}: {what} is larger than {LIMITS.document_bytes >> 20} MiB")
    body: bytes = adapter.call(f"read {what} {uri}", answer["Body"].read, amt=LIMITS.document_bytes + 1)
    if len(body) > LIMITS.document_bytes:
        raise EvidenceError(f"{uri}: {what} is larger than {LIMITS.document_bytes >> 20} MiB")
    return body


def _artifacts(adapter: SageMakerAdapter, urls: list[str]) -> list[ArtifactInfo]:
    located = [(url, *s3_location(url)) for url in urls]
    names = [PurePosixPath(key).name for _, _, key in located]
    unique = len(set(names)) == len(names)
    found = []
    for (url, bucket, key), name in zip(located, names):
        s3 = adapter.client("s3")
        head = adapter.call(f"model data {url}", s3.head_object, Bucket=bucket, Key=key)
        sha256 = _sha256(adapter, url, bucket, key) if adapter.config.hash_artifacts else None
        found.append(ArtifactInfo(path=name if unique else key, size=int(head["ContentLength"]), sha256=sha256))
    return found


def _sha256(adapter: SageMakerAdapter, url: str, bucket: str, key: str) -> str:
    body = adapter.call(f"model data {url}", adapter.client("s3").get_object, Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    for chunk in adapter.call(f"model data {url}", body.iter_chunks, chunk_size=1 << 20):
        digest.update(chunk)
    return digest.hexdigest()
