"""The HTTP application: routes in, one use-case call out, JSON back. No decision logic here.

Requests are parsed with the evidence readers' limits (size, depth, integer length, no key twice),
errors are problem details, each request is one JSON log line (never a header, so never a token),
and blocking work (evaluation, the log, the registry) runs in the thread pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from pml_policy.adapters.base import AdapterConfig
from pml_policy.audit import AuditStore
from pml_policy.audit import inbox as inbox_jobs
from pml_policy.audit.database import Database, reason
from pml_policy.audit.signing import Signer
from pml_policy.base.errors import AuditError, NoAuditLog, PmlError, UsageError
from pml_policy.base.mappings import loads_bounded
from pml_policy.base.secrets import redact
from pml_policy.engine import PolicySet, Subject, load
from pml_policy.outputs.json_out import document
from pml_policy.usecases.approving import MAX_REASON, approve
from pml_policy.usecases.checking import decide
from pml_policy.usecases.reacting import Governance, governed, rechecks_due, sweep
from pml_policy.usecases.tokens import TokenFile

from .auth import Denied, Gate
from .metrics import Metrics
from .problems import from_error, problem
from .recorder import Recorder
from .settings import ServiceSettings
from .webhooks import Refused, verify
from .worker import Workers

log = logging.getLogger("pml_policy.service")
REGISTRY_REFS = ("models:/", "runs:/", "wandb:", "sagemaker:", "arn:aws")


class Policies:
    """The policy set in force; a reload with errors is refused and the old set stays."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.lock = threading.Lock()
        self.current: PolicySet = load(paths)

    def reload(self) -> PolicySet:
        fresh = load(self.paths)  # PolicyError: refused, with every located error
        with self.lock:
            self.current = fresh
        return fresh


class Service:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.policies = Policies(settings.policy_paths)
        self.gate = Gate(TokenFile.load(settings.tokens) if settings.tokens else None)
        # Created or upgraded now, not at the first request; kept open: the requests that record
        # share it (a pool of connections on PostgreSQL; one SQLite connection, taken in turn).
        self.store = AuditStore(
            settings.audit_url, signer=Signer(settings.signing_key) if settings.signing_key else None
        )
        self.recorder = Recorder(self.store)
        self.inbox_db = Database(settings.audit_url)
        self.inbox_lock = threading.Lock()  # the request threads share one inbox connection
        self.metrics = Metrics(self.depth, self.rechecks)
        self.workers = Workers(settings.audit_url, self.governance, self.metrics, settings.poll_seconds)

    def config(self) -> AdapterConfig:
        """A registry configuration per request or job: each has its own time budget."""
        s = self.settings
        return AdapterConfig(
            tracking_uri=s.tracking_uri,
            endpoint_url=s.endpoint_url,
            champion_alias=s.champion_alias,
            timeout=s.registry_timeout,
        )

    def governance(self) -> Governance:
        s = self.settings
        return Governance(
            self.policies.current,
            self.config(),
            s.audit_url,
            s.apply,
            s.enforce,
            s.signing_key,
            "pml-policy service",
            data=s.data,
            registry_kind=s.registry,
        )

    @contextlib.contextmanager
    def inbox(self) -> Iterator[Database]:
        """The inbox's connection, one caller at a time; a database that fails is an AuditError (503)."""
        with self.inbox_lock:
            try:
                yield self.inbox_db
            except self.inbox_db.errors() as exc:
                raise AuditError(
                    f"the inbox in {self.inbox_db.shown} cannot be read or written: {reason(exc)}"
                ) from None

    def rechecks(self) -> list[Any]:
        """Each model's latest re-check, from the log (every replica reports the same)."""
        try:
            store = AuditStore(self.settings.audit_url, create=False)
        except NoAuditLog:
            return []
        try:
            return store.latest_rechecks()
        finally:
            store.close()

    def depth(self) -> inbox_jobs.Depth:
        with self.inbox() as db:
            return inbox_jobs.depth(db)

    def enqueue(self, delivery_id: str, event: str, model: str | None, body: str, source: str = "mlflow") -> bool:
        with self.inbox() as db:
            return inbox_jobs.enqueue(db, delivery_id, source, event, model, body)

    def sweep(self) -> int:
        """Compare the registry with the log; enqueue what was missed. Returns the jobs added."""
        added = 0
        for delivery_id, event, data in sweep(self.governance()):
            body = json.dumps({"source": "sweep", "event": event, "data": data})
            added += self.enqueue(delivery_id, event, data["name"], body, source="sweep")
        if added:
            self.workers.wake()
        return added

    def rechecking(self, stop: threading.Event) -> None:
        """At each time of --recheck CRON, a re-check job per champion into the inbox (named by the
        time: replicas enqueue each once); the workers run them like any registry event."""
        from croniter import croniter

        schedule = croniter(self.settings.recheck, dt.datetime.now(dt.UTC))
        while not stop.is_set():
            slot = schedule.get_next(dt.datetime)
            if stop.wait(max(0.0, (slot - dt.datetime.now(dt.UTC)).total_seconds())):
                return
            try:
                added = 0
                for delivery_id, event, data in rechecks_due(self.governance(), slot.isoformat()):
                    body = json.dumps({"source": "schedule", "event": event, "data": data})
                    added += self.enqueue(delivery_id, event, data["name"], body, source="schedule")
                if added:
                    self.workers.wake()
                log.info(json.dumps({"event": "recheck scheduled", "slot": slot.isoformat(), "jobs": added}))
            except PmlError as exc:
                log.warning(json.dumps({"event": "recheck not scheduled", "error": redact(exc.message)}))
            except Exception:
                log.exception(json.dumps({"event": "recheck not scheduled"}))

    def sweeping(self, stop: threading.Event) -> None:
        """At start, then every --reconcile-every; a failed sweep is logged and tried at the next."""
        while not stop.is_set():
            try:
                added = self.sweep()
                log.info(json.dumps({"event": "sweep", "jobs": added}))
            except PmlError as exc:
                log.warning(json.dumps({"event": "sweep failed", "error": redact(exc.message)}))
            except Exception:
                log.exception(json.dumps({"event": "sweep failed"}))
            if stop.wait(self.settings.reconcile_every):
                return


# ---- request bodies ----------------------------------------------------------------------------


class InlineModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=500)
    version: str | None = Field(default=None, max_length=100)
    aliases: list[str] = Field(default_factory=list, max_length=100)


class InlineSubject(BaseModel):
    """Evidence pushed by a tool that has it at hand: what a local folder would hold."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=500)
    model: InlineModel = Field(default_factory=InlineModel)
    run: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refs: list[str] = Field(default_factory=list, max_length=100, description="References as the CLI takes them.")
    subjects: list[InlineSubject] = Field(default_factory=list, max_length=100)
    champion: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] = Field(default_factory=dict)


class GovernRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    apply: bool = False


class ApprovalRequest(BaseModel):
    """A sign-off: the approver is the token's name, never a field of the request."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1, max_length=500, description="The model version, as the CLI names it.")
    role: str = Field(min_length=1, max_length=200, description="The role signed off for, as the policies declare it.")
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="What was reviewed.")
    expires: dt.date | None = Field(default=None, description="The last day it counts (UTC).")


async def _body(request: Request, model: type[BaseModel], limit: int) -> Any:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _Problem(413, f"the request body is larger than {limit:,} bytes")
    try:
        data = loads_bounded(raw.decode("utf-8")) if raw else {}  # no body: every field's default, if it has one
    except ValueError as exc:
        raise _Problem(400, f"the body is not JSON within the limits: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]]
        raise _Problem(422, f"the body does not fit: {errors[0]['msg']}", errors=errors) from None


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that parses its body itself (with the evidence
    readers' limits): the model's JSON Schema with its definitions written in place."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        return [inline(v) for v in node] if isinstance(node, list) else node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"required": True, "content": content}}


class _Problem(Exception):
    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


def _inline(given: InlineSubject) -> Subject:
    try:
        return Subject.model_validate({**given.model_dump(), "source": "inline", "digest": ""})
    except ValidationError as exc:
        raise _Problem(422, f"subject {given.reference!r}: {exc.errors()[0]['msg']}") from None


def _check_refs(refs: list[str], root: str | None) -> None:
    """The service reads registries; a folder on its own disk only under --evidence-root."""
    for ref in refs:
        if ref.startswith(REGISTRY_REFS):
            continue
        inside = root is not None and Path(ref).resolve().is_relative_to(Path(root).resolve())
        if not inside:
            raise _Problem(
                400,
                f"{ref!r}: the service reads model registries (models:/…, runs:/…, wandb:…, sagemaker:…); push "
                "other evidence inline as `subjects`",
                hint="start the service with --evidence-root DIR to allow folders under DIR",
            )


# ---- the application ---------------------------------------------------------------------------


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service; raises PmlError (a bad policy set, tokens file or audit log) before serving."""
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service.inbox_db.is_sqlite:
            with service.inbox() as db:
                inbox_jobs.release_running(db)  # one process: whatever ran is gone
        if (
            settings.registry == "mlflow" and settings.tracking_uri
        ):  # import the client now, not at the first event (2 s)
            await run_in_threadpool(lambda: service.governance().registry().client)  # type: ignore[attr-defined]
        service.workers.start(settings.workers)
        stop = threading.Event()
        if settings.governs and settings.reconcile_every > 0:
            threading.Thread(target=service.sweeping, args=(stop,), name="pml-sweep", daemon=True).start()
        if settings.governs and settings.recheck:
            threading.Thread(target=service.rechecking, args=(stop,), name="pml-recheck", daemon=True).start()
        yield
        stop.set()
        service.workers.stop()
        service.recorder.close()
        service.store.close()
        service.inbox_db.close()

    app = FastAPI(
        title="pml-policy",
        summary="Governance decisions for ML models, recorded in a tamper-evident audit log.",
        lifespan=lifespan,
    )
    app.state.service = service

    def actor(request: Request, role: str) -> str:
        name = service.gate.actor(request, role)
        request.state.actor = name
        return name

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_body:
            response: Response = problem(413, f"the request body is larger than {settings.max_body:,} bytes")
        else:
            try:
                response = await call_next(request)
            except Exception:  # a bug: a problem, and a line in the log, never a traceback to the client
                log.exception("unhandled error")
                response = problem(500, "internal error; the service log has the details")
        route = getattr(request.scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        service.metrics.requests.labels(route, request.method, str(response.status_code)).observe(elapsed)
        line = {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "ms": round(elapsed * 1000, 1),
            "actor": getattr(request.state, "actor", None),
        }
        log.info(json.dumps(line))
        return response

    @app.exception_handler(PmlError)
    async def _pml(request: Request, exc: PmlError) -> Response:
        return from_error(exc)

    @app.exception_handler(_Problem)
    async def _problem(request: Request, exc: _Problem) -> Response:
        return problem(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> Response:
        return problem(exc.status, exc.detail)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]]
        return problem(422, f"the request does not fit: {errors[0]['msg'] if errors else ''}", errors=errors)

    # ---- health --------------------------------------------------------------------------------

    @app.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Ready: the log answers, policies are loaded, the inbox keeps up")
    async def readyz() -> Response:
        try:
            depth = await run_in_threadpool(service.depth)
        except Exception:
            return problem(503, "the audit database does not answer")
        lag = depth.age()
        if lag > settings.max_lag:
            return problem(
                503, f"the inbox lags: its oldest pending job waits for {lag:.0f} s (bound {settings.max_lag:.0f} s)"
            )
        body = {
            "status": "ready",
            "policies": [f"{p.name} {p.version}" for p in service.policies.current.policies],
            "inbox": depth._asdict(),
        }
        return Response(json.dumps(body), media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---- decisions -----------------------------------------------------------------------------

    @app.post(
        "/v1/check",
        summary="Decide references or pushed evidence; recorded before the answer",
        openapi_extra=_documented(CheckRequest),
    )
    async def check(request: Request) -> Response:
        by = actor(request, "decide")
        body: CheckRequest = await _body(request, CheckRequest, settings.max_body)
        if not body.refs and not body.subjects:
            raise _Problem(422, "give `refs` (registry references) or `subjects` (evidence), or both")
        _check_refs([*body.refs, *([body.champion] if body.champion else [])], settings.evidence_root)
        inline = [_inline(s) for s in body.subjects]

        def run() -> str:
            decided = decide(
                body.refs,
                service.policies.current,
                body.champion,
                body.data,
                "python",
                service.config(),
                inline,
                settings.audit_url,
            )
            started = time.perf_counter()
            recorded = service.recorder.record(decided, by)
            service.metrics.append.observe(time.perf_counter() - started)
            for d in decided.decisions:
                service.metrics.decisions.labels(d.outcome).inc()
            records = [{"decision": i, "seq": n, "hash": h} for i, n, h in recorded.records]
            audit = {"recorded": True, "store": recorded.store, "records": records}
            return document(decided.decisions, audit).model_dump_json(by_alias=True)

        return Response(await run_in_threadpool(run), media_type="application/json")

    @app.post(
        "/v1/approvals",
        summary="Sign off a model version's evidence (a token with the approve role; it is the approver)",
        openapi_extra=_documented(ApprovalRequest),
        status_code=201,
    )
    async def approvals(request: Request) -> Response:
        by = actor(request, "approve")
        body: ApprovalRequest = await _body(request, ApprovalRequest, settings.max_body)
        _check_refs([body.ref], settings.evidence_root)

        def run() -> dict[str, Any]:
            policies = service.policies.current
            config = service.config()
            seq, subject = approve(
                body.ref,
                body.role,
                body.reason,
                policies,
                settings.audit_url,
                by,
                body.expires,
                config,
                settings.signing_key,
            )
            answer: dict[str, Any] = {
                "record": seq,
                "model": subject.model.name,
                "version": subject.model.version,
                "role": body.role,
                "approver": by,
                "digest": subject.digest,
                "expires": body.expires.isoformat() if body.expires else None,
                "governed": None,
            }
            if subject.source == settings.registry:  # the version may pass now: govern its model at once
                answer["governed"] = _govern_if_passing(subject, config)
            return answer

        return JSONResponse(await run_in_threadpool(run), status_code=201)

    def _govern_if_passing(subject: Subject, config: AdapterConfig) -> dict[str, Any] | None:
        """Govern the model when the approved version now passes (tags, and the alias if it ranks
        first), recorded like any other govern; None when it does not pass yet."""
        policies = service.policies.current
        decided = decide([subject.reference], policies, None, {}, "python", config, audit_url=settings.audit_url)
        if decided.decisions[0].outcome not in ("pass", "warn"):
            return None
        ctx = service.governance()
        done = governed(ctx, subject.model.name or "")
        for c in ctx.changes:
            service.metrics.changes.labels(c.state).inc()
        for outcome in ctx.outcomes:
            service.metrics.decisions.labels(outcome).inc()
        if done is None:
            return None
        result, recorded = done
        return {
            "records": [seq for _, seq, _ in recorded.records],
            "changes": [
                {"version": c.version, "kind": c.kind, "name": c.name, "state": c.state} for c in result.changes
            ],
        }

    @app.post(
        "/v1/govern/{model}",
        summary="Govern a registered model: plan, or apply",
        openapi_extra=_documented(GovernRequest),
    )
    async def govern_model(model: str, request: Request) -> Response:
        by = actor(request, "decide")
        body: GovernRequest = await _body(request, GovernRequest, settings.max_body)
        if body.apply and not settings.apply:
            raise _Problem(403, "this service plans only; start it with --apply to let it change the registry")

        def run() -> dict[str, Any]:
            ctx = dataclasses.replace(service.governance(), apply=body.apply, by=by)
            done = governed(ctx, model)
            if done is None:
                raise UsageError(f"model {model!r} has no version to govern")
            result, recorded = done
            for c in ctx.changes:
                service.metrics.changes.labels(c.state).inc()
            for outcome in ctx.outcomes:
                service.metrics.decisions.labels(outcome).inc()
            return {
                "model": model,
                "applied": body.apply,
                "records": [{"decision": i, "seq": n, "hash": h} for i, n, h in recorded.records],
                "decisions": [
                    {"version": d.subject.version, "outcome": d.outcome, "id": d.id} for d in result.decisions
                ],
                "changes": [
                    {"version": c.version, "kind": c.kind, "name": c.name, "value": c.value, "state": c.state}
                    | ({"detail": c.detail} if c.detail else {})
                    for c in result.changes
                ],
            }

        return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")

    @app.get("/v1/decisions", summary="Recorded decisions, newest first, in pages")
    async def decisions(
        request: Request,
        model: str | None = None,
        outcome: Literal["pass", "warn", "pending", "fail"] | None = None,
        kind: Literal["decision", "plan", "recheck", "change", "approval"] | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> Response:
        actor(request, "read")
        if not 1 <= limit <= 500 or (before is not None and not 1 <= before <= 2**62):
            raise _Problem(422, "limit is 1 to 500, and before a record number")

        def run() -> dict[str, Any]:
            store = AuditStore(settings.audit_url, create=False)
            try:
                rows = store.records(model, None, outcome, None, None, limit, True, kind, before)
            finally:
                store.close()
            page = [{**dict(r), "ci": json.loads(r["ci"])} for r in rows]
            following = rows[-1]["seq"] if len(rows) == limit else None
            return {"decisions": page, "next": f"/v1/decisions?before={following}&limit={limit}" if following else None}

        return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")

    @app.get("/v1/decisions/{ref}", summary="One recorded decision: its id, a 6+ character prefix, or #SEQ")
    async def one_decision(ref: str, request: Request) -> Response:
        actor(request, "read")

        def run() -> dict[str, Any]:
            store = AuditStore(settings.audit_url, create=False)
            try:
                row = store.get(ref)
                changes = store.changes(row["id"])
            finally:
                store.close()
            record_part = {k: row[k] for k in ("seq", "id", "time", "actor", "kind", "prev_hash", "hash")}
            return {
                "record": record_part,
                "ci": json.loads(row["ci"]),
                "body": json.loads(row["body"]),
                "changes": changes,
            }

        return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")

    @app.get("/v1/audit/verify", summary="Verify the audit chain (and every table beside it)")
    async def verify_log(request: Request) -> Response:
        actor(request, "read")

        def run() -> dict[str, Any]:
            store = AuditStore(settings.audit_url, create=False)
            try:
                verdict = store.verify()
            finally:
                store.close()
            return {"ok": verdict.ok, "records": verdict.records, "head": verdict.head, "problem": verdict.problem}

        return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")

    @app.post("/v1/policies/reload", summary="Load the policies again; a set with errors is refused")
    async def reload(request: Request) -> Response:
        actor(request, "admin")
        fresh = await run_in_threadpool(service.policies.reload)
        body = {"policies": [{"name": p.name, "version": p.version, "digest": p.digest} for p in fresh.policies]}
        return Response(json.dumps(body), media_type="application/json")

    # ---- registry events -----------------------------------------------------------------------

    @app.post("/v1/webhooks/mlflow", summary="MLflow webhook deliveries (signed)")
    async def mlflow_webhook(request: Request) -> Response:
        if not settings.webhook_secret:
            raise _Problem(404, "webhooks are off: start the service with PML_WEBHOOK_SECRET set")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > settings.max_body:
                raise _Problem(413, f"the request body is larger than {settings.max_body:,} bytes")
        try:
            delivery_id, delivery = verify(settings.webhook_secret, request.headers, bytes(raw))
        except Refused as exc:
            service.metrics.deliveries.labels("refused").inc()
            raise _Problem(exc.status, exc.reason) from None
        request.state.actor = "mlflow-webhook"
        model = delivery.data.get("name")
        fresh = await run_in_threadpool(
            service.enqueue, delivery_id, delivery.event, str(model) if model else None, raw.decode("utf-8")
        )
        service.metrics.deliveries.labels("accepted" if fresh else "duplicate").inc()
        if fresh:
            service.workers.wake()
        return Response(json.dumps({"accepted": fresh, "duplicate": not fresh}), media_type="application/json")

    @app.get("/v1/inbox", summary="Inbox jobs, newest first")
    async def inbox(request: Request, state: Literal["pending", "running", "done", "dead"] | None = None) -> Response:
        actor(request, "read")

        def run() -> list[dict[str, Any]]:
            with service.inbox() as db:
                return [j._asdict() | {"body": None} for j in inbox_jobs.jobs(db, state)]

        return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")

    return app
