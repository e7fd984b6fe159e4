"""Request bodies, read with the evidence readers' limits (size, depth, integer length, no key
twice) rather than FastAPI's own parsing, and documented in the OpenAPI document from the same
models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from pml_policy.base.mappings import loads_bounded
from pml_policy.engine import Subject
from pml_policy.usecases.approving import MAX_REASON

from .guard import json_body

REGISTRY_REFS = ("models:/", "runs:/", "wandb:", "sagemaker:", "arn:aws")
Body = TypeVar("Body", bound=BaseModel)


class Problem(Exception):
    """A request the service answers with a problem (status, one line of detail, extra fields)."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


def _integer(value: Any) -> Any:
    """A JSON Schema integer: 3 or 3.0, never true (which pydantic's lax int would take as 1)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number here")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _time_text(value: Any) -> Any:
    """A time given as ISO 8601 text, as the schema says (pydantic would also take a number)."""
    if value is not None and not isinstance(value, str):
        raise ValueError("a time is ISO 8601 text (2026-12-05T10:00:00Z)")
    return value


class InlineModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=500)
    # A string, or a positive integer as pml.yaml takes it (`version: 8`), kept as its text.
    version: Annotated[str, Field(max_length=100)] | Annotated[int, Field(strict=True, gt=0)] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _as_text(cls, version: Any) -> Any:
        """A positive integer (1894, or 1894.0: JSON Schema's integers) as its text."""
        version = _integer(version)
        if isinstance(version, int):
            if version < 1:
                raise ValueError("a version number is a positive integer")
            return str(version)
        return version

    aliases: list[str] = Field(default_factory=list, max_length=100)


class InlineRun(BaseModel):
    """The run's facts the rules read (run.user, run.git_commit …); other keys are ignored, as a
    folder's pml.yaml ignores them."""

    id: str | None = Field(default=None, max_length=500)
    start_time: Annotated[dt.datetime | None, BeforeValidator(_time_text)] = None
    user: str | None = Field(default=None, max_length=500)
    git_commit: str | None = Field(default=None, max_length=200)
    datasets: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=1000)


class InlineArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1000)
    size: Annotated[int, BeforeValidator(_integer)] = Field(ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class InlineSubject(BaseModel):
    """Evidence pushed by a tool that has it at hand: what a local folder would hold."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=500)
    model: InlineModel = Field(default_factory=InlineModel)
    run: InlineRun = Field(default_factory=InlineRun)
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[InlineArtifact] = Field(default_factory=list, max_length=2_000)


# A check needs something to decide: references, pushed evidence, or both (said in the schema too).
_SOMETHING: list[Any] = [
    {"required": ["refs"], "properties": {"refs": {"minItems": 1}}},
    {"required": ["subjects"], "properties": {"subjects": {"minItems": 1}}},
]


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": _SOMETHING})
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


async def read_body(request: Request, model: type[Body], limit: int) -> Body:
    """The body as `model`, read within `limit` bytes: 415 (not application/json), 413, 400 (not
    JSON within the limits) or 422."""
    refuse_other_media(request)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise Problem(413, f"the request body is larger than {limit:,} bytes")
    try:
        data = loads_bounded(raw.decode("utf-8")) if raw else {}  # no body: every field's default, if it has one
    except ValueError as exc:
        raise Problem(400, f"the body is not JSON within the limits: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()[:20]]
        raise Problem(422, f"the body does not fit: {errors[0]['msg']}", errors=errors) from None


def refuse_other_media(request: Request) -> None:
    """A body that is not application/json is never read: a form or a text/plain POST, what a web
    page can send without asking, gets 415. No body at all: every field's default."""
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    if has_body and not json_body(request.headers.get("content-type")):
        shown = (request.headers.get("content-type") or "none")[:100]
        raise Problem(415, f"the request body must be application/json, not {shown}")


def documented(model: type[BaseModel]) -> dict[str, Any]:
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


def inline_subject(given: InlineSubject) -> Subject:
    try:
        return Subject.model_validate({**given.model_dump(), "source": "inline", "digest": ""})
    except ValidationError as exc:
        raise Problem(422, f"subject {given.reference!r}: {exc.errors()[0]['msg']}") from None


def registry_refs_only(refs: list[str], root: str | None) -> None:
    """The service reads registries; a folder on its own disk only under --evidence-root."""
    for ref in refs:
        if ref.startswith(REGISTRY_REFS):
            continue
        inside = root is not None and Path(ref).resolve().is_relative_to(Path(root).resolve())
        if not inside:
            raise Problem(
                403,  # not a malformed request: one for what this service does not do (read its own disk)
                f"{ref!r}: the service reads model registries (models:/…, runs:/…, wandb:…, sagemaker:…); push "
                "other evidence inline as `subjects`",
                hint="start the service with --evidence-root DIR to allow folders under DIR",
            )
