"""What the log proves outside the database: its latest signed checkpoint, a record's inclusion
proof, and a decision's attestation (which appends nothing to the log)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pml_policy.usecases import attesting, proving

from ..answers import ok
from ..bodies import Problem, documented, read_body
from ..deps import Reader, ServiceDep
from ..problems import ERRORS, responses

router = APIRouter(responses=responses(*ERRORS))
Ref = Annotated[str, Path(pattern=r"^(#[0-9]{1,18}|[^#].{5,99})$", description="An id, 6+ of its characters, #SEQ")]


class InclusionProof(BaseModel):
    """`audit prove`'s document: an RFC 9162 inclusion proof (hashes in base64)."""

    model_config = ConfigDict(extra="allow")
    schema_: str = Field(alias="schema")
    record: dict[str, Any]
    leaf_index: int
    tree_size: int
    root_hash: str
    hashes: list[str]
    checkpoint: str | None = Field(description="The signed checkpoint (C2SP note) the proof holds against.")


class AttestationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(
        pattern=r"^(#[0-9]{1,18}|[^#].{5,99})$", description="A decision id, 6+ of its characters, or #SEQ."
    )


class Envelope(BaseModel):
    """A DSSE envelope (application/vnd.in-toto+json payload)."""

    payloadType: str  # noqa: N815 - DSSE's own name
    payload: str
    signatures: list[dict[str, str]]


def _signed(service: Any) -> None:
    if not service.settings.signing_key:
        raise Problem(409, "the service has no signing key: start it with --signing-key (PML_AUDIT_SIGNING_KEY)")


@router.get(
    "/v1/checkpoints/latest",
    summary="The log's tree head as a C2SP checkpoint (a signed note), as `audit checkpoint` prints it",
    responses={200: {"description": "The signed note", "content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def latest_checkpoint(by: Reader, service: ServiceDep) -> Response:
    _signed(service)
    text = await run_in_threadpool(lambda: proving.checkpoint(service.acting(by), service.settings.origin))
    return Response(text, media_type="text/plain; charset=utf-8")


@router.get(
    "/v1/proofs/inclusion/{ref}",
    summary="A record's RFC 9162 inclusion proof, against a tree size you hold a checkpoint of (default: now)",
    responses=ok(InclusionProof),
)
async def inclusion_proof(
    ref: Ref,
    by: Reader,
    service: ServiceDep,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62, description="The size of your checkpoint's tree")] = None,
) -> Response:
    def run() -> dict[str, Any]:
        ws = service.acting(by)
        store = ws.log.store(create=False)
        record = store.get(ref)
        if tree_size is not None:
            head = store.head()[0]
            if not record["seq"] <= tree_size <= head:
                raise Problem(422, f"record #{record['seq']} is not in a tree of {tree_size} (the log holds {head})")
            return proving.prove_at(ws, record["id"], tree_size)
        _signed(service)
        return proving.prove_now(ws, record["id"], service.settings.origin)

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")


@router.post(
    "/v1/attestations",
    openapi_extra=documented(AttestationRequest),
    summary="A decision's attestation (DSSE envelope, in-toto Statement, SLSA Verification Summary), as `attest` "
    "writes it; subjects are the artifacts the decision recorded with their digests",
    responses=ok(Envelope),
)
async def attestation(request: Request, by: Reader, service: ServiceDep) -> Response:
    body = await read_body(request, AttestationRequest, service.settings.max_body)
    _signed(service)

    def run() -> dict[str, Any]:
        ws = service.acting(by)
        try:
            return attesting.attest(ws, body.decision, origin=service.settings.origin, from_disk=False)
        except attesting.CannotAttest as exc:  # the record, not the request, is what does not fit
            raise Problem(409, exc.message, hint=exc.hint) from None

    return Response(json.dumps(await run_in_threadpool(run)), media_type="application/json")
