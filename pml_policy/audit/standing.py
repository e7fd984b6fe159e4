"""The decision each version of a model stands on: the latest one recorded of a kind, with its body
and the evidence it was made on. What a reconcile compares a fresh decision with, so that it
records only what would say something new (one query per model, whatever its versions)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .database import Database
from .queries import fetch, in_chain


class Standing(NamedTuple):
    decision: str  # its id
    body: dict[str, Any]  # the decision as recorded
    subject: str  # the evidence it was made on (JSON)


def standing(db: Database, model: str, kind: str) -> dict[str, Standing]:
    """version -> its latest decision of `kind` (decision or plan)."""
    rows = fetch(
        db,
        "SELECT d.version, d.id, d.body, d.evidence FROM pml_decisions d JOIN (SELECT MAX(seq) AS last "
        "FROM pml_decisions WHERE model = {m} AND kind = {k} AND version IS NOT NULL AND "
        + in_chain()
        + " GROUP BY version) v ON d.seq = v.last",
        {"m": model, "k": kind},
    )
    return {
        str(version): Standing(decision, json.loads(body), json.dumps(json.loads(evidence)["subject"]))
        for version, decision, body, evidence in rows
    }


class Failed(NamedTuple):
    """A version whose latest re-check did not pass."""

    subject: str  # the evidence of that re-check (JSON)
    decision: str  # its id
    tags: dict[str, tuple[str, str]]  # tag -> (policy, value) it applied to the version


def failed_rechecks(db: Database, model: str) -> dict[str, Failed]:
    """version -> its latest re-check, for each version whose latest re-check did not pass: a
    version that failed in production, held back from the alias until it changes, whose tags from
    that re-check stand (govern does not put its promotion decision's back over them)."""
    rows = fetch(
        db,
        "SELECT d.version, d.outcome, d.evidence, d.id, a.policy, a.name, a.value FROM pml_decisions d "
        "JOIN (SELECT MAX(seq) AS last FROM pml_decisions WHERE model = {m} AND kind = 'recheck' AND "
        "version IS NOT NULL AND "
        + in_chain()
        + " GROUP BY version) v ON d.seq = v.last LEFT JOIN pml_actions a ON a.decision_seq = d.seq AND "
        "a.kind = 'set_tag' AND a.state = 'applied' AND a.policy <> 'governance' ORDER BY a.id",
        {"m": model},
    )
    failed: dict[str, Failed] = {}
    for version, outcome, evidence, decision, policy, tag, value in rows:
        if outcome in ("pass", "warn"):
            continue
        held = failed.setdefault(str(version), Failed(json.dumps(json.loads(evidence)["subject"]), decision, {}))
        if tag is not None:
            held.tags[tag] = (policy, value or "")  # in the order applied: the last one stands
    return failed
