"""Signed records (Ed25519): with a signing key, every appended record's hash is signed, so that
someone with write access to the database but without the key cannot append a well-formed record;
a signed checkpoint is the head to publish elsewhere.

    pml-policy audit keygen keys/audit            # keys/audit.key (private, 0600), keys/audit.pub
    PML_AUDIT_SIGNING_KEY=keys/audit.key pml-policy check …
    pml-policy audit verify --public-key keys/audit.pub
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.base.errors import AuditError, UsageError

CHECKPOINT_SCHEMA = "pml-policy/checkpoint"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - cryptography is a dependency
        raise UsageError("signed records need the cryptography package", "pip install cryptography") from None
    return serialization, ed25519


def keygen(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (the private key, PEM, mode 0600) and PREFIX.pub; never over existing files."""
    serialization, ed25519 = _crypto()
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    for path in (private, public):
        if path.exists():
            raise UsageError(
                f"{path} exists: a key is never overwritten", "choose another name, or move the old key away"
            )
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public.write_bytes(pub)
    except OSError as exc:  # nothing half-written: a private key without its public key is removed
        with contextlib.suppress(OSError):
            private.unlink()
        raise UsageError(
            f"cannot write the key pair {private} / {public}: {exc.strerror or exc}", "choose a folder you can write to"
        ) from None
    return private, public


def member_key(public: Path) -> str:
    """A public key file as a role lists a member's key in a policy file: ed25519:BASE64 (raw bytes)."""
    serialization, _ = _crypto()
    key = serialization.load_pem_public_key(public.read_bytes())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode()


class Signer:
    """Signs record hashes with a private key file (PML_AUDIT_SIGNING_KEY)."""

    def __init__(self, path: str | Path) -> None:
        serialization, ed25519 = _crypto()
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(
                f"signing key {path}: cannot read an Ed25519 private key ({_first(exc)})",
                "make one with `pml-policy audit keygen PREFIX`; PML_AUDIT_SIGNING_KEY names the .key file",
            ) from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise UsageError(
                f"signing key {path}: not an Ed25519 key", "make one with `pml-policy audit keygen PREFIX`"
            )
        self._key = key

    def sign(self, message: str) -> str:
        return base64.b64encode(self._key.sign(message.encode())).decode()

    def verifies(self, message: str, signature: str | None) -> bool:
        """Whether `signature` is this key's signature of `message` (a record's hash)."""
        return _verifies(self._key.public_key(), message, signature)


class PublicKey:
    def __init__(self, path: str | Path) -> None:
        serialization, ed25519 = _crypto()
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(
                f"--public-key {path}: cannot read an Ed25519 public key ({_first(exc)})",
                "pass the .pub file `pml-policy audit keygen` wrote",
            ) from None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise UsageError(f"--public-key {path}: not an Ed25519 key")
        self._key = key

    def verifies(self, message: str, signature: str | None) -> bool:
        return _verifies(self._key, message, signature)


def _verifies(key: Any, message: str, signature: str | None) -> bool:
    """Whether `signature` (base64) is the Ed25519 signature of `message` under a public key."""
    from cryptography.exceptions import InvalidSignature

    if not signature:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), message.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class SignatureCheck:
    """Fed every record in chain order: every record from `signed_from` on must carry a signature
    this key verifies (1: the whole log; a log that gained its key later says where signing began)."""

    key: PublicKey
    signed_from: int = 1
    signed: int = 0
    problem: str | None = None
    at: int | None = None  # the seq of the first bad record

    def feed(self, seq: int, record_hash: str, signature: str | None) -> None:
        if self.problem is not None or seq < self.signed_from:
            return
        if self.key.verifies(record_hash, signature):
            self.signed += 1
            return
        what = "is not signed" if not signature else "has a signature this public key does not verify"
        since = "every record" if self.signed_from == 1 else f"every record from #{self.signed_from} on"
        self.problem, self.at = f"record #{seq} {what} (with a public key, {since} must be signed)", seq

    def finish(self, records: int) -> None:
        if self.problem is None and records >= self.signed_from and not self.signed:
            self.problem = "no record is signed by this public key"


def checkpoint(signer: Signer, seq: int, record_hash: str, time: str) -> dict[str, Any]:
    """The head as a signed statement, to publish (a ticket, a CI log, another system)."""
    body = {"schema": CHECKPOINT_SCHEMA, "seq": seq, "hash": record_hash, "time": time}
    return {**body, "signature": signer.sign(_canonical(body))}


def read_checkpoint(path: str | Path, key: PublicKey | None) -> tuple[int, str]:
    """(seq, hash) of a checkpoint file; its signature checked when a public key is given."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        body = {k: doc[k] for k in ("schema", "seq", "hash", "time")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--checkpoint {path}: not a checkpoint `pml-policy audit checkpoint` wrote ({_first(exc)})"
        ) from None
    if body["schema"] != CHECKPOINT_SCHEMA or not isinstance(body["seq"], int) or not isinstance(body["hash"], str):
        raise UsageError(f"--checkpoint {path}: not a checkpoint `pml-policy audit checkpoint` wrote")
    if key is not None and not key.verifies(_canonical(body), doc.get("signature")):
        raise AuditError(f"--checkpoint {path}: its signature does not verify with the public key")
    return body["seq"], body["hash"]


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
