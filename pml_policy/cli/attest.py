"""`pml-policy attest` and `pml-policy verify-attestation`: a decision a deploy step verifies offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pml_policy.base.errors import UsageError
from pml_policy.base.files import write_atomic
from pml_policy.usecases.workspace import Workspace

from .options import audit_option, open_workspace, origin_option, signing_option, witness_option

attest_dir_option = click.option(
    "--attest-dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write a signed attestation of each decision recorded into DIR (as `pml-policy attest` does); needs "
    "--signing-key.",
)


def attest_decisions(ws: Workspace, seqs: list[int], out_dir: str, origin: str | None = None) -> str:
    """Attest the decisions among the records just made; the line that says where."""
    from pml_policy.usecases import attesting  # only when asked for

    try:
        written = attesting.attest_all(ws, seqs, out_dir, origin=origin)
    except UsageError as exc:  # the decisions are in the log already (and their changes made): say so
        raise UsageError(f"{exc.message}; the decisions were recorded, not attested", exc.hint) from None
    return f"{len(written)} attestation(s) written to {out_dir}" if written else "no decision to attest (plans only)"


model_option = click.option(
    "--model",
    "model_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="The folder of model files (the subjects). Default: the evidence folder's model/ for local evidence, "
    "the artifacts the decision recorded with their digests for a registry reference.",
)


@click.command()
@click.argument("ref", metavar="DECISION")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="The attestation file to write.")
@model_option
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Prove the record against this published (or witnessed) checkpoint. Default: a new checkpoint of the "
    "log as it is now.",
)
@audit_option
@signing_option
@origin_option
def attest(
    ref: str,
    output: str,
    model_dir: str | None,
    checkpoint_file: str | None,
    audit_url: str,
    signing_key: str | None,
    origin: str | None,
) -> None:
    """Write a signed attestation of a recorded decision (decision id, id prefix or #SEQ).

    A DSSE envelope (payload type application/vnd.in-toto+json) holding an in-toto Statement v1
    with the SLSA Verification Summary predicate: the subjects are the model's files (sha256),
    the verdict PASSED or FAILED, the policy set (names, versions, digests), and in its `pml`
    field the record itself, its inclusion proof and the signed checkpoint. Signed with the audit
    signing key; appends nothing to the log. `pml-policy verify-attestation` checks it offline.

    \b
      pml-policy attest 2cee3ef7 --model build/model -o credit.intoto.json
    """
    from pml_policy.usecases import attesting

    with open_workspace(None, audit_url, signing_key=signing_key) as ws:
        envelope = attesting.attest(ws, ref, model_dir=model_dir, checkpoint_file=checkpoint_file, origin=origin)
    write_atomic(Path(output), json.dumps(envelope, indent=2) + "\n")
    click.echo(f"attestation written to {output}", err=True)


@click.command(name="verify-attestation")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--public-key", required=True, metavar="FILE", help="The log's public key (audit keygen's .pub), which signed it."
)
@model_option
@click.option("--policy", metavar="NAME[@VERSION]", help="The decision must have been made under this policy.")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A checkpoint you trust (e.g. the witnessed one): it must be the one the attestation's proof holds against.",
)
@witness_option
def verify_attestation(
    file: str,
    public_key: str,
    model_dir: str | None,
    policy: str | None,
    checkpoint_file: str | None,
    witnesses: tuple[str, ...],
) -> None:
    """Check an attestation offline: its signature, that the model files hash to its subjects, that
    the result is PASSED, the policy, and that the record's inclusion proof holds against the
    signed checkpoint (cosigned by --witness). No database, no network: for a deploy job, an init
    container or an admission controller. Exit 0 with one line, or 1 with what failed.

    \b
      pml-policy verify-attestation credit.intoto.json --public-key audit.pub --model /models/credit \\
        --policy promotion-gate --checkpoint witnessed.checkpoint --witness w1.pub
    """
    from pml_policy.usecases import attesting

    checked = attesting.verify_attestation(
        file, public_key, model_dir=model_dir, policy=policy, checkpoint_file=checkpoint_file, witnesses=witnesses
    )
    click.echo(checked.line, err=not checked.ok)
    sys.exit(checked.exit_code)
