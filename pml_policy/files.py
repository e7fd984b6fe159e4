"""Files: written so that a crash or a full disk never leaves one half-written, hashed in blocks,
and collected from the paths a user names."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import UsageError

_BLOCK = 1 << 20


def write_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside path, then rename it over path. A path that is not a
    regular file (/dev/null, /dev/stdout, a pipe) is written in place: renaming over it would
    replace the device itself. A path that cannot be written is a UsageError; nothing is left."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}", "choose a file in a folder you can write to"
        ) from None


def _write_atomic(path: Path, text: str) -> None:
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as fh:
            fh.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks of 1 MiB: memory stays flat for any size of artifact."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(paths: Sequence[str | Path], suffix: str, what: str, hint: str) -> list[Path]:
    """The files named, and the files ending in `suffix` found recursively under the folders named,
    in a stable order. A path that does not exist is a UsageError (`what`, `hint` say which)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob(f"*{suffix}") if f.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{what} not found: {p}", hint)
    return found
