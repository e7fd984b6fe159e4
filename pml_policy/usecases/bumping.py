"""`validate --base REF`: policies whose text changed since a git revision without a new version.

A decision binds a policy's name, version and digest; the same name and version with another text
is refused by `check` once a decision has used it. CI catches it before the merge instead: the
policies at REF (read from git, never checked out) against the working tree's.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pml_policy.base.errors import PolicyError, UsageError
from pml_policy.engine import ast
from pml_policy.engine.loader import digest
from pml_policy.engine.parser import parse
from pml_policy.engine.reading import MAX_POLICY_BYTES

GIT_SECONDS = 60.0
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class Unbumped:
    """One policy that needs a new version: where it is, and why."""

    path: str
    line: int
    message: str

    def render(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def unbumped(trees: list[ast.PolicyFile], paths: list[str], base: str) -> list[Unbumped]:
    """Each policy of the trees (the working tree's, parsed and checked, from `paths`) whose
    canonical text differs from the policy of the same name under the same paths at `base` while
    its version does not, or whose version is lower than there. Raises UsageError when `base`
    cannot be read from git."""
    before = {p.name: p for p in _policies_at(base, paths)}
    found = []
    for tree in trees:
        for policy in tree.policies:
            old = before.get(policy.name)
            if old is None:
                continue
            where = (tree.path, policy.line)
            if _version_key(policy.version) < _version_key(old.version):
                found.append(
                    Unbumped(
                        *where,
                        f'policy "{policy.name}" version "{policy.version}" is lower than "{old.version}" at {base}: '
                        "versions only go forward",
                    )
                )
            elif policy.version == old.version and digest(policy) != digest(old):
                found.append(
                    Unbumped(
                        *where,
                        f'policy "{policy.name}" changed since {base} but keeps version "{policy.version}": give it a '
                        f'new version (e.g. "{_next(policy.version)}"), or decisions made under both texts share one',
                    )
                )
    return found


def _version_key(version: str) -> tuple[int, ...]:
    """A semantic version's order (a pre-release before its release); other text sorts as 0.0.0."""
    m = _SEMVER.fullmatch(version)
    if not m:
        return (0, 0, 0, 0)
    return (int(m[1]), int(m[2]), int(m[3]), 0 if m[4] else 1)


def _next(version: str) -> str:
    m = _SEMVER.fullmatch(version)
    return f"{m[1]}.{m[2]}.{int(m[3]) + 1}" if m else version + ".1"


def _git(*args: str, cwd: Path, stdin: bytes | None = None, who: str = "validate") -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=GIT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise UsageError(f"{who} --base needs git, which is not installed here") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"{who} --base: git {args[0]} took over {GIT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"{who} --base: git {args[0]} failed: {reason[-1] if reason else done.returncode}")
    return done.stdout


def _policies_at(base: str, paths: list[str]) -> list[ast.Policy]:
    """Every policy in the .pml files under `paths` at `base`; a file that does not parse there
    is left out (it had no valid version to keep)."""
    top, files = files_at(base, paths)
    policies = []
    for name, text in files:
        try:
            policies += parse(text, str(top / name)).policies
        except PolicyError:
            continue
    return policies


def files_at(base: str, paths: list[str], who: str = "validate") -> tuple[Path, list[tuple[str, str]]]:
    """The top of the repository, and the .pml files under `paths` at `base` (path in the
    repository, text), read with one `git cat-file` call; UsageError (naming the command `who`)
    when `base` cannot be read."""
    top = _repository(paths, who)
    try:
        commit = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}", cwd=top, who=who)
    except UsageError:
        raise UsageError(
            f"{who} --base: {base} is not a commit in the repository at {top}",
            "fetch it first (actions/checkout: fetch-depth: 0; or git fetch origin main) and name it as git does, "
            "e.g. origin/main",
        ) from None
    inside = []
    for p in paths:
        try:
            inside.append(Path(p).resolve().relative_to(top).as_posix())
        except ValueError:
            raise UsageError(f"{who} --base: {p} is outside the repository at {top}") from None
    at = commit.decode().strip()
    names = _policy_files(_git("ls-tree", "-r", "-z", "-l", "--full-name", at, "--", *inside, cwd=top, who=who))
    batch = _git("cat-file", "--batch", cwd=top, who=who, stdin="".join(f"{at}:{n}\n" for n in names).encode())
    return top, [(name, text) for name, text in zip(names, _blobs(batch), strict=True) if text is not None]


def _repository(paths: list[str], who: str) -> Path:
    """The top of the git work tree the first policy path is in."""
    first = Path(paths[0]).resolve()
    folder = first if first.is_dir() else first.parent
    try:
        return Path(_git("rev-parse", "--show-toplevel", cwd=folder, who=who).decode().strip())
    except (UsageError, OSError):
        raise UsageError(
            f"{who} --base: {paths[0]} is not in a git repository", "run it in a clone of the policies' repository"
        ) from None


def _policy_files(listed: bytes) -> list[str]:
    """The .pml blobs of `git ls-tree -l -z` output no larger than a policy file may be: an oversized
    one is never read (it had no valid version), so what git hands back stays bounded."""
    names = []
    for entry in listed.decode(errors="replace").split("\0"):
        meta, _, name = entry.partition("\t")
        fields = meta.split()
        if name.endswith(".pml") and len(fields) == 4 and fields[1] == "blob" and int(fields[3]) <= MAX_POLICY_BYTES:
            names.append(name)
    return names


def _blobs(batch: bytes) -> list[str | None]:
    """The texts of `git cat-file --batch` output, in order; None for a missing or non-UTF-8 one."""
    texts: list[str | None] = []
    at = 0
    while at < len(batch):
        end = batch.index(b"\n", at)
        header = batch[at:end].split()
        at = end + 1
        if len(header) < 3 or header[1] != b"blob":  # "<object> missing"
            texts.append(None)
            continue
        size = int(header[2])
        body = batch[at : at + size]
        at += size + 1
        try:
            texts.append(body.decode())
        except UnicodeDecodeError:
            texts.append(None)
    return texts
