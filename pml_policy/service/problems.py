"""Errors as RFC 9457 problem details (`application/problem+json`): a status, a title, one line of
detail, and the hint a CLI user would get. Never a traceback, never a secret."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from pml_policy.base.errors import (
    AuditError,
    EvidenceError,
    NoPolicyApplies,
    NotRecorded,
    PmlError,
    PolicyConflict,
    PolicyError,
    Refused,
)
from pml_policy.base.escaping import lines_of
from pml_policy.base.secrets import redact
from pml_policy.base.waiting import RETRY_AFTER, Busy

MEDIA_TYPE = "application/problem+json"


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every error of the service is answered."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    hint: str | None = None


# What any route may answer besides its success: the guard (421 Host, 403 Origin, 413, 415), the
# gate (401, 403), a body or query that does not fit (400, 422), what is not there (404), a busy
# registry (429), a log that cannot be written (503).
ERRORS = (400, 401, 403, 404, 409, 413, 415, 421, 422, 429, 503)


_CONTENT = {MEDIA_TYPE: {"schema": ProblemDocument.model_json_schema()}}  # built once, shared by every router


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses: each status with the problem schema (FastAPI's `responses=`)."""
    return {status: {"description": HTTPStatus(status).phrase, "content": _CONTENT} for status in statuses}


def problem(
    status: int, detail: str, hint: str | None = None, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The problem document; `headers` what the status needs besides (a 405's Allow)."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": _safe(detail)}
    if hint:
        body["hint"] = _safe(hint)
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="pml-policy"'
    if status in (429, 503):  # busy or not ready: a client may ask again, and says when (RFC 9110 10.2.3)
        headers["Retry-After"] = str(RETRY_AFTER)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def _safe(text: str) -> str:
    return lines_of(redact(text))


def status_of(exc: PmlError) -> int:
    """The HTTP status of an error class: the CLI's exit codes, said the web's way."""
    if isinstance(exc, Busy):
        return 429  # the registry slots are full: try again shortly (Retry-After)
    if isinstance(exc, NotRecorded):
        return 404
    if isinstance(exc, Refused):
        return 403
    if isinstance(exc, AuditError):
        return 503  # the log cannot be written: nothing was decided
    if isinstance(exc, PolicyConflict):
        return 409
    if isinstance(exc, (EvidenceError, NoPolicyApplies, PolicyError)):
        return 422
    return 400


def from_error(exc: PmlError) -> JSONResponse:
    if isinstance(exc, PolicyError):
        return problem(422, exc.message, errors=[_safe(e.render()) for e in exc.errors])
    return problem(status_of(exc), exc.message, exc.hint)
