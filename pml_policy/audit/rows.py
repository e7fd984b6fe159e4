"""An entry (a decision and its evidence) as the rows the audit tables hold: every row derives
from the decision's one canonical JSON form, the body that the chain hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import chain

if TYPE_CHECKING:  # types only: `audit verify` reads the log without loading the engine
    from pydantic import BaseModel

    from pml_policy.engine.decision import Decision
    from pml_policy.engine.subject import Subject

# The tables beside a decision record, and their columns after decision_seq: every row in them is
# derived from the decision's hashed body (children_of), and `audit verify` checks that it still is.
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "pml_rule_results": ("policy", "policy_version", "policy_digest", "rule", "enforce", "outcome", "waiver"),
    "pml_actions": ("policy", "kind", "name", "value", "state"),
    "pml_waivers_used": ("waiver", "policy", "rule", "expired"),
    "pml_decision_policies": ("policy", "version", "digest"),
}
CHILD_TABLES = tuple(CHILD_COLUMNS)


@dataclass
class Entry:
    """What one recorded decision holds: the decision, and the evidence it was made on."""

    decision: Decision
    subject: Subject
    champion: Subject | None = None


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_of(model: BaseModel) -> tuple[Any, str]:
    """A pydantic model as plain JSON values and their canonical text (NaN as "NaN", as the JSON
    output writes it)."""
    values = model.model_dump(mode="json", by_alias=True)
    try:
        return values, chain.canonical(values)
    except ValueError:  # NaN or infinity somewhere: let pydantic write them as strings
        values = json.loads(model.model_dump_json(by_alias=True))
        return values, chain.canonical(values)


def policy_set(policies: list[dict[str, Any]]) -> str:
    """The policy versions a decision used, as one short key (reports count a period's decisions by
    it, from the period's index, instead of four rows a decision): the first 16 hex digits of the
    sha256 of their (name, version, digest), by name."""
    used = sorted([p["name"], p["version"], p["digest"]] for p in policies)
    return hashlib.sha256(chain.canonical(used).encode()).hexdigest()[:16]


@dataclass
class Prepared:
    """One entry's rows, all but what depends on its place in the chain (seq, prev_hash, hash)."""

    row: dict[str, Any]
    children: dict[str, list[tuple[Any, ...]]]

    @classmethod
    def of(cls, entry: Entry, actor: str, ci_json: str, evidence: dict[int, str]) -> Prepared:
        """`evidence` caches each subject's JSON by object within one append: govern records
        hundreds of decisions against the same champion."""
        d = entry.decision
        body, body_text = json_of(d)  # the rows below all derive from this one form
        subject = _evidence_json(entry.subject, evidence)
        champion = _evidence_json(entry.champion, evidence) if entry.champion else "null"
        row = {
            "id": d.id,
            "time": utc_text(d.time),
            "actor": actor,
            "ci": ci_json,
            "subject_ref": d.subject.reference,
            "subject_digest": d.subject.digest,
            "model": d.subject.model,
            "version": d.subject.version,
            "outcome": d.outcome,
            "kind": d.kind,
            "engine": d.engine,
            "body": body_text,
            "policy_set": policy_set(body["policies"]),
            "evidence": '{"champion":' + champion + ',"subject":' + subject + "}",  # keys in order
        }
        return cls(row, children_of(body))

    def child_rows(self, seq: int) -> dict[str, list[dict[str, Any]]]:
        """The rows beside record `seq`, by table, as append inserts them (named columns)."""
        return {
            name: [dict(zip(CHILD_COLUMNS[name], child), decision_seq=seq) for child in children]
            for name, children in self.children.items()
        }


def children_of(body: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows beside a decision record, each in its table's CHILD_COLUMNS order, derived from
    its body alone: what append writes and what `audit verify` expects to find (bodies of every
    schema version). Tuples, not dicts: verify derives them for every record of the log."""
    rules: list[tuple[Any, ...]] = []
    actions: list[tuple[Any, ...]] = []
    waivers: list[tuple[Any, ...]] = []
    policies: list[tuple[Any, ...]] = []
    for p in body["policies"]:
        name, version, digest = p["name"], p["version"], p["digest"]
        for r in p["rules"]:
            rule, waiver = r["rule"], r["waiver"]
            rules.append((name, version, digest, rule, r["enforce"], r["outcome"], waiver))
            if waiver:
                waivers.append((waiver, name, rule, False))
            for w in r["expired_waivers"]:  # {"id", "expires"}; schema 1 wrote "ID (expired DATE)"
                waivers.append((w["id"] if isinstance(w, dict) else w.rsplit(" (expired ", 1)[0], name, rule, True))
        for a in p["actions"]:  # schema 1 had no state: every action was planned
            actions.append((name, a["kind"], a["name"], a["value"], a.get("state", "planned")))
        policies.append((name, version, digest))
    return {
        "pml_rule_results": rules,
        "pml_actions": actions,
        "pml_waivers_used": waivers,
        "pml_decision_policies": policies,
    }


def _evidence_json(subject: Subject, cache: dict[int, str]) -> str:
    if id(subject) not in cache:
        cache[id(subject)] = json_of(subject)[1]
    return cache[id(subject)]


@lru_cache(maxsize=64)
def insert_sql(name: str, columns: tuple[str, ...], mark: str) -> str:
    """INSERT text with a named placeholder per column, in the driver's form (Database.mark)."""
    return f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(mark.format(c) for c in columns)})"


ACTION_COLUMNS = ("decision_seq", "policy", "kind", "name", "value", "state", "time", "detail")
CHANGE_PREFIX = '{"action":'  # a change record's canonical body starts so; a decision's with {"champion":


def change_record(
    action: dict[str, Any], decision: dict[str, Any], actor: str, ci_json: str, record_id: str, time: str
) -> dict[str, Any]:
    """A registry change (applied or failed) as a record of its own in the chain: its body is the
    action row it stands for, so that row is derived from a hashed body like every other."""
    body = chain.canonical({"action": action, "schema": "pml-policy/change"})
    return {
        "id": record_id,
        "time": time,
        "actor": actor,
        "ci": ci_json,
        "subject_ref": decision["subject_ref"],
        "subject_digest": decision["subject_digest"],
        "model": decision["model"],
        "version": decision["version"],
        "outcome": action["state"],
        "kind": "change",
        "engine": "registry",
        "body": body,
        "evidence": "null",
    }


APPROVAL_PREFIX = '{"approval":'  # an approval record's canonical body starts so


def approval_record(
    approval: dict[str, Any], subject_ref: str, actor: str, ci_json: str, record_id: str, time: str
) -> dict[str, Any]:
    """A sign-off (or its withdrawal: `revokes` names the record) as a record of its own: the role,
    approver, evidence digest, reason and expiry are in its hashed body, so none can be edited unseen."""
    body = chain.canonical({"approval": approval, "schema": "pml-policy/approval"})
    return {
        "id": record_id,
        "time": time,
        "actor": actor,
        "ci": ci_json,
        "subject_ref": subject_ref,
        "subject_digest": approval["digest"],
        "model": approval["model"],
        "version": approval["version"],
        "outcome": "revoked" if approval.get("revokes") is not None else "approved",
        "kind": "approval",
        "engine": "approvals",
        "body": body,
        "evidence": "null",
    }
