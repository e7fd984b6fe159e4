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
from pml_policy.transparency import keys, notes

CHECKPOINT_SCHEMA = "pml-policy/checkpoint"


def keygen(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (the private key, PEM, mode 0600) and PREFIX.pub; never over existing files."""
    serialization, ed25519 = keys.crypto()
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
    serialization, _ = keys.crypto()
    key = serialization.load_pem_public_key(public.read_bytes())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode()


class Signer:
    """Signs record hashes with a private key file (PML_AUDIT_SIGNING_KEY)."""

    def __init__(self, path: str | Path) -> None:
        self.key = keys.load_private(path)

    def sign(self, message: str) -> str:
        return base64.b64encode(self.key.sign(message.encode())).decode()

    def verifies(self, message: str, signature: str | None) -> bool:
        """Whether `signature` is this key's signature of `message` (a record's hash)."""
        return _verifies(self.key.public_key(), message, signature)


class PublicKey:
    def __init__(self, path: str | Path, what: str = "--public-key") -> None:
        self.key = keys.load_public(path, what)

    @classmethod
    def of(cls, key: Any) -> PublicKey:
        """A PublicKey of a key already loaded (a signer's own)."""
        made = cls.__new__(cls)
        made.key = key
        return made

    def verifies(self, message: str, signature: str | None) -> bool:
        return _verifies(self.key, message, signature)


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


def checkpoint(signer: Signer, origin: str, size: int, root: bytes) -> str:
    """The tree head as a C2SP checkpoint, signed by the log's key (named like the log's origin)."""
    text = notes.Checkpoint(notes.check_name(origin), size, root).text()
    return notes.Note(text, (notes.sign(text, origin, signer.key),)).render()


def read_checkpoint(path: str | Path, key: PublicKey | None) -> tuple[int, str] | notes.Checkpoint:
    """A checkpoint file: a C2SP signed note (its tree), or the JSON head of earlier releases (seq,
    hash). With a public key, the log's signature must verify."""
    try:
        data = notes.read(path)
    except OSError as exc:
        raise UsageError(f"--checkpoint {path}: cannot read it ({exc.strerror or exc})") from None
    if data.lstrip().startswith(b"{"):
        return _read_json_checkpoint(path, data, key)
    try:
        note = notes.parse(data)
        tree = notes.Checkpoint.of(note.text)
    except notes.NoteError as exc:
        raise UsageError(f"--checkpoint {path}: not a checkpoint `pml-policy audit checkpoint` wrote ({exc})") from None
    if key is not None:
        try:
            signed = notes.signed_by(note, key.key, tree.origin)
        except notes.NoteError as exc:
            raise AuditError(f"--checkpoint {path}: {exc}") from None
        if signed is None:
            raise AuditError(f"--checkpoint {path}: not signed by the public key as log {tree.origin}")
    return tree


def _read_json_checkpoint(path: str | Path, data: bytes, key: PublicKey | None) -> tuple[int, str]:
    try:
        doc = json.loads(data)
        body = {k: doc[k] for k in ("schema", "seq", "hash", "time")}
    except (ValueError, KeyError, TypeError) as exc:
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
