"""`pml-policy audit checkpoint|prove|consistency|witness`: what the log proves outside the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pml_policy.base.files import write_atomic
from pml_policy.usecases import proving

from .options import audit_option, open_workspace, origin_option, signing_option

output_option = click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
public_key_option = click.option(
    "--public-key",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The log's public key (audit keygen's .pub): the checkpoints' signatures must verify with it.",
)


def _emit(text: str, output: str | None, what: str) -> None:
    if output:
        write_atomic(Path(output), text)
        click.echo(f"{what} written to {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.command(name="checkpoint")
@audit_option
@signing_option
@origin_option
@output_option
def checkpoint_command(audit_url: str, signing_key: str | None, origin: str | None, output: str | None) -> None:
    """Print the log's signed tree head: a C2SP checkpoint (origin, tree size, RFC 9162 root hash),
    signed with the log's key under the origin's name.

    Publish it elsewhere (a release, a ticket, a witness); later, `audit verify --checkpoint FILE`
    shows the log still holds that tree, `audit prove` proves a record is in it, and
    `audit verify --from FILE` verifies only what came after it.

    \b
      pml-policy audit checkpoint --origin example.com/ml-governance -o published.checkpoint
    """
    with open_workspace(None, audit_url, signing_key=signing_key) as ws:
        text = proving.checkpoint(ws, origin)
    _emit(text, output, "checkpoint")


@click.command()
@click.argument("ref", metavar="DECISION")
@audit_option
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Prove against this checkpoint's tree (default: the whole log as it is now).",
)
@public_key_option
@output_option
def prove(ref: str, audit_url: str, checkpoint_file: str | None, public_key: str | None, output: str | None) -> None:
    """Print the RFC 9162 inclusion proof of a record (decision id, id prefix or #SEQ), as JSON:
    leaf index (seq - 1), tree size, root hash and the audit path (base64), the record's hash
    (the leaf, as `audit export` shows it) and the checkpoint it holds against.

    \b
      pml-policy audit prove 2cee3ef7 --checkpoint published.checkpoint -o proof.json
    """
    with open_workspace(None, audit_url) as ws:
        proof = proving.prove(ws, ref, checkpoint_file, public_key)
    _emit(json.dumps(proof, indent=2) + "\n", output, "inclusion proof")


@click.command()
@click.argument("old", metavar="OLD", type=click.Path(dir_okay=False))
@click.argument("new", metavar="NEW", type=click.Path(dir_okay=False))
@audit_option
@public_key_option
@output_option
def consistency(old: str, new: str, audit_url: str, public_key: str | None, output: str | None) -> None:
    """Print the RFC 9162 consistency proof between two checkpoints of the log (JSON): the log
    of NEW extends the log of OLD, nothing before was changed. A witness takes it with --proof.

    \b
      pml-policy audit consistency monday.checkpoint friday.checkpoint -o proof.json
    """
    with open_workspace(None, audit_url) as ws:
        proof = proving.consistency(ws, old, new, public_key)
    _emit(json.dumps(proof, indent=2) + "\n", output, "consistency proof")


@click.command()
@click.argument("checkpoint_file", metavar="CHECKPOINT", type=click.Path(dir_okay=False))
@click.option("--key", "key_file", required=True, metavar="FILE", help="The witness's private key (audit keygen).")
@click.option(
    "--log-key", required=True, metavar="FILE", help="The log's public key: the checkpoint must be signed by it."
)
@click.option(
    "--state",
    "state_dir",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where the witness keeps the last checkpoint it cosigned of each log (created on first use).",
)
@click.option(
    "--proof",
    "proof_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The consistency proof from the last cosigned checkpoint (audit consistency). Default: ask the log at "
    "--audit.",
)
@click.option("--name", help="The witness's name in its cosignatures. Default: pml-policy-witness/ and its key's ID.")
@click.option(
    "--audit",
    "audit_url",
    envvar="PML_AUDIT_URL",
    metavar="URL",
    help="The log to ask for the consistency proof when --proof is not given. Env: PML_AUDIT_URL.",
)
@output_option
def witness(
    checkpoint_file: str,
    key_file: str,
    log_key: str,
    state_dir: str,
    proof_file: str | None,
    name: str | None,
    audit_url: str | None,
    output: str | None,
) -> None:
    """Cosign a checkpoint as a witness (C2SP tlog-cosignature) and print the cosigned note.

    The witness checks the log's signature, then that the checkpoint extends the last one it
    cosigned for that log (a consistency proof). It refuses a fork (another root for a size it
    saw, or a tree that does not extend it) or a rollback (a smaller tree) with one line and
    exit 1. It can run on another machine with only the checkpoints and proofs.

    \b
      pml-policy audit witness published.checkpoint --key w1.key --log-key audit.pub \\
        --state witness-state --proof proof.json -o cosigned.checkpoint
    """
    if proof_file is None and audit_url:
        with open_workspace(None, audit_url) as ws:
            done = proving.witness(checkpoint_file, key_file, log_key, state_dir, ws=ws, name=name)
    else:
        done = proving.witness(checkpoint_file, key_file, log_key, state_dir, proof_file=proof_file, name=name)
    if done.note is None:
        click.echo(done.message, err=True)
        sys.exit(done.exit_code)
    _emit(done.note, output, "cosigned checkpoint")
    click.echo(done.message, err=True)
