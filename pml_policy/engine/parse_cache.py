"""Parsed policy files kept on disk, keyed by their text: a `check` in a CI job or a pre-commit
hook parses and checks a policy file once, not on every run (parsing was a third of a cold start).

Entries live under .pml/cache/policies/ (PML_CACHE_DIR moves it; PML_CACHE_DIR= turns it off). An
entry is a pickle, and a pickle can run code when loaded: one is loaded only with a valid HMAC
under a key kept outside the project, in the user's cache folder (created 0600 on first use). A
file committed into .pml/, or copied from another machine, fails that check and is parsed afresh,
so the policy language still never runs code. The cache is a speed-up only: any problem reading
or writing it means parsing as without it, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import sys
from functools import lru_cache
from pathlib import Path

from pml_policy.base.files import user_cache_dir

from . import ast

_MAC = hashlib.sha256().digest_size


def _folder() -> Path | None:
    where = os.environ.get("PML_CACHE_DIR", str(Path(".pml") / "cache"))
    return Path(where) / "policies" if where else None


def _key() -> bytes | None:
    """The local key entries are signed with, made on first use; None when it cannot be kept."""
    return _key_at(user_cache_dir() / "cache.key")


@lru_cache(maxsize=4)
def _key_at(path: Path) -> bytes | None:
    """Read (or made) once per process: every policy file looked up and stored is signed with it."""
    key = _existing(path)
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return _existing(path)
    except OSError:  # no writable home: no cache
        return None
    with os.fdopen(fd, "wb") as out:
        out.write(key := secrets.token_bytes(32))
    return key


def _existing(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == 32 else None


@lru_cache(maxsize=1)
def _built_by() -> str:
    """What a cached tree depends on besides the file's path and text: the engine's code, which
    builds and checks trees (an upgrade, or an edit in a checkout, makes new entries)."""
    code = hashlib.sha256()
    for source in sorted((*Path(__file__).parent.glob("*.py"), Path(__file__).with_name("grammar.lark"))):
        code.update(source.name.encode() + b"\0" + source.read_bytes())
    return f"{code.hexdigest()} python {sys.version_info[:2]}"


def _entry(path: str, text: str) -> Path | None:
    folder = _folder()
    if folder is None:
        return None
    try:
        built_by = _built_by()
    except OSError:  # the code is not in files (a zip): no cache
        return None
    name = hashlib.sha256(f"{built_by}\0{path}\0{text}".encode()).hexdigest()
    return folder / name[:2] / name


def lookup(path: str, text: str) -> ast.PolicyFile | None:
    """The tree cached for this file's path and text, if there is a trustworthy one."""
    entry, key = _entry(path, text), _key()
    if entry is None or key is None:
        return None
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    mac, payload = data[:_MAC], data[_MAC:]
    if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
        return None  # not written here: never unpickled
    try:
        tree = pickle.loads(payload)  # noqa: S301 (authenticated above: written by this user's pml-policy)
    except Exception:  # an entry from another pml-policy version's classes: parse afresh
        return None
    return tree if isinstance(tree, ast.PolicyFile) and tree.path == path else None


def store(path: str, text: str, tree: ast.PolicyFile) -> None:
    """Keep a tree that parsed and checked without errors (written whole or not at all)."""
    entry, key = _entry(path, text), _key()
    if entry is None or key is None:
        return
    import tempfile

    payload = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(hmac.new(key, payload, hashlib.sha256).digest() + payload)
        os.replace(tmp, entry)
    except OSError:
        return
