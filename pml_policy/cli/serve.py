"""`pml-policy serve`: the governance service."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base import config
from pml_policy.base.errors import PmlError, UsageError
from pml_policy.base.escaping import lines_of
from pml_policy.base.secrets import redact
from pml_policy.usecases.checking import load_data

from .listening import listen, require_service_extra, tls_pair
from .options import audit_option, data_option, origin_option, policies_option, registry_options, signing_option
from .schedules import cron_of, next_fire, seconds_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PML_HOST", help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8077, show_default=True, envvar="PML_PORT")
@click.option(
    "--ssl-certfile",
    type=click.Path(dir_okay=False, exists=True),
    envvar="PML_SSL_CERTFILE",
    help="Serve HTTPS with this PEM certificate (its chain after it); needs --ssl-keyfile. Env: PML_SSL_CERTFILE.",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(dir_okay=False, exists=True),
    envvar="PML_SSL_KEYFILE",
    help="The certificate's private key (PEM, unencrypted). Env: PML_SSL_KEYFILE.",
)
@policies_option
@data_option
@audit_option
@registry_options
@click.option(
    "--registry",
    "registry_kind",
    type=click.Choice(["mlflow", "sagemaker"]),
    default="mlflow",
    show_default=True,
    envvar="PML_REGISTRY",
    help="The registry the service governs and sweeps: MLflow (--tracking-uri; its webhooks) or SageMaker (region "
    "and credentials the usual boto3 way; sweeps only: its events come through EventBridge). Env: PML_REGISTRY.",
)
@click.option(
    "--registry-calls",
    type=click.IntRange(1, 1024),
    default=16,
    show_default=True,
    envvar="PML_REGISTRY_CALLS",
    help="Registry calls in flight at once, at most; beyond them a request gets 429 (Retry-After) at once, so a "
    "registry that hangs cannot take every thread. Env: PML_REGISTRY_CALLS.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="PML_WORKERS",
    help="Inbox worker threads (registry events are handled one model at a time). Env: PML_WORKERS.",
)
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    envvar="PML_APPLY",
    help="Change the registry (aliases, tags) as decided; default: plan only, recorded. Env: PML_APPLY.",
)
@click.option(
    "--enforce",
    type=click.Choice(["revert", "flag", "off"]),
    default="revert",
    show_default=True,
    envvar="PML_ENFORCE",
    help="The champion alias moved by hand to a version that does not pass: move it back, tag the version "
    "governance.violation, or only record it. Env: PML_ENFORCE.",
)
@click.option(
    "--reconcile-every",
    default="10m",
    show_default=True,
    envvar="PML_RECONCILE_EVERY",
    help="How often to compare the registry with the log and govern what was missed (0: never). "
    "Env: PML_RECONCILE_EVERY.",
)
@click.option(
    "--recheck",
    "recheck_cron",
    metavar="CRON",
    envvar="PML_RECHECK",
    help="Re-check every champion on its monitoring evidence on this schedule (cron, e.g. '0 * * * *'; a sixth "
    "field is seconds); failing ones show in /metrics as pml_champion_failing, and with --apply they are "
    "reverted. Env: PML_RECHECK.",
)
@click.option(
    "--tokens",
    type=click.Path(dir_okay=False),
    envvar="PML_TOKENS",
    help="Bearer tokens and their roles (`pml-policy token create`). Without it the service listens on loopback "
    "only and every caller is the local admin. Env: PML_TOKENS.",
)
@click.option(
    "--local-admin",
    is_flag=True,
    envvar="PML_LOCAL_ADMIN",
    help="Without --tokens: let every loopback caller decide, approve and reload (default: read only). Only for a "
    "machine where every local user, and every page a local browser opens, may act as governance. Env: "
    "PML_LOCAL_ADMIN.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A Host name the service answers to besides its bound address (the name a reverse proxy forwards, "
    "gov.example.com); repeatable. Any other Host gets 421: a DNS-rebound page cannot reach the service.",
)
@click.option(
    "--allowed-origin",
    "allowed_origins",
    multiple=True,
    metavar="URL",
    help="A web page's origin (https://portal.example.com) that may call the service from a browser; repeatable. "
    "Requests from any other page get 403.",
)
@click.option(
    "--evidence-root",
    type=click.Path(file_okay=False, exists=True),
    envvar="PML_EVIDENCE_ROOT",
    help="Let POST /v1/check read folders under this one; otherwise it reads registries and pushed evidence.",
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    envvar="PML_FORWARDED_ALLOW_IPS",
    help="Behind a reverse proxy: the proxy's addresses (comma-separated, or *), whose X-Forwarded-For and "
    "X-Forwarded-Proto name the client and scheme. Default: none is trusted, so no caller can name another "
    "client. Env: PML_FORWARDED_ALLOW_IPS.",
)
@click.option(
    "--private-docs",
    is_flag=True,
    envvar="PML_PRIVATE_DOCS",
    help="The API's description (/openapi.json) and its pages (/docs, /redoc) need the read role, as the "
    "decisions do. Default: open to every caller the Host and Origin checks let in. Env: PML_PRIVATE_DOCS.",
)
@click.option(
    "--write-wait",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    envvar="PML_WRITE_WAIT",
    help="How long a decision waits for a SQLite log that another process is writing; then 503 with Retry-After "
    "(and /readyz says why), never a hang. Env: PML_WRITE_WAIT.",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    envvar="PML_LOG_FORMAT",
    help="Log lines on stderr: one JSON object each (time, level, logger, message, request id …: what a log "
    "shipper reads), or text for a person. Env: PML_LOG_FORMAT.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="PML_LOG_LEVEL",
    help="The least a line must weigh to be written (uvicorn's lines too). Env: PML_LOG_LEVEL.",
)
@signing_option
@origin_option
def serve(
    host: str,
    port: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    policy_paths: tuple[str, ...],
    data_file: str | None,
    audit_url: str,
    adapters: AdapterConfig,
    registry_kind: str,
    registry_calls: int,
    workers: int,
    do_apply: bool,
    enforce: str,
    reconcile_every: str,
    recheck_cron: str | None,
    tokens: str | None,
    local_admin: bool,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    evidence_root: str | None,
    forwarded_allow_ips: str | None,
    private_docs: bool,
    write_wait: float,
    log_format: str,
    log_level: str,
    signing_key: str | None,
    origin: str | None,
) -> None:
    """Run the governance service: decide on registry events, answer deployment tools.

    The MLflow webhook secret comes from PML_WEBHOOK_SECRET (never an option: options show in
    process lists). Policies load at start; SIGHUP or POST /v1/policies/reload loads them again,
    and a set with errors is refused while the old one stays in force.

    No web page drives it: a request from another page (Origin) gets 403, one to a name that is
    not the service's (Host) 421, a body that is not application/json 415. Without --tokens it
    listens on loopback only and is read-only, unless --local-admin says otherwise.

    \b
    Examples:
      pml-policy serve                                         # 127.0.0.1:8077, read only, ./policies
      pml-policy serve --local-admin                           # loopback callers may decide too
      PML_WEBHOOK_SECRET=… pml-policy serve --tracking-uri http://mlflow:5000 --apply
      pml-policy serve --host 0.0.0.0 --tokens tokens.yaml --audit postgresql://gov@db/governance
    """
    require_service_extra()
    from pml_policy.service import ServiceSettings, create_app, logs
    from pml_policy.service.settings import is_loopback

    if not tokens and not is_loopback(host):
        raise UsageError(
            f"--host {host} is reachable from other machines, and no --tokens file says who may call",
            "create tokens with `pml-policy token create NAME --role decide --tokens tokens.yaml`, or listen on "
            "127.0.0.1",
        )
    tls = tls_pair(ssl_certfile, ssl_keyfile)
    listening = listen(host, port)  # before anything opens: a busy port is one line, not a half start
    port = listening.getsockname()[1]  # --port 0: the one the system chose
    settings = ServiceSettings(
        host=host,
        port=port,
        policy_paths=config.policy_paths(policy_paths),
        audit_url=audit_url,
        registry=registry_kind,
        tracking_uri=adapters.tracking_uri,
        endpoint_url=adapters.endpoint_url,
        champion_alias=adapters.champion_alias,
        registry_timeout=adapters.timeout,
        local_artifacts=adapters.local_artifacts,
        registry_calls=registry_calls,
        workers=workers,
        apply=do_apply,
        enforce=enforce,
        reconcile_every=seconds_of(reconcile_every, "--reconcile-every"),
        recheck=cron_of(recheck_cron),
        data=load_data(data_file),
        tokens=tokens,
        local_admin=local_admin,
        allowed_hosts=list(allowed_hosts),
        allowed_origins=list(allowed_origins),
        webhook_secret=os.environ.get("PML_WEBHOOK_SECRET") or None,
        signing_key=signing_key,
        origin=origin,
        evidence_root=evidence_root,
        tls=tls,
        write_wait=write_wait,
        private_docs=private_docs,
    )
    logs.configure("json" if log_format == "json" else "text", log_level)
    app = create_app(settings)
    service = app.state.service
    signal.signal(signal.SIGHUP, lambda *_: _reload(service))
    who = f"tokens from {tokens}" if tokens else "no tokens: loopback only, read only (--local-admin lets callers act)"
    if not tokens and local_admin:
        who = "no tokens: loopback only, --local-admin: every loopback caller may decide, approve and reload"
    address = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    url = f"{'https' if tls else 'http'}://{address}:{port}"
    logging.getLogger("pml_policy.service").info(
        f"pml-policy serve: {url} ({who}); {len(service.policies.policies)} policies from "
        f"{', '.join(settings.policy_paths)}; audit log {redact(audit_url)}; registry "
        f"{_registry_shown(registry_kind, adapters)}; {'applying' if do_apply else 'planning only'}; webhooks "
        f"{'on' if settings.webhook_secret else 'off (no PML_WEBHOOK_SECRET)'}",
        extra={"url": url, "policies": len(service.policies.policies), "applying": do_apply},
    )
    if settings.recheck:
        fire = next_fire(settings.recheck)
        when = fire.isoformat().replace("+00:00", "Z") if fire else "never"
        logging.getLogger("pml_policy.service").info(
            f"champions re-checked on '{settings.recheck}'; next at {when}",
            extra={"schedule": settings.recheck, "next": when},
        )
    if settings.governs and settings.reconcile_every:
        logging.getLogger("pml_policy.service").info(
            f"the registry is swept at start, then every {settings.reconcile_every:g} s",
            extra={"sweep_every": settings.reconcile_every},
        )
    import uvicorn

    # log_config=None: uvicorn's loggers write through ours (one format); its access log is ours too.
    served = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        # uvicorn trusts X-Forwarded-For from loopback by default: here only from a proxy named so.
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or "",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    uvicorn.Server(served).run(sockets=[listening])


def _registry_shown(kind: str, adapters: AdapterConfig) -> str:
    if kind == "sagemaker":
        return f"SageMaker{' at ' + redact(adapters.endpoint_url) if adapters.endpoint_url else ''}"
    return redact(adapters.tracking_uri or "none")


def _reload(service: Any) -> None:
    log = logging.getLogger("pml_policy.service")
    try:
        fresh = service.reload()
    except PmlError as exc:
        log.error("reload refused; the old policies stay", extra={"errors": lines_of(exc.render())})
        return
    log.info("policies reloaded", extra={"policies": [f"{p.name} {p.version}" for p in fresh.policies]})
