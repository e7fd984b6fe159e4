"""C2SP signed notes, checkpoints and witness cosignatures.

- signed-note: a text ending in a newline, a blank line, then lines `— NAME base64(key ID || sig)`;
  an Ed25519 key's ID is SHA-256(NAME || 0x0A || 0x01 || public key)[:4] (c2sp.org/signed-note).
- tlog-checkpoint: the text is the origin line, the tree size in decimal, the base64 root hash
  (c2sp.org/tlog-checkpoint); the log signs it with a key named like its origin.
- tlog-cosignature: a witness signs "cosignature/v1\\ntime T\\n" + the checkpoint text with a key of
  type 0x04; its signature is key ID || T (u64, big-endian) || Ed25519 signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.base.files import read_head

from . import keys

ED25519, COSIGNATURE = 0x01, 0x04
DASH = "\u2014 "
MAX_NOTE = 64 * 1024  # bytes: a checkpoint with a hundred cosignatures stays far below
MAX_SIGNATURES = 100
_NAME = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """A note, checkpoint or cosignature that is malformed or does not verify."""


def key_id(name: str, kind: int, public: bytes) -> bytes:
    check_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NoteError(f"key name {name!r}: it must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes  # what follows the key ID


@dataclass(frozen=True)
class Note:
    text: str  # ends in a newline
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        lines = (f"{DASH}{s.name} {base64.b64encode(s.key_id + s.signature).decode()}\n" for s in self.signatures)
        return f"{self.text}\n{''.join(lines)}"

    def with_signature(self, signature: Signature) -> Note:
        return Note(self.text, (*self.signatures, signature))


def read(path: str | Path) -> bytes:
    """A note file's first MAX_NOTE + 1 bytes: enough for parse to refuse a longer one. OSError
    when it cannot be read."""
    return read_head(path, MAX_NOTE + 1)


def parse(data: str | bytes) -> Note:
    """A signed note, checked for form (not for signatures)."""
    raw = data if isinstance(data, bytes) else data.encode()
    if len(raw) > MAX_NOTE:
        raise NoteError(f"a note of {len(raw)} bytes: more than {MAX_NOTE} is not a checkpoint")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("not UTF-8 text") from None
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a control character other than a newline")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("no blank line before the signature lines")
    body, lines = text[: split + 1], text[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"{len(lines)} signature lines: at most {MAX_SIGNATURES} are read")
    signatures = []
    for line in lines:
        parts = line[len(DASH) :].split(" ") if line.startswith(DASH) else []
        if len(parts) != 2:
            raise NoteError(f"not a signature line: {line[:60]!r}")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except binascii.Error:
            raise NoteError(f"signature of {parts[0][:60]!r}: not base64") from None
        if len(blob) < 5:
            raise NoteError(f"signature of {parts[0][:60]!r}: too short")
        signatures.append(Signature(check_name(parts[0]), blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("no signature line")
    return Note(body, tuple(signatures))


def sign(text: str, name: str, private: Any) -> Signature:
    """The Ed25519 note signature of `text` (type 0x01) by a key named `name`."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends in a newline")
    return Signature(name, key_id(name, ED25519, keys.raw_public(private)), private.sign(text.encode()))


def signed_by(note: Note, public: Any, name: str | None = None) -> Signature | None:
    """The signature of `public` on the note (type 0x01; named `name` when given), verified; None
    when the key did not sign. A signature with the key's name and ID that does not verify is forged."""
    raw = keys.raw_public(public)
    for s in note.signatures:
        if (name is None or s.name == name) and _matches(s, ED25519, raw):
            if not keys.verifies(public, note.text.encode(), s.signature):
                raise NoteError(f"the signature of {s.name} does not verify: the note was altered or forged")
            return s
    return None


def cosign(note: Note, name: str, private: Any, timestamp: int) -> Signature:
    """A witness's cosignature/v1 of a checkpoint note at `timestamp` (POSIX seconds)."""
    message = _cosigned_message(note.text, timestamp)
    stamp = struct.pack(">Q", timestamp)
    return Signature(name, key_id(name, COSIGNATURE, keys.raw_public(private)), stamp + private.sign(message))


def cosigned_by(note: Note, public: Any) -> tuple[str, int] | None:
    """(name, timestamp) of `public`'s verified cosignature on the note, or None when it has none."""
    raw = keys.raw_public(public)
    for s in note.signatures:
        if _matches(s, COSIGNATURE, raw):
            if len(s.signature) != 8 + 64:
                raise NoteError(f"the cosignature of {s.name} is not a timestamped Ed25519 signature")
            (timestamp,) = struct.unpack(">Q", s.signature[:8])
            if timestamp >= 1 << 63 or not keys.verifies(
                public, _cosigned_message(note.text, timestamp), s.signature[8:]
            ):
                raise NoteError(f"the cosignature of {s.name} does not verify: forged, or made on another checkpoint")
            return s.name, timestamp
    return None


def _matches(s: Signature, kind: int, raw: bytes) -> bool:
    return s.key_id == key_id(s.name, kind, raw)


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = (self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions)
        return "".join(line + "\n" for line in lines)

    @classmethod
    def of(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint is an origin line, a tree size and a root hash, each ending in a newline")
        origin, size, root, *extensions = lines[:-1]
        if not origin or not _SIZE.fullmatch(size) or any(not e for e in extensions):
            raise NoteError("a checkpoint's origin is empty, its size not a decimal number, or an extension empty")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != 32:
            raise NoteError("a checkpoint's third line is not a base64 SHA-256 root hash")
        return cls(origin, int(size), digest, tuple(extensions))
