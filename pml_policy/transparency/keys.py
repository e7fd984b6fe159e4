"""Ed25519 key files as `pml-policy audit keygen` writes them (PKCS#8 / SubjectPublicKeyInfo PEM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pml_policy.base.errors import UsageError


def crypto() -> Any:
    """cryptography's serialization and ed25519 modules (loaded only by commands that sign or verify)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - cryptography is a dependency
        raise UsageError("signing needs the cryptography package", "pip install cryptography") from None
    return serialization, ed25519


def load_private(path: str | Path, what: str = "signing key") -> Any:
    """An Ed25519 private key from a .key file, or one line saying why not."""
    return _load(path, what, private=True)


def load_public(path: str | Path, what: str = "--public-key") -> Any:
    """An Ed25519 public key from a .pub file, or one line saying why not."""
    return _load(path, what, private=False)


def _load(path: str | Path, what: str, private: bool) -> Any:
    serialization, ed25519 = crypto()
    kind, wanted = ("private", ed25519.Ed25519PrivateKey) if private else ("public", ed25519.Ed25519PublicKey)
    hint = f"pass the .{'key' if private else 'pub'} file `pml-policy audit keygen PREFIX` wrote"
    try:
        data = Path(path).read_bytes()
        key = serialization.load_pem_private_key(data, None) if private else serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"{what} {path}: cannot read an Ed25519 {kind} key ({first_line(exc)})", hint) from None
    if not isinstance(key, wanted):
        raise UsageError(f"{what} {path}: not an Ed25519 key", hint)
    return key


def raw_public(key: Any) -> bytes:
    """The 32 bytes of an Ed25519 public key (RFC 8032), from a public or a private key."""
    serialization, ed25519 = crypto()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    return bytes(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def verifies(key: Any, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `message` under a public key."""
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
