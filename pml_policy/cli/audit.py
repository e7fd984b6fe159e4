"""`pml-policy audit list|show|verify|export` and `pml-policy explain`: reading the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from pml_policy.audit.queries import Change, Record
from pml_policy.audit.signing import keygen as keygen_files
from pml_policy.audit.signing import member_key
from pml_policy.base.dates import parse_when
from pml_policy.base.errors import UsageError
from pml_policy.base.escaping import csv_cell, one_line
from pml_policy.outputs import Options, get
from pml_policy.outputs.documents import record_summary
from pml_policy.usecases import auditing
from pml_policy.usecases.export import export as export_records
from pml_policy.usecases.replaying import Replay, recorded_decision
from pml_policy.usecases.replaying import replay as replay_record

from .options import audit_option, data_option, open_workspace, witness_option

LIST_COLUMNS = ("seq", "time", "kind", "outcome", "model", "version", "subject_ref", "actor", "id")


def _when(value: str | None, option: str) -> dt.datetime | None:
    return parse_when(value, option) if value is not None else None


@click.group()
def audit() -> None:
    """Read and check the audit log of decisions.

    Every decision `check` makes is recorded, chained to the one before by a sha256, in
    .pml/audit.db (SQLite) or the database at --audit / PML_AUDIT_URL (PostgreSQL for teams).

    \b
      pml-policy audit list --since 2026-11-01 --outcome fail
      pml-policy audit show 2cee3ef7
      pml-policy audit verify --expect-head <published hash>
      pml-policy audit export --format jsonl -o audit.jsonl
    """


@audit.command(name="list")
@audit_option
@click.option("--model", help="Only this model name.")
@click.option("--policy", help="Only decisions that evaluated this policy.")
@click.option("--outcome", type=click.Choice(["pass", "warn", "pending", "fail"]), help="Only this outcome.")
@click.option(
    "--kind",
    type=click.Choice(["decision", "plan", "recheck", "change", "approval"]),
    help="Only gating decisions, plans (govern without --apply), re-checks of champions, registry changes or "
    "approvals. Default: all.",
)
@click.option("--since", help="From this date or time (UTC unless it says), or a span back from now (30d, 12h).")
@click.option("--until", help="Before this date or time.")
@click.option(
    "--limit",
    type=click.IntRange(min=0, max=10**9),
    default=50,
    show_default=True,
    help="At most this many, newest first (0: all).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def list_(
    audit_url: str,
    model: str | None,
    policy: str | None,
    outcome: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    fmt: str,
) -> None:
    """List recorded decisions and plans, newest first."""
    start, end = _when(since, "--since"), _when(until, "--until")
    with open_workspace(None, audit_url) as ws:
        rows: Sequence[Mapping[str, Any]] = auditing.records(
            ws, model=model, policy=policy, outcome=outcome, since=start, until=end, limit=limit or None, kind=kind
        )
        shown = ws.log.store(create=False).shown
    if fmt == "json":
        click.echo(json.dumps([record_summary(r) for r in rows], indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow((*LIST_COLUMNS, "hash"))
        writer.writerows([[csv_cell(v) for v in (*(r[k] for k in LIST_COLUMNS), r["hash"])] for r in rows])
    else:
        table = [[one_line(str(r[k] if r[k] is not None else "")) for k in LIST_COLUMNS] for r in rows]
        widths = [max([len(c)] + [len(row[i]) for row in table]) for i, c in enumerate(LIST_COLUMNS)]
        click.echo("  ".join(c.upper().ljust(w) for c, w in zip(LIST_COLUMNS, widths)).rstrip())
        for row in table:
            click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        click.echo(f"{len(rows)} record{'s' if len(rows) != 1 else ''} in {shown}", err=True)


def _show(row: Record, changes: list[Change]) -> str:
    """A record as people read it: a decision as check printed it, a change, an approval."""
    if row["kind"] == "change":
        return _show_change(row)
    if row["kind"] == "approval":
        return _show_approval(row)
    decision = recorded_decision(row)
    made = [c for c in changes if c["state"] in ("applied", "failed")]  # planned and withheld: in the decision
    ci = json.loads(row["ci"])
    where = f" in {ci.get('system')} run {ci.get('run_id')}" if ci else ""
    header = f"decision {row['id']} (record #{row['seq']}, {row['time']}, by {row['actor']}{where})\n"
    lines = [
        f'registry: {c["state"]} {c["kind"].replace("_", " ")} "{c["name"]}"'
        + (f' = "{c["value"]}"' if c["value"] is not None else "")
        + f" at {c['time']}"
        + (f" ({c['detail']})" if c["detail"] else "")
        for c in made
    ]
    return (
        header
        + get("text")([decision], Options())
        + "".join(f"{line}\n" for line in lines)
        + f"record hash {row['hash']}\n"
    )


def _show_change(row: Record) -> str:
    """A registry change record: what was made to the registry, for which decision."""
    action = json.loads(row["body"])["action"]
    value = f' = "{action["value"]}"' if action["value"] is not None else ""
    detail = f" ({action['detail']})" if action["detail"] else ""
    return (
        f"registry change {row['id']} (record #{row['seq']}, {row['time']}, by {row['actor']})\n"
        f'  {action["state"]} {action["kind"].replace("_", " ")} "{action["name"]}"{value} on {row["model"]} '
        f"version {row['version']}{detail}\n  for decision {action['decision']} (record #{action['decision_seq']})\n"
        f"record hash {row['hash']}\n"
    )


def _show_approval(row: Record) -> str:
    """An approval record (or its withdrawal): who signed off what evidence, for which role."""
    a = json.loads(row["body"])["approval"]
    what = f"revokes approval #{a['revokes']}" if a.get("revokes") is not None else f'signs off as "{a["role"]}"'
    until = f", until {a['expires']}" if a.get("expires") else ""
    return (
        f"approval {row['id']} (record #{row['seq']}, {row['time']}, by {a['approver']})\n"
        f"  {what}: {row['model']} version {row['version']}, evidence {a['digest']}{until}\n"
        f"  reason: {one_line(a['reason'])}\n"
        f"record hash {row['hash']}\n"
    )


@audit.command()
@click.argument("ref", metavar="ID")
@audit_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(ref: str, audit_url: str, fmt: str) -> None:
    """Show a recorded decision as check printed it. ID: the id, its first 6+ characters, or #SEQ.
    --format json prints the record's document, the one `GET /v1/decisions/{ID}` answers with."""
    with open_workspace(None, audit_url) as ws:
        shown = auditing.show(ws, ref)
    if fmt == "json":
        click.echo(json.dumps(shown.document(), indent=2))
    else:
        click.echo(_show(shown.row, shown.actions), nl=False)


@audit.command()
@audit_option
@click.option(
    "--expect-head",
    metavar="HASH",
    help="A head hash published earlier (a CI log, a ticket): it must still be in the log.",
)
@click.option(
    "--public-key",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Every record from the first signed one on must be signed by this key (audit keygen's .pub).",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A checkpoint `audit checkpoint` wrote: the log must still hold its record (signature checked "
    "with --public-key).",
)
@witness_option
@click.option(
    "--from",
    "trusted",
    metavar="CHECKPOINT",
    type=click.Path(dir_okay=False),
    help="Verify from a trusted checkpoint (signed by --public-key): the records it covers must hash to its "
    "root, every record after it is verified in full. Seconds instead of minutes on a large log.",
)
@click.option(
    "--signed-from",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="SEQ",
    help="With --public-key: the record from which on every record must be signed (a log that gained its key "
    "later); every record before it may be unsigned.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    envvar="PML_VERIFY_WORKERS",
    help="Processes that check seq ranges of the log at once. Default: one per CPU (up to 8) for a log "
    "of 50,000 records or more, else one. With --public-key: one.",
)
def verify(
    audit_url: str,
    expect_head: str | None,
    public_key: str | None,
    checkpoint_file: str | None,
    signed_from: int,
    workers: int | None,
    witnesses: tuple[str, ...],
    trusted: str | None,
) -> None:
    """Recompute the hash chain and name the first record that breaks it.

    Finds an edited field, a deleted or inserted record, records swapped, records removed from
    the end (with --expect-head or --checkpoint, or when the head row no longer matches), and a
    row written outside the chain (a seq below 1 or after the head: no command ever reads one).
    With --public-key, a record appended by someone without the signing key is found too: every
    record must be signed (--signed-from SEQ for a log that gained its key later). The Merkle tree
    beside the chain is rebuilt too. Exits 1 when the log has been tampered with.

    \b
      pml-policy audit verify --public-key keys/audit.pub --checkpoint published.checkpoint
      pml-policy audit verify --public-key keys/audit.pub --from published.checkpoint --witness w1.pub
    """
    with open_workspace(None, audit_url) as ws:
        verified = auditing.verify(
            ws, expect_head, public_key, checkpoint_file, workers, signed_from, witnesses, trusted
        )
    verdict = verified.verdict
    if verdict.ok:
        signed = ", every record signed by the key" if verified.signed else ""
        if verified.signed and signed_from > 1:
            signed = f", every record from #{signed_from} on signed by the key"
        click.echo(f"OK: {verdict.records} records, {verified.how()}{signed} in {verified.store}\nhead {verdict.head}")
    else:
        who = f" (decision {verdict.decision_id})" if verdict.decision_id else ""
        click.echo(
            f"TAMPERED: {verdict.problem}{who}\n{verdict.records} records verified before it, in {verified.store}",
            err=True,
        )
    sys.exit(verified.exit_code)


@audit.command()
@click.argument("prefix", metavar="PREFIX", type=click.Path(dir_okay=False))
def keygen(prefix: str) -> None:
    """Write an Ed25519 key pair: PREFIX.key (private, mode 0600) and PREFIX.pub.

    Keep the .key where only the writers of the log read it (a CI secret, a vault) and point
    PML_AUDIT_SIGNING_KEY at it; publish the .pub to whoever verifies. Never overwrites a key.

    \b
      pml-policy audit keygen keys/audit
    """
    private, public = keygen_files(Path(prefix))
    click.echo(
        f"private key {private} (keep it secret; PML_AUDIT_SIGNING_KEY={private})\npublic key {public}\n"
        f"as a role member's key in a policy file: {member_key(public)}"
    )


@audit.command()
@audit_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
def export(audit_url: str, fmt: str, output: str | None) -> None:
    """Export every record in chain order, streaming (constant memory for any size of log).

    jsonl: one record a line, with the decision, its evidence and the chain hashes, as stored.
    csv: one record a line, the columns an auditor filters on.
    """
    with open_workspace(None, audit_url) as ws:
        if not output:
            export_records(ws, fmt, sys.stdout)
            return
        with open(output, "w", encoding="utf-8", newline="") as out:
            export_records(ws, fmt, out)


@click.command()
@click.argument("ref", metavar="ID")
@audit_option
@click.option("--replay", is_flag=True, help="Re-evaluate the recorded evidence under the policies as they are now.")
@click.option(
    "-p",
    "--policies",
    "policy_paths",
    multiple=True,
    type=click.Path(),
    envvar="PML_POLICIES",
    help="Policies for --replay (default: ./policies).",
)
@data_option
def explain(ref: str, audit_url: str, replay: bool, policy_paths: tuple[str, ...], data_file: str | None) -> None:
    """Explain a recorded decision, rule by rule; with --replay, what today's policies would decide
    on the recorded evidence, at the recorded time (`now`), with the context data given (--data).

    \b
      pml-policy explain 2cee3ef7
      pml-policy explain 2cee3ef7 --replay -p policies/     # which rules would now decide otherwise
    """
    with open_workspace(policy_paths if replay else None, audit_url, data_file=data_file) as ws:
        shown = auditing.show(ws, ref)
        kind = shown.row["kind"]
        if kind in ("change", "approval"):
            raise UsageError(
                f"{ref} is a {'registry change' if kind == 'change' else 'approval'} record, not a decision",
                "show it with `pml-policy audit show`",
            )
        replayed = replay_record(ws, ref) if replay else None
    click.echo(_show(shown.row, shown.actions), nl=False)
    if replayed is not None:
        click.echo(_replay(replayed), nl=False)


def _policy_texts(result: Replay) -> list[str]:
    """Which policies the replay ran under other text than the decision did (their digests
    differ), and which it lacks or adds: why its rules may decide otherwise."""
    assert result.now is not None
    before = {p.name: p for p in result.recorded.policies}
    after = {p.name: p for p in result.now.policies}
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            lines.append(f"  policy     {name} {new.version}: not in the recorded decision")
        elif new is None and old is not None:
            lines.append(f"  policy     {name} {old.version}: recorded, not among the current policies")
        elif old is not None and new is not None and old.digest != new.digest:
            same = " (the same version with other text)" if old.version == new.version else ""
            lines.append(
                f"  policy     {name}: recorded {old.version} sha256 {old.digest[:12]}…, now {new.version} "
                f"sha256 {new.digest[:12]}…{same}"
            )
    return lines


def _replay(result: Replay) -> str:
    if result.now is None:
        return "\nreplay: no current policy applies to this subject\n"
    now = result.now
    lines = [
        f"\nreplay under the current policies ({', '.join(f'{p.name} {p.version}' for p in now.policies)}): "
        f"{result.recorded.outcome} -> {now.outcome}"
    ]
    lines.extend(_policy_texts(result))
    for change in result.changes:
        old, new = change.before, change.after
        if old is None and new is not None:
            lines.append(f"  new rule   {change.rule}: {new.outcome} ({new.message})")
        elif new is None and old is not None:
            lines.append(f"  removed    {change.rule}: was {old.outcome}")
        elif old is not None and new is not None:
            lines.append(f"  changed    {change.rule}: {old.outcome} -> {new.outcome} ({new.message})")
    if not result.changes:
        lines.append("  no rule would decide otherwise")
    return "\n".join(lines) + "\n"


from .proofs import checkpoint_command, consistency, prove, witness  # noqa: E402  (commands of this group)

for _command in (checkpoint_command, prove, consistency, witness):
    audit.add_command(_command)
