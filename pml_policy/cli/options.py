"""Options shared by several commands, each with its env var."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from pml_policy.adapters.base import DEFAULT_CHAMPION_ALIAS, AdapterConfig
from pml_policy.adapters.base import registry_timeout as seconds
from pml_policy.base import config
from pml_policy.base.config import DEFAULT_AUDIT_URL
from pml_policy.engine.backends import BACKENDS
from pml_policy.usecases.checking import load_data
from pml_policy.usecases.workspace import Workspace

audit_option = click.option(
    "--audit",
    "audit_url",
    envvar="PML_AUDIT_URL",
    default=DEFAULT_AUDIT_URL,
    show_default=True,
    metavar="URL",
    help="The audit log: a SQLAlchemy URL (sqlite:///path, postgresql://user@host/db). Env: PML_AUDIT_URL.",
)


signing_option = click.option(
    "--signing-key",
    metavar="FILE",
    envvar="PML_AUDIT_SIGNING_KEY",
    type=click.Path(dir_okay=False),
    help="Sign every record appended with this Ed25519 private key (`pml-policy audit keygen`). "
    "Env: PML_AUDIT_SIGNING_KEY.",
)


witness_option = click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A witness's public key (audit keygen's .pub): the checkpoint must carry its cosignature. Repeat for "
    "several witnesses: every one must have cosigned.",
)
origin_option = click.option(
    "--origin",
    envvar="PML_AUDIT_ORIGIN",
    metavar="NAME",
    help="The log's name in checkpoints, e.g. example.com/ml-governance (no spaces or '+'). "
    "Default: pml-policy/ and the audit database's name. Env: PML_AUDIT_ORIGIN.",
)

data_option = click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False),
    envvar="PML_DATA",
    help="YAML or JSON context data, read as `data.…` (thresholds per use case, lists). Env: PML_DATA.",
)


engine_option = click.option(
    "--engine",
    type=click.Choice(list(BACKENDS)),
    default="python",
    show_default=True,
    envvar="PML_ENGINE",
    help="Evaluator backend; durable needs pml-policy[durable]. Env: PML_ENGINE.",
)


policies_option = click.option(
    "-p",
    "--policies",
    "policy_paths",
    multiple=True,
    type=click.Path(),
    envvar="PML_POLICIES",
    help="Policy file or folder (searched recursively); repeatable. Default: ./policies. Env: PML_POLICIES "
    "(os.pathsep-separated).",
)

_REGISTRY_OPTIONS = (
    click.option(
        "--tracking-uri",
        metavar="URI",
        envvar=["PML_TRACKING_URI", "MLFLOW_TRACKING_URI"],
        help="The MLflow tracking server, for models:/… and runs:/… references. Env: PML_TRACKING_URI, else "
        "MLFLOW_TRACKING_URI (MLflow's own).",
    ),
    click.option(
        "--endpoint-url",
        metavar="URL",
        envvar=["PML_ENDPOINT_URL", "AWS_ENDPOINT_URL"],
        help="SageMaker and S3 at this endpoint instead of AWS's own (sagemaker:… references); region and credentials "
        "come the usual boto3 way. Env: PML_ENDPOINT_URL, else AWS_ENDPOINT_URL (boto3's own).",
    ),
    click.option(
        "--champion-alias",
        metavar="ALIAS",
        envvar="PML_CHAMPION_ALIAS",
        help="The registry alias of the production model, read as `champion.…` [default: champion]. Env: "
        "PML_CHAMPION_ALIAS.",
    ),
    click.option(
        "--registry-timeout",
        metavar="SECONDS",
        envvar="PML_REGISTRY_TIMEOUT",
        help="How long the command waits for registries in total before it fails with exit 3 [default: 15]. "
        "Env: PML_REGISTRY_TIMEOUT.",
    ),
    click.option(
        "--allow-local-artifacts",
        metavar="DIR",
        envvar="PML_ALLOW_LOCAL_ARTIFACTS",
        type=click.Path(file_okay=False),
        help="Read a registry run's artifacts from this machine's disk, inside DIR only (a local MLflow file store). "
        "Default: only through the registry's artifact store (mlflow-artifacts:, s3:…): a run that points at a "
        "local path is refused. Env: PML_ALLOW_LOCAL_ARTIFACTS.",
    ),
    click.option(
        "--hash-artifacts",
        is_flag=True,
        envvar="PML_HASH_ARTIFACTS",
        help="Download a run's artifacts to take their sha256 (otherwise: path and size). Env: PML_HASH_ARTIFACTS=1.",
    ),
)


def registry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of commands that read a model registry, handed to the command as one
    `adapters: AdapterConfig` argument."""

    @functools.wraps(command)
    def with_config(
        *args: Any,
        tracking_uri: str | None,
        endpoint_url: str | None,
        champion_alias: str | None,
        registry_timeout: str | None,
        allow_local_artifacts: str | None,
        hash_artifacts: bool,
        **kwargs: Any,
    ) -> Any:
        config = AdapterConfig(
            tracking_uri=tracking_uri,
            endpoint_url=endpoint_url,
            champion_alias=champion_alias or DEFAULT_CHAMPION_ALIAS,
            hash_artifacts=hash_artifacts,
            timeout=seconds(registry_timeout),
            local_artifacts=allow_local_artifacts,
        )
        return command(*args, adapters=config, **kwargs)

    for option in reversed(_REGISTRY_OPTIONS):
        with_config = option(with_config)
    return with_config


def open_workspace(
    policy_paths: tuple[str, ...] | None,
    audit_url: str,
    *,
    required: bool = True,
    signing_key: str | None = None,
    adapters: AdapterConfig | None = None,
    data_file: str | None = None,
    engine: str = "python",
) -> Workspace:
    """The command's workspace, from its options: the policies given (else ./policies; with
    required=False none is fine; None: the command decides nothing and reads no policy), the log,
    the signing key, the registries, the context data."""
    return Workspace.open(
        config.policy_paths(policy_paths, required=required) if policy_paths is not None else (),
        audit_url=audit_url,
        signing_key=signing_key,
        adapters=adapters,
        data=load_data(data_file),
        engine=engine,
    )


class FormatChoice(click.Choice):
    """A choice of output format that takes the other spelling of Markdown too: `markdown` and
    `md` name one format everywhere (check, impact, report), converted to the command's own name."""

    def __init__(self, choices: list[str]) -> None:
        self.aliases = {"md": "markdown"} if "markdown" in choices else {"markdown": "md"} if "md" in choices else {}
        super().__init__([*choices, *self.aliases])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        chosen = super().convert(value, param, ctx)
        return self.aliases.get(chosen, chosen)
