"""What governance last made the registry say, from its change records: the latest value it applied
to each tag of each version, and the version it last moved each alias to. The reconciliation sweep
compares the live registry with this, absence included, so a deleted or edited tag or alias is
found even when its event was lost."""

from __future__ import annotations

from typing import NamedTuple

from .database import Database
from .queries import fetch, in_chain

# The latest applied change of a kind per (model, version, tag) or (model, alias). Tags: those of
# govern's decisions and of re-checks (a version that failed one keeps its tags until it changes;
# an enforcement's flag is not a tag govern puts back); aliases: every move, reverts included
# (where the alias last went is where it belongs).
_LATEST = (
    "SELECT d.model, d.version, a.name, a.value, a.id "
    "FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq "
    "JOIN (SELECT MAX(a2.id) AS last FROM pml_actions a2 JOIN pml_decisions d2 ON d2.seq = a2.decision_seq "
    "WHERE a2.kind = {kind} AND a2.state = 'applied' AND {extra}"
    + in_chain("d2.seq")
    + " GROUP BY d2.model, {group}) l ON a.id = l.last"
)


class Applied(NamedTuple):
    tags: dict[str, dict[tuple[str, str], str]]  # model -> (version, key) -> the value governance last set
    aliases: dict[tuple[str, str], str]  # (model, alias) -> the version governance last moved it to
    last: dict[str, int]  # model -> its latest change among these (what changed since a sweep looked)


def applied(db: Database) -> Applied:
    """Two queries, whatever the size of the log."""
    govern = "d2.kind IN ('decision', 'recheck') AND a2.policy <> 'governance' AND "
    tags = fetch(db, _LATEST.replace("{group}", "d2.version, a2.name").replace("{extra}", govern), {"kind": "set_tag"})
    moved = "d2.kind IN ('decision', 'recheck') AND "
    aliases = fetch(db, _LATEST.replace("{group}", "a2.name").replace("{extra}", moved), {"kind": "set_alias"})
    last: dict[str, int] = {}
    for m, *_, change in [*tags, *aliases]:
        last[m] = max(last.get(m, 0), int(change))
    by_model: dict[str, dict[tuple[str, str], str]] = {}
    for m, v, k, value, _ in tags:
        by_model.setdefault(m, {})[(v, k)] = value or ""
    return Applied(by_model, {(m, alias): v for m, v, alias, _, _ in aliases}, last)


def promoted_at(db: Database, model: str, alias: str, version: str) -> str | None:
    """When governance last moved `alias` to this version (UTC text), or None if it never did."""
    rows = fetch(
        db,
        "SELECT a.time FROM pml_actions a JOIN pml_decisions d ON d.seq = a.decision_seq WHERE d.model = {m} "
        "AND d.version = {v} AND a.kind = 'set_alias' AND a.name = {a} AND a.state = 'applied' AND "
        + in_chain("d.seq")
        + " ORDER BY a.id DESC LIMIT 1",
        {"m": model, "v": version, "a": alias},
    )
    return str(rows[0][0]) if rows else None
