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

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

from pml_policy.base.errors import EvidenceError, UsageError
from pml_policy.base.mappings import LIMITS, loads_bounded
from pml_policy.base.secrets import redact
from pml_policy.engine.subject import ArtifactInfo, ModelInfo, RunInfo, Subject

from .base import AdapterConfig, RegistryState, selected
from .sagemaker_reports import merge, metrics_of, report_locations

PREFIX = "sagemaker:"
APPROVED, PENDING = "Approved", "PendingManualApproval"
_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]*:model-package/(?P<group>[^/]+)/(?P<version>[0-9]+)")
_GROUP = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # SageMaker's own pattern for group names
_METADATA_VALUE_LIMIT = 256  # characters of a CustomerMetadataProperties value
_THREADS = 8
_PAGE = 100
T = TypeVar("T")
R = TypeVar("R")


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


class SageMakerAdapter:
    name = "sagemaker"

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig.from_env()
        self.champion_alias = self.config.champion_alias
        self._clients: dict[str, Any] = {}
        self._arns: dict[tuple[str, str], str] = {}

    @classmethod
    def handles(cls, ref: str) -> bool:
        return ref.startswith(PREFIX) or bool(_ARN.match(ref))

    def reference(self, name: str, version: str) -> str:
        return f"{PREFIX}{name}/{version}"

    # ---- the clients --------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The boto3 client of `service` (sagemaker, s3): standard retries, timeouts within the budget."""
        if service not in self._clients:
            try:
                import boto3
                from botocore.config import Config
                from botocore.exceptions import BotoCoreError
            except ImportError:
                raise UsageError("SageMaker references need boto3", "pip install 'pml-policy[sagemaker]'") from None
            seconds = max(1.0, min(self.config.timeout, 60.0))
            settings = Config(retries={"mode": "standard"}, connect_timeout=seconds, read_timeout=seconds)
            try:
                self._clients[service] = boto3.session.Session().client(
                    service, endpoint_url=self.config.endpoint_url or None, config=settings
                )
            except (BotoCoreError, ValueError) as exc:  # no region; a malformed endpoint URL (a ValueError)
                raise UsageError(
                    f"SageMaker: {redact(str(exc))}",
                    "set AWS_REGION (or a profile's region) and a valid --endpoint-url",
                ) from None
        return self._clients[service]

    @property
    def where(self) -> str:
        return f"SageMaker at {redact(self.config.endpoint_url)}" if self.config.endpoint_url else "SageMaker"

    def call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """One request, with boto3's errors turned into one line that says what and where."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            with self.config.deadline.bounded(f"{self.where}: {what}"):
                return fn(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = _readable(str(error.get("Code", "")), str(error.get("Message") or exc))
            raise EvidenceError(f"{self.where}: {what}: {code}: {message}", _hint_for(code, message)) from None
        except NoCredentialsError:
            raise EvidenceError(
                f"{self.where}: {what}: no AWS credentials",
                "configure them the usual boto3 way: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role",
            ) from None
        except BotoCoreError as exc:  # connection refused, timeouts, retries exhausted
            raise EvidenceError(
                f"{self.where}: {what}: {_first_line(redact(str(exc)))}",
                "check that the endpoint is up and reachable (--endpoint-url / AWS_ENDPOINT_URL)",
            ) from None

    # ---- one subject --------------------------------------------------------------------------

    def fetch(self, ref: str) -> Subject:
        r = Ref.parse(ref)
        summaries = self._summaries(r.group)
        champion = _champion(summaries)
        version = r.version
        if r.alias:
            version = self._alias_version(r.group, r.alias, champion)
        package = self._describe(r.group, version)
        return self._subject(ref, package, champion, artifacts=True)

    def champion_of(self, subject: Subject) -> Subject | None:
        """The newest Approved version of the subject's group, if any."""
        name = subject.model.name
        if subject.source != self.name or not name or subject.model.version is None:
            return None
        holder = _champion(self._summaries(name))
        return self.fetch(self.reference(name, holder)) if holder else None

    def _alias_version(self, group: str, alias: str, champion: str | None) -> str:
        if alias != self.champion_alias:
            raise UsageError(
                f'{PREFIX}{group}@{alias}: SageMaker has no alias "{alias}"',
                f'the one alias it has is "{self.champion_alias}" (the newest Approved version); '
                "name a version with sagemaker:GROUP/VERSION",
            )
        if champion is None:
            raise EvidenceError(
                f'{self.where}: model package group "{group}" has no Approved version, so none is "{alias}"',
                "name a version with sagemaker:GROUP/VERSION",
            )
        return champion

    # ---- many versions at once (govern) --------------------------------------------------------

    def versions(
        self,
        name: str,
        select: str = "all",
        tag_keys: frozenset[str] = frozenset(),
        artifacts: bool = True,
        card: bool = True,  # (a package has no model card)
    ) -> tuple[list[Subject], RegistryState]:
        """Every version of the group that `select` picks (all | new | ALIAS | tag:KEY=VALUE), as
        subjects; and the registry as it is (the champion, each version's metadata)."""
        summaries = self._summaries(name)
        champion = _champion(summaries)
        packages = self._parallel(
            f'versions of model package group "{name}"',
            lambda s: self._describe(name, str(s["ModelPackageVersion"])),
            summaries,
        )
        aliases = {self.champion_alias: champion} if champion else {}
        tags = {str(p["ModelPackageVersion"]): _metadata(p) for p in packages}
        registry = RegistryState(aliases, tags)
        chosen = [
            p for p in packages if selected(str(p["ModelPackageVersion"]), _metadata(p), select, aliases, tag_keys)
        ]
        subjects = self._parallel(
            f'evidence of model package group "{name}"',
            lambda p: self._subject(self.reference(name, str(p["ModelPackageVersion"])), p, champion, artifacts),
            chosen,
        )
        return subjects, registry

    def state(self, name: str, versions: Iterable[str]) -> RegistryState:
        """The registry as it is for a few versions (check --apply)."""
        champion = _champion(self._summaries(name))
        tags = {str(v): _metadata(self._describe(name, str(v))) for v in versions}
        return RegistryState({self.champion_alias: champion} if champion else {}, tags)

    def inventory(self) -> dict[str, RegistryState]:
        """Every model package group with its champion and its versions, in two paged listings
        whatever the count (the service's reconciliation sweep). Listings carry no metadata, so
        the versions' tags are left empty: the sweep needs only which versions exist."""
        sagemaker = self.client("sagemaker")
        found = {
            g["ModelPackageGroupName"]: RegistryState({})
            for g in self._paged(
                "model package groups", sagemaker.list_model_package_groups, "ModelPackageGroupSummaryList"
            )
        }
        by_group: dict[str, list[dict[str, Any]]] = {}
        listing = self._paged(
            "model packages", sagemaker.list_model_packages, "ModelPackageSummaryList", ModelPackageType="Versioned"
        )
        for summary in listing:
            by_group.setdefault(summary["ModelPackageGroupName"], []).append(summary)
        for group, summaries in by_group.items():
            state = found.setdefault(group, RegistryState({}))
            state.tags = {str(s["ModelPackageVersion"]): {} for s in summaries}
            champion = _champion(summaries)
            state.aliases = {self.champion_alias: champion} if champion else {}
        return found

    # ---- actions ------------------------------------------------------------------------------

    def set_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Write key=value into the version's CustomerMetadataProperties, sending the whole state
        (an update that leaves fields out clears them on some implementations)."""
        if len(value) > _METADATA_VALUE_LIMIT:
            raise EvidenceError(
                f'{self.where}: tag "{key}" on {self.reference(name, version)}: a value of {len(value)} characters; '
                f"SageMaker keeps at most {_METADATA_VALUE_LIMIT}",
                "shorten the value the policy sets",
            )
        package = self._describe(name, version)
        self._update(package, metadata={**_metadata(package), key: value})

    def set_alias(self, name: str, version: str, alias: str) -> str | None:
        """Make the version the newest Approved one: approve it, then send newer Approved versions
        back to PendingManualApproval. Returns what else changed, for the change's record."""
        if alias != self.champion_alias:
            raise EvidenceError(
                f'{self.where}: cannot set alias "{alias}" on {self.reference(name, version)}: SageMaker has no '
                f'aliases; the champion ("{self.champion_alias}") is the newest Approved version',
                f'set only alias "{self.champion_alias}" in policies that govern SageMaker',
            )
        target = self._describe(name, version)
        if target.get("ModelApprovalStatus") != APPROVED:
            self._update(target, status=APPROVED)
        newer = [
            str(s["ModelPackageVersion"])
            for s in self._summaries(name)
            if s.get("ModelApprovalStatus") == APPROVED and int(s["ModelPackageVersion"]) > int(version)
        ]
        for other in newer:
            self._update(self._describe(name, other), status=PENDING)
        if not newer:
            return None
        return f"version{'s' if len(newer) > 1 else ''} {', '.join(newer)} set back to {PENDING}"

    def _update(
        self, package: dict[str, Any], status: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        request: dict[str, Any] = {
            "ModelPackageArn": package["ModelPackageArn"],
            "ModelApprovalStatus": status or package.get("ModelApprovalStatus") or PENDING,
            "CustomerMetadataProperties": _metadata(package) if metadata is None else metadata,
        }
        if package.get("ApprovalDescription"):
            request["ApprovalDescription"] = package["ApprovalDescription"]
        what = f"update {self.reference(package['ModelPackageGroupName'], str(package['ModelPackageVersion']))}"
        self.call(what, self.client("sagemaker").update_model_package, **request)

    # ---- reads --------------------------------------------------------------------------------

    def _summaries(self, group: str) -> list[dict[str, Any]]:
        """The group's versions (summaries), oldest first; EvidenceError for a group that does not exist."""
        sagemaker = self.client("sagemaker")
        found = list(
            self._paged(
                f'versions of model package group "{group}"',
                sagemaker.list_model_packages,
                "ModelPackageSummaryList",
                ModelPackageGroupName=group,
            )
        )
        if not found:  # an empty group, or none at all: only describing it tells which
            self.call(
                f'model package group "{group}"',
                sagemaker.describe_model_package_group,
                ModelPackageGroupName=group,
            )
        for s in found:
            self._arns[(group, str(s["ModelPackageVersion"]))] = s["ModelPackageArn"]
        return sorted(found, key=lambda s: int(s["ModelPackageVersion"]))

    def _describe(self, group: str, version: str) -> dict[str, Any]:
        if (group, version) not in self._arns:
            self._summaries(group)
        arn = self._arns.get((group, version))
        if arn is None:
            raise EvidenceError(
                f'{self.where}: model package group "{group}" has no version {version}',
                f"list them with: aws sagemaker list-model-packages --model-package-group-name {group}",
            )
        sagemaker = self.client("sagemaker")
        return self.call(f"{self.reference(group, version)}", sagemaker.describe_model_package, ModelPackageName=arn)

    def _paged(self, what: str, fn: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.call(f"list {what}", fn, MaxResults=_PAGE, **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key) or []
            token = page.get("NextToken")
            if not token:
                return

    def _parallel(self, what: str, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """fn over items on a few threads, in order, within the command's budget (the first
        error wins; the threads left are not waited for)."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        self.client("sagemaker"), self.client("s3")  # made here: creating boto3 clients is not thread-safe
        pool = ThreadPoolExecutor(max_workers=min(_THREADS, len(items)), thread_name_prefix="pml-sagemaker")
        try:
            with self.config.deadline.bounded(f"{self.where}: {what}"):
                return list(pool.map(fn, items))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    # ---- the subject --------------------------------------------------------------------------

    def _subject(self, ref: str, package: dict[str, Any], champion: str | None, artifacts: bool) -> Subject:
        group, version = package["ModelPackageGroupName"], str(package["ModelPackageVersion"])
        meta = package.get("MetadataProperties") or {}
        created = package.get("CreatedBy") or {}
        urls = _model_data(package)
        tags = {
            **_metadata(package),
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
            source=self.name,
            reference=ref,
            model=ModelInfo(
                name=group,
                version=version,
                aliases=[self.champion_alias] if version == champion else [],
                source=urls[0] if urls else package.get("ModelPackageArn"),
            ),
            run=RunInfo(
                id=meta.get("GeneratedBy"),
                start_time=created_at.astimezone(dt.UTC) if isinstance(created_at, dt.datetime) else None,
                user=created.get("UserProfileName") or (created.get("IamIdentity") or {}).get("Arn"),
                git_commit=meta.get("CommitId"),
            ),
            metrics=self._metrics(package),
            tags=tags,
            artifacts=self._artifacts(urls) if artifacts else [],
        )

    def _metrics(self, package: dict[str, Any]) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for slot, source in report_locations(package.get("ModelMetrics") or {}):
            uri = source["S3Uri"]
            body = self._object(uri, f"the {slot} report")
            digest = source.get("ContentDigest")
            if digest and digest.lower() != "sha256:" + hashlib.sha256(body).hexdigest():
                raise EvidenceError(
                    f"{uri}: the {slot} report does not match its ContentDigest ({digest})",
                    "the report was changed after the package was registered; register a new version",
                )
            try:
                report = loads_bounded(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise EvidenceError(f"{uri}: the {slot} report is not readable JSON: {_first_line(str(exc))}") from None
            merge(metrics, metrics_of(slot, report, uri), uri)
        return metrics

    def _object(self, uri: str, what: str) -> bytes:
        bucket, key = _s3_location(uri)
        answer = self.call(f"read {what} {uri}", self.client("s3").get_object, Bucket=bucket, Key=key)
        if int(answer.get("ContentLength") or 0) > LIMITS.document_bytes:
            raise EvidenceError(f"{uri}: {what} is larger than {LIMITS.document_bytes >> 20} MiB")
        body: bytes = self.call(f"read {what} {uri}", answer["Body"].read, amt=LIMITS.document_bytes + 1)
        if len(body) > LIMITS.document_bytes:
            raise EvidenceError(f"{uri}: {what} is larger than {LIMITS.document_bytes >> 20} MiB")
        return body

    def _artifacts(self, urls: list[str]) -> list[ArtifactInfo]:
        located = [(url, *_s3_location(url)) for url in urls]
        names = [PurePosixPath(key).name for _, _, key in located]
        unique = len(set(names)) == len(names)
        found = []
        for (url, bucket, key), name in zip(located, names):
            s3 = self.client("s3")
            head = self.call(f"model data {url}", s3.head_object, Bucket=bucket, Key=key)
            sha256 = self._sha256(url, bucket, key) if self.config.hash_artifacts else None
            found.append(ArtifactInfo(path=name if unique else key, size=int(head["ContentLength"]), sha256=sha256))
        return found

    def _sha256(self, url: str, bucket: str, key: str) -> str:
        body = self.call(f"model data {url}", self.client("s3").get_object, Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for chunk in self.call(f"model data {url}", body.iter_chunks, chunk_size=1 << 20):
            digest.update(chunk)
        return digest.hexdigest()


def _champion(summaries: list[dict[str, Any]]) -> str | None:
    """The newest Approved version: what SageMaker deployment pipelines ship."""
    approved = [int(s["ModelPackageVersion"]) for s in summaries if s.get("ModelApprovalStatus") == APPROVED]
    return str(max(approved)) if approved else None


def _metadata(package: dict[str, Any]) -> dict[str, str]:
    return dict(package.get("CustomerMetadataProperties") or {})


def _model_data(package: dict[str, Any]) -> list[str]:
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    return [c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")]


def _s3_location(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise EvidenceError(f"{uri}: not an s3://BUCKET/KEY location", "SageMaker keeps reports and model data in S3")
    return bucket, key


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else "request failed"


def _readable(code: str, message: str) -> tuple[str, str]:
    """The error code and first line of the message; from an XML error body too, which botocore
    leaves unparsed for a JSON service (emulators and proxies answer so)."""
    if message.lstrip().startswith("<"):
        inner = {tag: re.search(rf"<{tag}>(.*?)</{tag}>", message, re.S) for tag in ("Code", "Message")}
        code = inner["Code"].group(1) if inner["Code"] else code
        message = inner["Message"].group(1) if inner["Message"] else f"HTTP {code}"
    return code, _first_line(message)


def _hint_for(code: str, message: str) -> str:
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
