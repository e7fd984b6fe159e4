"""AWS SageMaker Model Registry: subjects from model packages, and the approval status governed.

The registry protocol over boto3's SageMaker and S3 clients: one subject, many versions at once
(govern), the inventory (the sweep), and the approval status as the champion alias.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pml_policy.base.errors import EvidenceError, NotInRegistry, UsageError
from pml_policy.base.secrets import redact
from pml_policy.engine.subject import Subject

from ..base import AdapterConfig, RegistryState, selected
from .packages import APPROVED, PENDING, first_line, hint_for, metadata_of, newest_approved, readable
from .references import PREFIX, Ref, is_arn
from .subjects import subject_of

_METADATA_VALUE_LIMIT = 256  # characters of a CustomerMetadataProperties value
_THREADS = 8
_PAGE = 100
T = TypeVar("T")
R = TypeVar("R")


class SageMakerAdapter:
    name = "sagemaker"

    def __init__(self, config: AdapterConfig | None = None) -> None:
        self.config = config or AdapterConfig.from_env()
        self.champion_alias = self.config.champion_alias
        self._clients: dict[str, Any] = {}
        self._arns: dict[tuple[str, str], str] = {}

    @classmethod
    def handles(cls, ref: str) -> bool:
        return ref.startswith(PREFIX) or is_arn(ref)

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
            return self.config.deadline.run(f"{self.where}: {what}", fn, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = readable(str(error.get("Code", "")), str(error.get("Message") or exc))
            gone = code == "ValidationException" and "does not exist" in message.lower()
            missing = code == "ResourceNotFound" or gone
            raise (NotInRegistry if missing else EvidenceError)(
                f"{self.where}: {what}: {code}: {message}", hint_for(code, message)
            ) from None
        except NoCredentialsError:
            raise EvidenceError(
                f"{self.where}: {what}: no AWS credentials",
                "configure them the usual boto3 way: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role",
            ) from None
        except BotoCoreError as exc:  # connection refused, timeouts, retries exhausted
            raise EvidenceError(
                f"{self.where}: {what}: {first_line(redact(str(exc)))}",
                "check that the endpoint is up and reachable (--endpoint-url / AWS_ENDPOINT_URL)",
            ) from None

    # ---- one subject --------------------------------------------------------------------------

    def fetch(self, ref: str) -> Subject:
        r = Ref.parse(ref)
        summaries = self._summaries(r.group)
        champion = newest_approved(summaries)
        version = r.version
        if r.alias:
            version = self._alias_version(r.group, r.alias, champion)
        package = self._describe(r.group, version)
        return subject_of(self, ref, package, champion, artifacts=True)

    def champion_of(self, subject: Subject) -> Subject | None:
        """The newest Approved version of the subject's group, if any."""
        name = subject.model.name
        if subject.source != self.name or not name or subject.model.version is None:
            return None
        holder = newest_approved(self._summaries(name))
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
        champion = newest_approved(summaries)
        packages = self._parallel(
            f'versions of model package group "{name}"',
            lambda s: self._describe(name, str(s["ModelPackageVersion"])),
            summaries,
        )
        aliases = {self.champion_alias: champion} if champion else {}
        tags = {str(p["ModelPackageVersion"]): metadata_of(p) for p in packages}
        registry = RegistryState(aliases, tags)
        chosen = [
            p for p in packages if selected(str(p["ModelPackageVersion"]), metadata_of(p), select, aliases, tag_keys)
        ]
        subjects = self._parallel(
            f'evidence of model package group "{name}"',
            lambda p: subject_of(self, self.reference(name, str(p["ModelPackageVersion"])), p, champion, artifacts),
            chosen,
        )
        return subjects, registry

    def state(self, name: str, versions: Iterable[str]) -> RegistryState:
        """The registry as it is for a few versions (check --apply)."""
        champion = newest_approved(self._summaries(name))
        tags = {str(v): metadata_of(self._describe(name, str(v))) for v in versions}
        return RegistryState({self.champion_alias: champion} if champion else {}, tags)

    def reachable(self) -> None:
        self.call("reach the registry", self.client("sagemaker").list_model_package_groups, MaxResults=1)

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
            champion = newest_approved(summaries)
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
        self._update(package, metadata={**metadata_of(package), key: value})

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
            "CustomerMetadataProperties": metadata_of(package) if metadata is None else metadata,
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
        deadline = self.config.deadline
        try:  # each fn's requests keep to the budget (call); this waits no longer than it either
            return list(pool.map(fn, items, timeout=max(deadline.remaining(), 0)))
        except FutureTimeout:
            raise deadline.expired(f"{self.where}: {what}") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
