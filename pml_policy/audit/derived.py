"""The rows beside each decision record, checked against its hashed body by `audit verify`.

Rule results, planned and withheld actions, waivers used and the policy versions of a decision are
derived from the decision's body, which the chain hashes: an edited, inserted or deleted row in any
of those tables is found, and named by table and record. Applied and failed registry
changes are records of their own (kind `change`), each deriving its one action row. A policy
version's registration (pml_policies) derives from the body of the first record that used it, and
every later record must name that version with the same digest: a deleted registration cannot let
a changed policy reuse its version unseen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .rows import ACTION_COLUMNS, APPROVAL_PREFIX, CHANGE_PREFIX, CHILD_COLUMNS, children_of, policy_set

# The rows of each table that a decision body derives (applied and failed actions are change
# records' own, checked against them by _changes_against_rows).
_WHERE = {"pml_actions": "state IN ('planned', 'withheld')"}
_ORDER = {"pml_decision_policies": "decision_seq, policy"}  # no id column: the body's order is by policy name


class _Table:
    """One table's rows in (decision_seq, insertion) order, read alongside the chain."""

    def __init__(self, name: str, cursor: Any, seqs: tuple[int, int], sql: Any) -> None:
        self.name = name
        self.columns, condition = CHILD_COLUMNS[name], _WHERE.get(name, "")
        # The first range also takes rows below seq 1: rows no record can have.
        where = "decision_seq <= {last}" + ("" if seqs[0] <= 1 else " AND decision_seq >= {first}")
        where += f" AND {condition}" if condition else ""
        order = _ORDER.get(name, "decision_seq, id")
        cursor.execute(
            sql(f"SELECT decision_seq, {', '.join(self.columns)} FROM {name} WHERE {where} ORDER BY {order}"),
            {"first": seqs[0], "last": seqs[1]},
        )
        self.rows: Iterator[Any] = iter(cursor)
        self.next: Any = next(self.rows, None)

    def take(self, seq: int) -> tuple[list[tuple[Any, ...]], int | None]:
        """The rows of record `seq`, and the seq of a row found before it (one no record has)."""
        stray = None
        while self.next is not None and self.next[0] < seq:
            stray = stray or self.next[0]
            self.next = next(self.rows, None)
        found = []
        while self.next is not None and self.next[0] == seq:
            found.append(self.next[1:])
            self.next = next(self.rows, None)
        return found, stray


def _changes_against_rows(
    cursor: Any, changes: list[tuple[int, tuple[Any, ...]]]
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """The applied and failed action rows, in the order they were written, against the change
    records' bodies in chain order (seq, action row): (the first that differs, a row left over)."""
    cursor.execute(
        f"SELECT {', '.join(ACTION_COLUMNS)} FROM pml_actions WHERE state IN ('applied', 'failed') ORDER BY id"
    )
    rows = iter(cursor)
    for seq, action in changes:
        row = next(rows, None)
        if row is None or _plain(tuple(row)) != action:
            what = "deleted" if row is None else "changed"
            return (f"pml_actions: the row of registry change record #{seq} was {what}", seq), None
    extra = next(rows, None)
    if extra is None:
        return None, None
    problem = (
        f"pml_actions: an applied or failed row for record #{extra[0]} was inserted without a registry change record"
    )
    return None, (problem, extra[0])


REGISTRATION_COLUMNS = ("name", "version", "digest", "source", "first_decision", "first_time")


class _Registrations:
    """Each policy version as the first record that used it registered it (pml_policies' columns),
    and the seq of that record; a later record naming the version with another digest is a problem."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], tuple[tuple[Any, ...], int]] = {}

    def feed(self, seq: int, record_id: str, time: str, body: dict[str, Any]) -> str | None:
        for p in body["policies"]:
            key = (p["name"], p["version"])
            known = self.first.get(key)
            if known is None:
                self.first[key] = ((*key, p["digest"], p["source"], record_id, time), seq)
            elif known[0][2] != p["digest"]:
                return _reused(key, seq, known[1])
        return None

    def merge(self, later: _Registrations) -> tuple[str, int] | None:
        """Add the first uses a later range of the chain found; a version it used with another
        digest than an earlier range is the problem feed() would have named."""
        for key, (row, seq) in sorted(later.first.items(), key=lambda item: item[1][1]):
            known = self.first.get(key)
            if known is None:
                self.first[key] = (row, seq)
            elif known[0][2] != row[2]:
                return _reused(key, seq, known[1]), seq
        return None

    def compare(self, cursor: Any) -> tuple[str, int | None] | None:
        """The pml_policies table against the registrations the chain derives: the first difference."""
        cursor.execute(f"SELECT {', '.join(REGISTRATION_COLUMNS)} FROM pml_policies")
        stored = {(row[0], row[1]): tuple(row) for row in cursor}
        for key, (row, seq) in sorted(self.first.items(), key=lambda item: item[1][1]):
            what = f'pml_policies: the registration of policy "{key[0]}" version {key[1]} (first used by record #{seq})'
            found = stored.pop(key, None)
            if found is None:
                return f"{what} was deleted", seq
            if found != row:
                return f"{what} was changed: it no longer matches that record's hashed body", seq
        if stored:
            name, version = min(stored)
            return (
                f'pml_policies: a registration of policy "{name}" version {version} was inserted, but no record '
                "uses that version",
                None,
            )
        return None


def _reused(key: tuple[str, str], seq: int, first: int) -> str:
    return (
        f'record #{seq} used policy "{key[0]}" version {key[1]} with another text (digest) than record '
        f"#{first} did: the policy changed without a new version, its registration removed"
    )


@dataclass
class Derived:
    """What checking one range of the chain found (picklable: a worker process sends it back)."""

    problem: str | None  # the first row the range's bodies do not derive
    at: int | None
    changes: list[tuple[int, tuple[Any, ...]]]  # (seq, action row) of its change records, in chain order
    first_uses: _Registrations

    @staticmethod
    def empty() -> Derived:
        """A range taken on trust (a checkpoint vouches for it): nothing found, nothing to conclude."""
        return Derived(None, None, [], _Registrations())


class DerivedCheck:
    """Fed the records of a range of the chain in order; names the first row their bodies do
    not derive. Change records' rows and policy registrations are concluded over the whole
    chain (conclude): a log checked in ranges is checked as one."""

    def __init__(self, open_cursor: Any, seqs: tuple[int, int], sql: Any) -> None:
        self.tables = [_Table(name, open_cursor(name), seqs, sql) for name in CHILD_COLUMNS]
        self.changes: list[tuple[int, tuple[Any, ...]]] = []
        self.registrations = _Registrations()
        self.problem: str | None = None
        self.at: int | None = None

    def feed(self, seq: int, record_id: str, time: str, body: str, key: str | None = None) -> None:
        if body.startswith((APPROVAL_PREFIX, CHANGE_PREFIX)) and key is not None:
            return self._found(seq, f"record #{seq} was altered: its policy_set is set, but it is no decision")
        if body.startswith(APPROVAL_PREFIX):  # a sign-off: everything it says is hashed, nothing derives from it
            return None
        if body.startswith(CHANGE_PREFIX):  # a registry change: one applied or failed action row (conclude)
            change = _parsed(body)
            if change is None:
                return self._found(seq, f"record #{seq} was altered: its body is no longer JSON")
            self.changes.append((seq, _plain(tuple(change["action"][c] for c in ACTION_COLUMNS))))
            return None
        if self.problem is not None:
            return None
        decision = _parsed(body)
        if decision is None:
            return self._found(seq, f"record #{seq} was altered: its body is no longer JSON")
        if key != policy_set(decision["policies"]):
            return self._found(seq, f"record #{seq} was altered: its policy_set no longer matches its hashed body")
        reused = self.registrations.feed(seq, record_id, time, decision)
        if reused is not None:
            return self._found(seq, reused)
        expected = children_of(decision)
        for table in self.tables:
            found, stray = table.take(seq)
            if stray is not None:
                return self._found(
                    stray, f"{table.name}: a row was inserted for record #{stray}, which has no such rows"
                )
            # Compared as the driver returns them: SQLite's 0/1 equal the body's booleans, as
            # PostgreSQL's booleans do (False == 0), so no value needs converting on this hot path.
            want = expected[table.name]
            if table.name == "pml_decision_policies":
                want.sort()
            if found != want:
                what = (
                    "inserted beside"
                    if len(found) > len(want)
                    else "deleted from"
                    if len(found) < len(want)
                    else "changed in"
                )
                return self._found(
                    seq, f"{table.name}: a row was {what} record #{seq} (it no longer matches the record's hashed body)"
                )
        return None

    def result(self) -> Derived:
        """What the range holds, once every record of it was fed."""
        for table in self.tables:
            if self.problem is None and table.next is not None:
                self._found(
                    table.next[0],
                    f"{table.name}: a row was inserted for record #{table.next[0]}, which is not in the chain",
                )
        return Derived(self.problem, self.at, self.changes, self.registrations)

    def _found(self, seq: int, problem: str) -> None:
        if self.problem is None or seq < (self.at or 0):
            self.problem, self.at = problem, seq


def conclude(ranges: list[Derived], open_cursor: Any) -> tuple[str, int | None] | None:
    """The first problem of the whole chain, its ranges' results in order: a row a body does not
    derive, a change record's row changed or deleted, a policy version used with two texts; then,
    when there is none, the registrations and applied rows against what the chain derives."""
    found = [(r.at or 0, r.problem) for r in ranges if r.problem is not None]
    registrations = _Registrations()
    for r in ranges:
        clash = registrations.merge(r.first_uses)
        if clash is not None:
            found.append((clash[1], clash[0]))
            break
    changed, extra = _changes_against_rows(open_cursor("changes"), [c for r in ranges for c in r.changes])
    if changed is not None:
        found.append((changed[1], changed[0]))
    if found:
        at, problem = min(found)
        return problem, at
    registered = registrations.compare(open_cursor("policies"))
    if registered is not None:
        return registered[0], registered[1] or 0
    return extra


def _parsed(body: str) -> Any:
    """A body's values, or None when it is not JSON (an altered record: its hash says so too).
    orjson parses, a fifth of json.loads' time; what it refuses (a number past a double) json.loads reads."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body)
        except ValueError:
            return None


def _plain(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values as the drivers return them, made comparable: SQLite's 0/1 and PostgreSQL's booleans alike."""
    return tuple(int(v) if isinstance(v, bool) else v for v in values)
