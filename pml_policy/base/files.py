"""Files: written so that a crash or a full disk never leaves one half-written (keeping the mode a
user gave them, through a symbolic link to its target), read with a size limit, hashed in blocks,
collected from the paths a user names, and read from an evidence folder without leaving it."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import EvidenceError, Unreadable, UsageError

_BLOCK = 1 << 20
# Trees of the kernel's own files: endless (/dev/zero), secret (/proc/self/environ) or huge
# (/proc/kcore) behind ordinary-looking names. Evidence is never read from under them.
SPECIAL_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


def user_cache_dir() -> Path:
    """This user's cache folder for pml-policy ($XDG_CACHE_HOME, else ~/.cache): what is kept
    between runs about this machine, never about a project (that goes under its .pml/)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pml-policy"


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write text to a temporary file beside path, then rename it over path. A path that is not a
    regular file (/dev/null, /dev/stdout, a pipe) is written in place: renaming over it would
    replace the device itself. A path that cannot be written is a UsageError; nothing is left."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}", "choose a file in a folder you can write to"
        ) from None


def _write_atomic(path: Path, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text  # UTF-8 text, or a PDF's bytes
    if path.exists() and not path.is_file():
        with path.open("wb") as fh:
            fh.write(data)
        return
    if path.is_symlink():  # a link the user keeps (dotfiles, a shared config): write its target
        path = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _new_file_mode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)  # mkstemp makes 0600: keep the file's own mode, or the umask's
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode() -> int:
    """0666 under the process's umask, as open() would create a file. Linux tells the umask in
    /proc; elsewhere it is read by setting it (briefly process-wide)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0)
        os.umask(umask)
    return 0o666 & ~umask


def read_head(path: str | Path, size: int) -> bytes:
    """A file's first `size` bytes, never more in memory whatever its size (a parser given them
    then refuses what is cut off). OSError when it cannot be read."""
    with open(path, "rb") as file:
        return file.read(size)


def read_limited(path: Path, limit: int, what: str) -> str:
    """A regular file's UTF-8 text, refused when larger than `limit` bytes: Unreadable says why in
    one line (a FIFO, a device or a folder is never opened: it could block, or never end)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(str(path), f"{what} must be a regular file, not {file_kind(info.st_mode)}")
        if info.st_size > limit:
            raise Unreadable(
                str(path),
                f"{what} is {info.st_size:,} bytes; the limit is {limit:,}",
                "split it, or trim it to what is needed",
            )
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise Unreadable(str(path), f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew after the check
        raise Unreadable(str(path), f"{what} is larger than the limit of {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Unreadable(str(path), f"{what} is not UTF-8 text (byte {exc.start}: {exc.reason})", line=line) from None


def file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "a special file"


class EvidenceFolder:
    """A folder of evidence that nothing read from it may leave: every name (a manifest's, a
    convention's) and every symbolic link is resolved, and what resolves outside the folder, or to
    anything but a regular file, is an EvidenceError naming the path. Never read, hashed or recorded.

    >>> folder = EvidenceFolder("examples/credit-pass")  # doctest: +SKIP
    >>> folder.file("metrics.json")                        # doctest: +SKIP
    PosixPath('/…/examples/credit-pass/metrics.json')
    """

    def __init__(self, ref: str) -> None:
        self.ref = ref
        given = Path(ref)
        if not given.is_dir():
            what = "is a file, not a folder" if given.exists() else "does not exist"
            raise EvidenceError(
                f"{ref}: evidence folder {what}", "pass the folder that holds metrics.json, params and artifacts"
            )
        self.root = given.resolve()
        for tree in SPECIAL_TREES:
            if self.root == tree or tree in self.root.parents:
                raise EvidenceError(f"{ref}: evidence is never read from under {tree} (the kernel's own files)")

    def shown(self, name: str) -> str:
        """A name in the folder as the user would write it (an absolute one as it is)."""
        return name if name.startswith("/") else f"{self.ref.rstrip('/')}/{name}"

    def file(self, name: str) -> Path | None:
        """`name` in the folder, as the user would write it, once it is known to resolve to a
        regular file inside the folder; None when nothing is there."""
        path = self.root / name
        if not os.path.lexists(path):
            return None
        self._inside(path, name, allow_folder=False)
        return Path(self.ref) / name

    def files(self, links_out: bool = False) -> list[tuple[str, Path | None]]:
        """Every regular file below the folder, as (path relative to it, the file to read), sorted.
        A link to a file inside counts under the link's name; a link to a folder inside is not
        followed (its files are listed where they are: no loops). With `links_out`, a link to a
        regular file outside is listed with None (never to be read) instead of refused."""
        found: list[tuple[str, Path | None]] = []
        pending = [self.root]
        while pending:
            folder = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                raise EvidenceError(f"{folder}: cannot read this evidence folder: {exc.strerror or exc}") from None
            for entry in entries:
                relative = Path(entry.path).relative_to(self.root).as_posix()
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError as exc:
                    raise EvidenceError(f"{self.shown(relative)}: cannot read: {exc.strerror or exc}") from None
                if stat.S_ISLNK(mode):
                    if links_out and self._outside(Path(entry.path)):
                        found.append((relative, None))
                    elif not self._inside(Path(entry.path), relative, allow_folder=True).is_dir():
                        found.append((relative, Path(self.ref) / relative))
                elif stat.S_ISDIR(mode):
                    pending.append(Path(entry.path))
                elif stat.S_ISREG(mode):
                    found.append((relative, Path(self.ref) / relative))
                else:
                    raise self._special(relative, mode)
        return sorted(found)

    def _outside(self, link: Path) -> bool:
        """A link to a regular file outside the folder (not under the kernel's trees)."""
        try:
            real = link.resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        inside = real == self.root or self.root in real.parents
        special = any(real == tree or tree in real.parents for tree in SPECIAL_TREES)
        return not inside and not special and real.is_file()

    def _inside(self, path: Path, relative: str, allow_folder: bool) -> Path:
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # a link to nothing, or a loop of links
            raise EvidenceError(
                f"{self.shown(relative)}: a symbolic link that leads nowhere (broken, or a loop)",
                "remove it, or copy the file it meant into the evidence folder",
            ) from None
        if real != self.root and self.root not in real.parents:
            raise EvidenceError(
                f"{self.shown(relative)}: leaves the evidence folder (it resolves to {real}); nothing outside "
                "the folder is read",
                "copy the file into the evidence folder",
            )
        mode = real.stat().st_mode
        if not (stat.S_ISREG(mode) or (allow_folder and stat.S_ISDIR(mode))):
            raise self._special(relative, mode)
        return real

    def _special(self, relative: str, mode: int) -> EvidenceError:
        return EvidenceError(
            f"{self.shown(relative)}: {file_kind(mode)} in the evidence folder; evidence is read from regular files "
            "only, and this one is never opened",
            "remove it from the evidence folder",
        )


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
