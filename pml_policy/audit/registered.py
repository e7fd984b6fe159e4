"""Policy versions the log has registered: a name and version, once used, keeps its digest. The
append path claims them (a changed policy without a new version is refused with the decision), and
the service asks before it takes a policy set at all (start, reload, SIGHUP)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from pml_policy.base.errors import PolicyConflict

from .database import Database


class Used(NamedTuple):
    """A policy version a set holds: what the log is asked about."""

    name: str
    version: str
    digest: str
    source: str


Known = dict[tuple[str, str], tuple[str, str, str]]  # (name, version) -> (digest, first decision, its time)


def known(db: Database, cursor: Any, names: Iterable[str]) -> Known:
    """The registered versions of these policy names."""
    names = sorted(set(names))
    if not names:
        return {}
    marks = ", ".join(f"{{n{i}}}" for i in range(len(names)))
    cursor.execute(
        db.sql(f"SELECT name, version, digest, first_decision, first_time FROM pml_policies WHERE name IN ({marks})"),
        {f"n{i}": name for i, name in enumerate(names)},
    )
    return {(name, version): (digest, first, when) for name, version, digest, first, when in cursor.fetchall()}


def refuse_changed(used: Iterable[Used], registered: Known) -> None:
    """PolicyConflict for the first policy version whose digest is not the one the log registered."""
    for p in used:
        found = registered.get((p.name, p.version))
        if found is not None and found[0] != p.digest:
            digest, first, when = found
            raise PolicyConflict(
                f'policy "{p.name}" version {p.version} ({p.source}) has digest {p.digest}, but decision '
                f"{first} ({when}) used version {p.version} with digest {digest}",
                "a changed policy needs a new version: bump `version` in the policy file",
            )
