"""The HTTP application: the running service (runtime.py), its routers (routes/), one problem writer.

Requests are parsed with the evidence readers' limits (bodies.py), errors are problem details, each
request is one JSON log line (never a header, so never a token), and blocking work (evaluation, the
log, the registry) runs in the thread pool. Routes hold no decision logic: they call the use cases.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from pml_policy.audit import inbox as inbox_jobs
from pml_policy.base.errors import PmlError

from .auth import Denied
from .bodies import Problem
from .logs import REQUEST_ID, request_id
from .problems import from_error, problem
from .routes import ROUTERS
from .runtime import Service
from .settings import ServiceSettings

log = logging.getLogger("pml_policy.service")
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's files, served from the installed package
DOCS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")  # what --private-docs puts behind read


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service; raises PmlError (a bad policy set, tokens file or audit log) before serving."""
    service = Service(settings)
    # /docs and /redoc from assets shipped in fastapi-offline, never a CDN: an air-gapped network
    # gets its pages, and no third party is asked for JavaScript.
    app = FastAPIOffline(
        title="pml-policy",
        summary="Governance decisions for ML models, recorded in a tamper-evident audit log.",
        lifespan=_lifespan(service),
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.service = service
    app.middleware("http")(_observe(service))
    _handle_errors(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _lifespan(service: Service) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    settings = service.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service.database().is_sqlite:
            with service.inbox() as db:
                inbox_jobs.release_running(db)  # one process: whatever ran is gone
        if (
            settings.registry == "mlflow" and settings.tracking_uri
        ):  # import the client now, not at the first event (2 s)
            await run_in_threadpool(lambda: service.acting().registry().client)  # type: ignore[attr-defined]
        service.workers.start(settings.workers)
        stop = threading.Event()
        if settings.governs and settings.reconcile_every > 0:
            threading.Thread(target=service.sweeping, args=(stop,), name="pml-sweep", daemon=True).start()
        if settings.governs and settings.recheck:
            threading.Thread(target=service.rechecking, args=(stop,), name="pml-recheck", daemon=True).start()
        yield
        stop.set()
        service.close()

    return lifespan


def _observe(service: Service) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Every request: its Host and Origin (guard.py), the body limit from its Content-Length, a
    problem (never a traceback) for a bug, its latency in the metrics and one JSON log line."""
    limit = service.settings.max_body

    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        rid = request_id(request.headers.get("x-request-id"))
        REQUEST_ID.set(rid)  # every line written while this request is handled carries it
        length = request.headers.get("content-length", "")
        refused = service.guard.refusal(request.headers.get("host"), request.headers.get("origin"))
        if refused is not None:  # a page in a browser, or a rebound name: nothing runs
            response: Response = problem(*refused)
        elif length.isdigit() and int(length) > limit:
            response = problem(413, f"the request body is larger than {limit:,} bytes")
        elif (denied := _docs_denied(service, request)) is not None:
            response = problem(denied.status, denied.detail)
        else:
            try:
                response = await call_next(request)
            except Exception:  # a bug: a problem, and a line in the log, never a traceback to the client
                log.exception("unhandled error")
                response = problem(500, "internal error; the service log has the details")
        route = getattr(request.scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        service.metrics.requests.labels(route, request.method, str(response.status_code)).observe(elapsed)
        response.headers["X-Request-Id"] = rid
        line = {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "ms": round(elapsed * 1000, 1),
            "actor": getattr(request.state, "actor", None),
            "client": request.client.host if request.client else None,
        }
        log.info("request", extra=line)
        return response

    return observe


def _docs_denied(service: Service, request: Request) -> Denied | None:
    """With --private-docs, the API's description and its pages need the read role, as the data does."""
    path = request.url.path
    if not service.settings.private_docs or not (path in DOCS or path.startswith(DOCS_ASSETS + "/")):
        return None
    try:
        service.gate.actor(request, "read")
    except Denied as denied:
        return denied
    return None


def _handle_errors(app: FastAPI) -> None:
    """Every error a route can raise, as one problem document."""

    @app.exception_handler(PmlError)
    async def _pml(request: Request, exc: PmlError) -> Response:
        return from_error(exc)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> Response:
        return problem(exc.status, exc.detail)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)  # a 405 keeps its Allow

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]]
        return problem(422, f"the request does not fit: {errors[0]['msg'] if errors else ''}", errors=errors)
