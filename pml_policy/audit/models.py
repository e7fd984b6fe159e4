"""The audit log's tables (SQLModel). One row per decision in the hash chain; rule results,
actions and waivers used beside it for queries and reports; the head row appends lock on."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from .chain import GENESIS


class DecisionRecord(SQLModel, table=True):
    """A decision as recorded. `hash` covers every other column and `prev_hash` (chain.py)."""

    __tablename__ = "pml_decisions"
    # Reports count a period's decisions (kind: not plans) by outcome, model and version from this
    # index alone, never reading a record's ~10 KB row. A seq below 1 is refused by the database
    # itself (logs created from this version on); any row outside 1..head is named by verify and
    # read by nobody (queries.in_chain).
    # Reports read a period's versions and models in (model, version) order from the second (which
    # also finds a model's or a version's records), and a verify from a checkpoint the record hashes
    # (the Merkle tree's leaves) in seq order from the third. Each index costs every append a page.
    __table_args__ = (
        Index("ix_pml_decisions_period", "time", "kind", "outcome", "model", "version", "policy_set"),
        Index("ix_pml_decisions_versions", "model", "version", "kind", "time", "outcome"),
        Index("ix_pml_decisions_leaves", "seq", "hash"),
        CheckConstraint("seq >= 1", name="ck_pml_decisions_seq_in_chain"),
    )
    seq: int = Field(primary_key=True, description="Position in the chain: 1, 2, 3… with no gaps.")
    id: str = Field(unique=True, description="The decision id printed by check.")
    time: str = Field(description="UTC, ISO 8601 with microseconds and Z.")
    actor: str
    ci: str = Field(description="CI context as canonical JSON (run id, job URL, commit).")
    subject_ref: str
    subject_digest: str
    model: str | None = None  # looked up through ix_pml_decisions_versions, which leads with it
    version: str | None = None
    outcome: str
    kind: str = Field(default="decision", description="decision, or plan (govern without --apply); from the body.")
    engine: str
    body: str = Field(description="The decision as canonical JSON (schema pml-policy/decision).")
    evidence: str = Field(description="The subject and champion evidence as canonical JSON, for replay.")
    prev_hash: str
    policy_set: str | None = Field(
        default=None, description="The policy versions used, as one key (rows.policy_set); from the body."
    )
    hash: str  # not indexed: `audit verify` checks the chain, and every index costs each append
    signature: str | None = Field(default=None, description="Ed25519 signature of `hash` (base64), with a signing key.")


class _BesideDecision(SQLModel):
    """A row that belongs to one decision record (rule results, actions, waivers used)."""

    id: int | None = Field(default=None, primary_key=True)
    decision_seq: int = Field(foreign_key="pml_decisions.seq", index=True)


class RuleRecord(_BesideDecision, table=True):
    """A rule's outcome in a decision: the narrow columns reports count by."""

    __tablename__ = "pml_rule_results"
    # Reports count a period's failures from this partial index alone: its inserts are only the failures.
    __table_args__ = (
        Index(
            "ix_pml_rule_failures",
            "decision_seq",
            "policy",
            "rule",
            sqlite_where=text("outcome IN ('fail', 'error')"),
            postgresql_where=text("outcome IN ('fail', 'error')"),
        ),
    )
    policy: str
    policy_version: str
    policy_digest: str
    rule: str
    enforce: str
    outcome: str
    waiver: str | None = None
    # The rule's message, requirement and observed values are in the decision's hashed body only
    # (schema 10): a second copy here cost every append a JSON encoding per rule.


class DecisionPolicy(SQLModel, table=True):
    """Which policy versions each decision used: reports count a period's policy versions from
    these few rows instead of every rule result."""

    __tablename__ = "pml_decision_policies"
    decision_seq: int = Field(foreign_key="pml_decisions.seq", primary_key=True)
    policy: str = Field(primary_key=True)
    version: str
    digest: str


class ActionRecord(_BesideDecision, table=True):
    __tablename__ = "pml_actions"
    # Reports find the changes made (a few) among the planned ones (several per decision) here.
    __table_args__ = (
        Index(
            "ix_pml_actions_made",
            "kind",
            "time",
            sqlite_where=text("state IN ('applied', 'failed')"),
            postgresql_where=text("state IN ('applied', 'failed')"),
        ),
    )
    policy: str
    kind: str
    name: str
    value: str | None = None
    state: str = Field(
        description="planned (written with the decision), then applied or failed (one row each, as it happens)"
    )
    time: str | None = Field(default=None, description="When an applied or failed change was made (UTC).")
    detail: str | None = Field(default=None, description="What failed, or where an alias came from.")


class WaiverUse(_BesideDecision, table=True):
    __tablename__ = "pml_waivers_used"
    waiver: str
    policy: str
    rule: str
    expired: bool = False


class PolicyRecord(SQLModel, table=True):
    """Each policy name and version ever used, with its digest: a version is immutable once used."""

    __tablename__ = "pml_policies"
    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    digest: str
    source: str
    first_decision: str
    first_time: str


class Head(SQLModel, table=True):
    """One row: the last record's seq and hash. Appends lock it, so the chain never forks."""

    __tablename__ = "pml_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = GENESIS


class TreeNode(SQLModel, table=True):
    """A node of the RFC 9162 Merkle tree over the chain: the hash of leaves idx * 2**level to
    (idx + 1) * 2**level - 1, for every perfect subtree of two leaves or more (a leaf is its
    record's hash). Written with the records that complete it; `audit verify` rebuilds them all."""

    __tablename__ = "pml_tree"
    __table_args__ = {"sqlite_with_rowid": False}  # one b-tree, keyed (level, idx): one page less per append
    level: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    hash: str


class InboxJob(SQLModel, table=True):
    """A registry event the service received, kept until a worker has handled it (the durable inbox).
    Operational state, not a record: what the worker decided and changed is in the chain."""

    __tablename__ = "pml_inbox"
    __table_args__ = (Index("ix_pml_inbox_state", "state", "not_before"),)
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(unique=True, description="The sender's delivery id: a delivery seen twice is one job.")
    source: str = Field(description="mlflow, or sweep (the reconciliation sweep's own jobs).")
    event: str = Field(description="model_version.created, model_version_alias.created, …")
    model: str | None = None
    body: str = Field(description="The event as delivered (JSON).")
    received: str
    state: str = Field(
        description="pending, running, done, dead (no retries left, or an error retrying cannot heal) or discarded."
    )
    attempts: int = 0
    not_before: str = Field(description="When it may run (UTC): now, or later after a failure (backoff).")
    claimed_by: str | None = None
    claimed_at: str | None = None
    last_error: str | None = None
    result: str | None = None


class Meta(SQLModel, table=True):
    __tablename__ = "pml_meta"
    key: str = Field(primary_key=True)
    value: str
