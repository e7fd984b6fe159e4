"""Bearer tokens for the service: a YAML file of names, roles and sha256 hashes (never the tokens),
with when each was created and, if it was given one, when it expires.

    tokens:
      - {name: ci-gate, sha256: 9f86d0…, roles: [decide], created: '2026-12-05T10:00:00Z', expires: null}
      - {name: risk-dashboard, sha256: 2c26b4…, roles: [read], expires: '2027-03-05T10:00:00Z'}

`pml-policy token create NAME --role decide --tokens FILE [--expires 90d]` makes a token, prints it
once and keeps only its hash; `token list` shows the entries, `token revoke NAME` removes one. A
request's token is hashed and compared with every entry in constant time; the entry's name is the
actor the audit log records. The service reads the file again when it changes.

>>> store = TokenFile.load("tokens.yaml")            # doctest: +SKIP
>>> store.identify("pml_…")                          # doctest: +SKIP
Token(name='ci-gate', sha256='…', roles=['decide'])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pml_policy.base.dates import aware
from pml_policy.base.errors import UsageError
from pml_policy.base.files import write_atomic
from pml_policy.base.mappings import read_mapping

Role = Literal["read", "decide", "approve", "admin"]
ROLES: tuple[Role, ...] = ("read", "decide", "approve", "admin")
PREFIX = "pml_"
# What each role may do; admin may do everything.
IMPLIES: dict[str, set[str]] = {
    "read": {"read"},
    "decide": {"read", "decide"},
    "approve": {"read", "approve"},
    "admin": set(ROLES),
}


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[\w.@+-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    roles: list[Role] = Field(min_length=1)
    created: dt.datetime | None = None  # (files written before tokens had a life cycle have none)
    expires: dt.datetime | None = None  # None: until revoked

    def may(self, role: str) -> bool:
        return any(role in IMPLIES[r] for r in self.roles)

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires is not None and aware(self.expires) <= (now or dt.datetime.now(dt.UTC))


class TokenFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokens: list[Token] = Field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path, missing_ok: bool = False) -> TokenFile:
        p = Path(path)
        if missing_ok and not p.exists():
            return cls()
        data = read_mapping(p, UsageError, "a tokens file", "see `pml-policy token create --help`")
        try:
            loaded = cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise UsageError(f"{p}: invalid tokens file: {problems}", "see `pml-policy token create --help`") from None
        names = [t.name for t in loaded.tokens]
        if len(set(names)) != len(names):
            raise UsageError(f"{p}: a token name is given twice", "each token has its own name (the audit log's actor)")
        return loaded

    def identify(self, presented: str) -> Token | None:
        """The token whose hash matches, compared with every entry in constant time."""
        digest = hash_token(presented)
        found = None
        for token in self.tokens:
            if hmac.compare_digest(token.sha256, digest):
                found = token
        return found


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create(path: str | Path, name: str, roles: list[str], expires: dt.datetime | None = None) -> str:
    """A new token for `name`, its hash added to the file (created 0600 if need be); returns the
    token, which is shown once and stored nowhere."""
    p = Path(path)
    current = TokenFile.load(p, missing_ok=True)
    if any(t.name == name for t in current.tokens):
        raise UsageError(f"{p}: a token named {name!r} exists", "choose another name, or revoke that one first")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if expires is not None and aware(expires) <= now:
        raise UsageError(f"--expires {expires.isoformat()} is already past", "give a later time, or a span ahead (90d)")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        entry = Token.model_validate(
            {"name": name, "sha256": hash_token(token), "roles": roles, "created": now, "expires": expires}
        )
    except ValidationError as exc:
        raise UsageError(f"token {name!r}: {exc.errors()[0]['msg']}", "names are letters, digits, . @ + - _") from None
    current.tokens.append(entry)
    if not p.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch(mode=0o600)  # hashes only, but nobody else needs to read them
        except OSError as exc:
            raise UsageError(f"cannot create {p}: {exc.strerror or exc}", "choose a folder you can write to") from None
    _write(p, current)
    return token


def revoke(path: str | Path, name: str) -> Token:
    """Remove `name`'s entry from the file; a service using it refuses the token at its next request."""
    p = Path(path)
    current = TokenFile.load(p)
    kept = [t for t in current.tokens if t.name != name]
    if len(kept) == len(current.tokens):
        known = ", ".join(t.name for t in current.tokens) or "none"
        raise UsageError(f"{p}: no token is named {name!r}", f"the tokens it holds: {known}")
    (gone,) = (t for t in current.tokens if t.name == name)
    _write(p, TokenFile(tokens=kept))
    return gone


def _write(path: Path, tokens: TokenFile) -> None:
    text = yaml.safe_dump(tokens.model_dump(mode="json"), sort_keys=False)
    write_atomic(path, "# pml-policy service tokens: names, roles and sha256 hashes (never the tokens)\n" + text)


def last_recorded(audit_url: str) -> dict[str, str]:
    """Token name -> when the audit log last recorded something it did; empty without a log."""
    from pml_policy.audit import AuditStore
    from pml_policy.audit.queries import last_recorded as query
    from pml_policy.base.errors import NoAuditLog

    try:
        store = AuditStore(audit_url, create=False)
    except NoAuditLog:
        return {}
    try:
        return query(store.db)
    finally:
        store.close()
