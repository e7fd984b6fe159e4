"""A period's numbers, counted by the database (GROUP BY over the period), for compliance reports.

Never a Python loop over decisions: a report over a million decisions reads a few hundred rows, and
the database counts them from covering indexes (models.py), never from the records themselves.
Reports (reports/data.py) turn these rows into the report's model; only this module knows the SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .counts import (
    ApprovalGiven,
    Awaiting,
    DayCount,
    ModelLatest,
    OutcomeCount,
    PolicyVersionCount,
    RecheckRow,
    RevertRow,
    RuleFailureCount,
    WaiverCount,
)
from .database import Database
from .rows import utc_text

# The changes made (applied or failed), as the partial index ix_pml_actions_made holds them: SQLite
# reads a partial index only for a query that names its condition.
MADE = "a.state IN ('applied', 'failed')"
MAX_LEFT_OUT = 2000  # records among a period's seqs that are not its decisions, left out by number
MAX_RULES = 500  # failing rules looked at for the gating and the advisory top lists


class Aggregates:
    """The period's filters, as SQL: `{where}` selects its decisions (alias d), `{results}` the rows
    beside them (alias r) through their decision_seq. Use as a context manager (one connection)."""

    def __init__(self, db: Database, since: dt.datetime, until: dt.datetime, model: str | None) -> None:
        self.db = db
        self.model = model
        # Plans (govern without --apply) are recorded but never gate: no count below includes them
        # but plans(), which counts them apart.
        # Only the chain counts (queries.in_chain): seq 1..head, the head read once when entered.
        self.chain = "d.seq BETWEEN 1 AND :head"
        self.period = f"{self.chain} AND d.time >= :since AND d.time < :until" + (
            " AND d.model = :model" if model else ""
        )
        self.where = self.period + " AND d.kind = 'decision'"
        self.args: dict[str, Any] = {"since": utc_text(since), "until": utc_text(until), "model": model}
        self.results = "FALSE"
        self.conn: Any = None
        # SQLite's planner takes the seq range (the chain) over the covering indexes and reads every
        # record of the log (10 KB each): told which index answers each count, it reads none.
        self.hints = {
            "{decisions}": "pml_decisions d" + _hint(db, "ix_pml_decisions_period"),
            "{versions}": "pml_decisions d" + _hint(db, "ix_pml_decisions_versions"),
            "{failures}": "pml_rule_results r" + _hint(db, "ix_pml_rule_failures"),
            "{made}": "pml_actions a" + _hint(db, "ix_pml_actions_made"),
        }
        self._days: list[DayCount] | None = None
        self._latest: list[tuple[str, int, str | None]] | None = None
        self._champions: dict[str, str] | None = None

    def __enter__(self) -> Aggregates:
        self.conn = self.db.engine.connect()
        self.args["head"] = self._rows("SELECT seq FROM pml_head WHERE id = 1")[0][0]
        # One read of the period's index: the days' counts, and the seqs the period spans.
        by_day = self._rows(
            "SELECT substr(d.time, 1, 10) AS day, d.outcome, COUNT(*), MIN(d.seq), MAX(d.seq) FROM {decisions} "
            "WHERE {where} GROUP BY day, d.outcome ORDER BY day"
        )
        self._days = [DayCount(day, outcome, n) for day, outcome, n, _, _ in by_day]
        lo, hi = min((r[3] for r in by_day), default=0), max((r[4] for r in by_day), default=-1)
        count = sum(day.decisions for day in self._days)
        self.args.update(lo=lo, hi=hi)
        # When the period's decisions are exactly the seqs lo..hi (always, but for records of other
        # kinds, decisions timed out of order at its edges, or a --model filter), no join with the
        # decisions is needed; a few records among them are left out by number. The chain has no
        # gaps (seq 1..head): lo..hi holds hi - lo + 1 records.
        stray = (hi - lo + 1 - count) if count else 0
        self.results, left_out = "r.decision_seq BETWEEN :lo AND :hi", []
        if 0 < stray <= MAX_LEFT_OUT:
            period = self.where.replace(self.chain + " AND ", "")
            left_out = [
                seq
                for (seq,) in self._rows(
                    "SELECT d.seq FROM {decisions} WHERE d.seq BETWEEN :lo AND :hi AND "
                    f"CASE WHEN {period} THEN 0 ELSE 1 END = 1"  # a NULL model is left out too
                )
            ]
            self.args.update({f"out{i}": seq for i, seq in enumerate(left_out)})
            marks = ", ".join(f":out{i}" for i in range(len(left_out)))
            self.results += f" AND r.decision_seq NOT IN ({marks})"
        if stray and (stray > MAX_LEFT_OUT or len(left_out) != stray):
            self.results = (
                "r.decision_seq IN (SELECT d.seq FROM pml_decisions d WHERE d.seq BETWEEN :lo AND :hi AND "
                f"{self.where})"
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()

    def _rows(self, sql: str, **extra: Any) -> list[Any]:
        from sqlalchemy import text

        sql = sql.replace("{where}", self.where).replace("{results}", self.results)
        for hole, table in self.hints.items():
            sql = sql.replace(hole, table)
        return list(self.conn.execute(text(sql), {**self.args, **extra}))

    def outcomes(self) -> list[OutcomeCount]:
        """The period's decisions by outcome (summed from days(): one read of the index, not two)."""
        totals: dict[str, int] = {}
        for day in self.days():
            totals[day.outcome] = totals.get(day.outcome, 0) + day.decisions
        return [OutcomeCount(outcome, n) for outcome, n in sorted(totals.items())]

    def plans(self) -> int:
        """govern runs without --apply in the period: evaluations recorded as plans."""
        return int(self._rows("SELECT COUNT(*) FROM {decisions} WHERE " + self.period + " AND d.kind = 'plan'")[0][0])

    def versions(self) -> list[OutcomeCount]:
        """Distinct model versions decided in the period, by the outcome of each one's latest
        decision (a version checked ten times is one version)."""
        return [OutcomeCount(outcome, n) for outcome, n, _ in self._latest_by_outcome()]

    def _latest_by_outcome(self) -> list[tuple[str, int, str | None]]:
        """(outcome, versions, the seqs of pending ones) of each version's latest decision in the
        period: one pass over the versions index, in its (model, version) order."""
        if self._latest is not None:
            return self._latest
        if self.db.is_sqlite:  # SQLite's MAX() picks the row the bare columns come from
            latest = (
                "SELECT MAX(d.seq) AS seq, d.outcome AS outcome FROM {versions} WHERE {where} AND d.model IS NOT NULL "
                "GROUP BY d.model, d.version"
            )
            pending = "group_concat(CASE WHEN v.outcome = 'pending' THEN v.seq END)"
        else:
            latest = (
                "SELECT DISTINCT ON (d.model, d.version) d.seq AS seq, d.outcome AS outcome FROM {versions} WHERE "
                "{where} AND d.model IS NOT NULL ORDER BY d.model, d.version, d.seq DESC"
            )
            pending = "string_agg(CASE WHEN v.outcome = 'pending' THEN CAST(v.seq AS TEXT) END, ',')"
        self._latest = [
            (outcome, int(n), seqs)
            for outcome, n, seqs in self._rows(
                f"SELECT v.outcome, COUNT(*), {pending} FROM ({latest}) v GROUP BY v.outcome ORDER BY v.outcome"
            )
        ]
        return self._latest

    def promotions(self) -> int:
        """Aliases moved by --apply in the period."""
        return int(
            self._rows(
                "SELECT COUNT(*) FROM {made} JOIN pml_decisions d ON d.seq = a.decision_seq "
                f"WHERE {MADE} AND {self.chain} AND a.kind = 'set_alias' AND a.state = 'applied' AND a.time >= :since "
                "AND a.time < :until" + (" AND d.model = :model" if self.model else "")
            )[0][0]
        )

    def days(self) -> list[DayCount]:
        assert self._days is not None, "use Aggregates as a context manager"
        return self._days

    def failing_rules(self, top: int = 10) -> list[RuleFailureCount]:
        """The rules that failed or errored most, `top` of those that gate (hard, soft) and `top`
        advisory ones, each with its latest failure (the enforcement read from it: a covering
        index counts, the few latest bodies say which is which)."""
        failing: dict[bool, list[RuleFailureCount]] = {True: [], False: []}
        for policy, rule, count, latest in self._rows(
            "SELECT r.policy, r.rule, COUNT(*) AS n, MAX(r.decision_seq) FROM {failures} WHERE {results} AND "
            "r.outcome IN ('fail', 'error') GROUP BY r.policy, r.rule ORDER BY n DESC, r.policy, r.rule LIMIT :top",
            top=MAX_RULES,
        ):
            if len(failing[True]) >= top and len(failing[False]) >= top:
                break
            r = next(r for r in self._rule_results(latest) if r["policy"] == policy and r["rule"] == rule)
            kind = failing[r["enforce"] != "advisory"]
            if len(kind) < top:
                kind.append(RuleFailureCount(policy, rule, count, r["message"], r["observed"], r["enforce"]))
        return failing[True] + failing[False]

    def _rule_results(self, seq: int) -> list[dict[str, Any]]:
        """A record's rule results as its hashed body holds them (message, observed values), each
        with its policy's name: the rows beside it keep only what reports count by."""
        (body,) = self._rows("SELECT body FROM pml_decisions WHERE seq = :s", s=seq)[0]
        return [dict(r, policy=p["name"]) for p in json.loads(body)["policies"] for r in p["rules"]]

    def models(self) -> list[ModelLatest]:
        models, champions = [], self.champions()
        for name, count, last in self._rows(
            "SELECT d.model, COUNT(*), MAX(d.seq) FROM {versions} WHERE {where} AND d.model IS NOT NULL GROUP "
            "BY d.model ORDER BY d.model"
        ):
            time_, version, outcome = self._rows(
                "SELECT time, version, outcome FROM pml_decisions WHERE seq = :s", s=last
            )[0]
            why = [
                f"{p}/{r}"
                for p, r in self._rows(
                    "SELECT policy, rule FROM pml_rule_results WHERE decision_seq = :s AND outcome IN ('fail', "
                    "'error', 'pending') "
                    "AND enforce != 'advisory' ORDER BY id",
                    s=last,
                )
            ]
            models.append(ModelLatest(name, count, time_, version, outcome, why, champions.get(name)))
        return models

    def champions(self) -> dict[str, str]:
        """model -> the version --apply last moved an alias to, up to the period's end (one read of
        the few changes made, not of the planned ones; read once: the models and production ask)."""
        if self._champions is None:
            moved = self._rows(
                "SELECT d.model, d.version FROM {made} JOIN pml_decisions d ON d.seq = a.decision_seq "
                f"WHERE {MADE} AND {self.chain} AND a.kind = 'set_alias' AND a.state = 'applied' AND a.time < :until "
                "ORDER BY a.id"
            )
            self._champions = {str(model): str(version) for model, version in moved}
        return self._champions

    def waivers_used(self) -> list[WaiverCount]:
        return [
            WaiverCount(w, p, r, n, int(e or 0))
            for w, p, r, n, e in self._rows(
                "SELECT r.waiver, r.policy, r.rule, COUNT(*), SUM(CASE WHEN r.expired THEN 1 ELSE 0 END) FROM "
                "pml_waivers_used r "
                "WHERE {results} GROUP BY r.waiver, r.policy, r.rule ORDER BY r.waiver, r.policy, r.rule"
            )
        ]

    def policy_versions(self) -> list[PolicyVersionCount]:
        """The policy versions the period's decisions used: counted by policy set from the period's
        index, each set's versions read from one decision that used it."""
        found: dict[tuple[str, str, str], list[Any]] = {}
        for key, count, first, last, seq in self._rows(
            "SELECT d.policy_set, COUNT(*), MIN(d.time), MAX(d.time), MAX(d.seq) FROM {decisions} WHERE {where} "
            "GROUP BY d.policy_set"
        ):
            if key is None:
                continue
            for used in self._rows(
                "SELECT policy, version, digest FROM pml_decision_policies WHERE decision_seq = :s", s=seq
            ):
                known = found.setdefault(tuple(used), [0, first, last])
                known[0] += count
                known[1], known[2] = min(known[1], first), max(known[2], last)
        return [PolicyVersionCount(*used, *found[used]) for used in sorted(found)]

    def approvals(self) -> list[ApprovalGiven]:
        """The sign-offs recorded in the period, each with what became of it by the period's end."""
        given = self._rows(
            "SELECT d.seq, d.time, d.model, d.version, d.body FROM {decisions} WHERE "
            + self.period
            + " AND d.kind = 'approval' ORDER BY d.seq"
        )
        revoked = {
            json.loads(body)["approval"]["revokes"]: seq
            for seq, body in self._rows(
                f"SELECT d.seq, d.body FROM {{decisions}} WHERE {self.chain} AND d.kind = 'approval' "
                "AND d.outcome = 'revoked' AND d.time < :until"
            )
        }
        out = []
        for seq, time_, model, version, body in given:
            a = json.loads(body)["approval"]
            if a.get("revokes") is not None:
                continue
            latest = self._rows(
                f"SELECT d.evidence FROM pml_decisions d WHERE {self.chain} AND d.model = :m AND d.version = :v "
                "AND d.kind IN ('decision', 'plan') AND d.time < :until ORDER BY d.seq DESC LIMIT 1",
                m=model,
                v=version,
            )
            out.append(
                ApprovalGiven(
                    seq,
                    time_,
                    model,
                    version,
                    a["role"],
                    a["approver"],
                    a["reason"],
                    a["digest"],
                    a.get("expires"),
                    revoked.get(seq),
                    json.dumps(json.loads(latest[0][0])["subject"]) if latest else None,
                )
            )
        return out

    def awaiting(self) -> list[Awaiting]:
        """Model versions whose latest decision in the period is pending: who must still sign off."""
        seqs = sorted(int(seq) for _, _, found in self._latest_by_outcome() if found for seq in found.split(","))
        out = []
        for seq in seqs:
            ((model, version, time_),) = self._rows(
                "SELECT model, version, time FROM pml_decisions WHERE seq = :s", s=seq
            )
            rules = [
                f"{r['policy']}/{r['rule']}: {r['message']}"
                for r in self._rule_results(seq)
                if r["outcome"] == "pending"
            ]
            out.append(Awaiting(model, version, time_, rules))
        return sorted(out, key=lambda a: (a.model, a.version))

    def rechecks(self) -> list[RecheckRow]:
        """The period's re-checks of champions, oldest first, with the monitoring report each read
        (a re-check per model per schedule tick: few beside the decisions)."""
        found = []
        for seq, time_, model, version, outcome, evidence in self._rows(
            "SELECT d.seq, d.time, d.model, d.version, d.outcome, d.evidence FROM {decisions} WHERE "
            + self.period
            + " AND d.kind = 'recheck' ORDER BY d.seq"
        ):
            monitoring = (json.loads(evidence).get("subject") or {}).get("monitoring")
            found.append(RecheckRow(seq, time_, model, version, outcome, monitoring))
        return found

    def reverts(self) -> list[RevertRow]:
        """Champions moved back by a failed re-check in the period (applied `revert alias` changes)."""
        return [
            RevertRow(*r)
            for r in self._rows(
                "SELECT a.time, d.model, d.version, a.detail FROM {made} JOIN pml_decisions d ON "
                f"d.seq = a.decision_seq WHERE {MADE} AND {self.chain} AND a.kind = 'set_alias' "
                "AND a.state = 'applied' AND a.detail LIKE 'reverted from version %' AND a.time >= :since "
                "AND a.time < :until" + (" AND d.model = :model" if self.model else "") + " ORDER BY a.id"
            )
        ]


def _hint(db: Database, index: str) -> str:
    """The index SQLite is to read (INDEXED BY); PostgreSQL's planner chooses by statistics."""
    return f" INDEXED BY {index}" if db.is_sqlite else ""
