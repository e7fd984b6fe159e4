"""in-toto attestations in DSSE envelopes: a Statement v1 whose predicate is a SLSA Verification
Summary (https://slsa.dev/verification_summary/v1), signed with Ed25519.

DSSE signs PAE(payloadType, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; a
signature's keyid is the one securesystemslib gives the key (sha256 of its canonical JSON), so
its verifiers and ours name the key alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import keys

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_TYPE = "https://slsa.dev/verification_summary/v1"
MAX_ENVELOPE = 16 * 1024 * 1024  # bytes: an attestation holds a record and a proof, not the model
MAX_FILES = 100_000  # files in a model folder


class AttestationError(ValueError):
    """An envelope or statement that is malformed, or a signature that does not verify."""


def pae(payload_type: str, body: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def keyid(public: Any) -> str:
    """The key's id as securesystemslib computes it for an ed25519 key."""
    doc = {"keytype": "ed25519", "keyval": {"public": keys.raw_public(public).hex()}, "scheme": "ed25519"}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def envelope(statement: Mapping[str, Any], private: Any) -> dict[str, Any]:
    """The statement, serialized and signed, as a DSSE envelope."""
    body = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = private.sign(pae(PAYLOAD_TYPE, body))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": keyid(private.public_key()), "sig": base64.b64encode(signature).decode()}],
    }


def opened(data: bytes, public: Any) -> dict[str, Any]:
    """The statement of a DSSE envelope whose signature `public` verifies, or AttestationError."""
    if len(data) > MAX_ENVELOPE:
        raise AttestationError(f"an attestation of more than {MAX_ENVELOPE // (1024 * 1024)} MB")
    try:
        doc = json.loads(data)
        payload_type, signatures = doc["payloadType"], doc["signatures"]
        body = base64.b64decode(doc["payload"], validate=True)
        sigs = [base64.b64decode(s["sig"], validate=True) for s in signatures]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AttestationError(f"not a DSSE envelope ({type(exc).__name__}: {exc})") from None
    if payload_type != PAYLOAD_TYPE:
        raise AttestationError(f"payload type {str(payload_type)[:80]!r}, not an in-toto statement")
    if not any(keys.verifies(public, pae(payload_type, body), sig) for sig in sigs):
        raise AttestationError("no signature on the envelope verifies with the public key")
    try:
        statement = json.loads(body)
    except ValueError:
        raise AttestationError("the signed payload is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise AttestationError("the signed payload is not an in-toto Statement v1")
    if statement.get("predicateType") != VSA_TYPE or not isinstance(statement.get("predicate"), dict):
        raise AttestationError(f"the statement's predicate is not a {VSA_TYPE}")
    return statement


def file_digests(folder: Path) -> dict[str, str]:
    """Every regular file under `folder` (name relative to it, with /) -> its sha256. A symbolic link
    is refused: what it points to could change after the check."""
    found: dict[str, str] = {}
    if not folder.is_dir():
        raise AttestationError(f"{folder} is not a folder of model files")
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(root) / name
            if path.is_symlink():
                raise AttestationError(f"{path} is a symbolic link: a model folder holds files")
        for name in files:
            path = Path(root) / name
            if len(found) >= MAX_FILES:
                raise AttestationError(f"{folder} holds more than {MAX_FILES} files")
            found[path.relative_to(folder).as_posix()] = _sha256(path)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def subjects(digests: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "digest": {"sha256": digests[name]}} for name in sorted(digests)]


def subject_digests(statement: Mapping[str, Any]) -> dict[str, str]:
    """name -> sha256 of the statement's subjects (AttestationError when one is malformed)."""
    found: dict[str, str] = {}
    for s in statement.get("subject") or []:
        try:
            found[str(s["name"])] = str(s["digest"]["sha256"])
        except (KeyError, TypeError):
            raise AttestationError("a subject without a name and a sha256 digest") from None
    if not found:
        raise AttestationError("the statement has no subject")
    return found


def compare_files(expected: Mapping[str, str], actual: Mapping[str, str]) -> str | None:
    """Why the files do not match the subjects (the first difference), or None."""
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            return f"{name} is attested but not in the model folder"
        if name not in expected:
            return f"{name} is in the model folder but not attested"
        if expected[name] != actual[name]:
            return f"{name} does not hash to the attested sha256 (the file was changed)"
    return None
