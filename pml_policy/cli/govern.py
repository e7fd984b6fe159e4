"""`pml-policy govern MODEL`: decide every candidate version of a registered model in one pass,
and with --apply make the registry say so."""

from __future__ import annotations

import sys
from collections import Counter

import click

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import EXIT_EVIDENCE, EvidenceError, UsageError
from pml_policy.base.escaping import one_line
from pml_policy.usecases.governing import Governed, ModelGoverned, govern_models

from .attest import attest_decisions, attest_dir_option
from .changes import render_changes
from .options import (
    audit_option,
    data_option,
    engine_option,
    open_workspace,
    origin_option,
    policies_option,
    registry_options,
    signing_option,
)

GOVERN_EXIT_CODES = """\b
Exit codes:
  0  decided (and with --apply, every planned change made), whatever the candidates' outcomes
  2  bad usage, an invalid policy, no policy applies, a policy version recorded with other text
  3  the registry or the audit log could not be read or written; a change failed"""


@click.command(name="govern", epilog=GOVERN_EXIT_CODES)
@click.argument("models", nargs=-1, metavar="MODEL...")
@click.option(
    "--all",
    "every_model",
    is_flag=True,
    help="Every registered model on MLflow that a policy applies to (read in a few paged listings).",
)
@policies_option
@click.option(
    "--candidates",
    default="all",
    show_default=True,
    metavar="WHICH",
    help="Which versions to decide: all; new (none of the tags the policies set yet); an ALIAS (its version); or "
    "tag:KEY=VALUE.",
)
@data_option
@engine_option
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Make the planned changes in the registry (default: print the plan and change nothing).",
)
@registry_options
@audit_option
@signing_option
@attest_dir_option
@origin_option
def govern_command(
    models: tuple[str, ...],
    every_model: bool,
    policy_paths: tuple[str, ...],
    candidates: str,
    data_file: str | None,
    engine: str,
    do_apply: bool,
    audit_url: str,
    signing_key: str | None,
    attest_dir: str | None,
    origin: str | None,
    adapters: AdapterConfig,
) -> None:
    """Decide every candidate version of each registered MODEL (or of every model, with --all) in
    one pass per model; plan, and with --apply make, the registry changes the policies' `on pass` /
    `on fail` name. MODEL is a registered model on MLflow, or sagemaker:GROUP for a SageMaker model
    package group (pml-policy[sagemaker]), whose champion is its newest Approved version. With
    several models, one that cannot be read is reported and the others go on; a summary ends it.

    Each version gets the tags of its decision. An alias (e.g. "champion") goes to one version:
    the best passing one by the policy's `rank by` (ties to the newer version), never to a version
    whose decision failed. Changes already in effect are left alone, so a second run changes
    nothing; a run cut short is finished by running it again. Every decision and every change
    made is recorded in the audit log.

    \b
    Examples:
      pml-policy govern credit-scorer -p policies/ --tracking-uri http://mlflow:5000
      pml-policy govern credit-scorer --candidates challenger --apply
      pml-policy govern credit-scorer --candidates new --apply     # versions not governed yet
      pml-policy govern sagemaker:credit-scorer --apply            # approves the best passing package
      pml-policy govern --all --candidates new --apply              # every model's new versions
    """
    if every_model == bool(models):
        raise UsageError("name the models to govern, or pass --all (not both)", "pml-policy govern MODEL... | --all")
    if attest_dir and not signing_key:
        raise UsageError("--attest-dir signs attestations: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    attested = ""
    with open_workspace(
        policy_paths, audit_url, signing_key=signing_key, adapters=adapters, data_file=data_file, engine=engine
    ) as ws:
        run = govern_models(ws, list(models), candidates=candidates, apply=do_apply)
        if attest_dir:
            seqs = [s for m in run.models if m.governed and m.governed.recorded for s in m.governed.recorded.seqs]
            attested = attest_decisions(ws, seqs, attest_dir, origin)
    for m in run.models:
        if m.error is not None:
            click.echo(one_line(f'error: model "{m.target}": {m.error.message}'), err=True)
        elif m.governed is not None:
            click.echo(_report(m.governed, candidates, do_apply), nl=False)
    if len(run.models) > 1:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(Counter(_what(m, do_apply) for m in run.models).items()))
        click.echo(f"{len(run.models)} models: {counts}")
    if attested:
        click.echo(attested, err=True)
    if run.exit_code == EXIT_EVIDENCE:
        click.echo(
            "error: a model could not be read or a registry change failed; the audit log records what was made. "
            "Run govern --apply again to finish.",
            err=True,
        )
    sys.exit(run.exit_code)


def _what(m: ModelGoverned, applied: bool) -> str:
    """What happened to one model, for the summary."""
    if m.error is not None:
        return "error" if isinstance(m.error, EvidenceError) else "no policy"
    assert m.governed is not None
    if not m.governed.subjects:
        return "nothing to decide"
    if m.governed.failed:
        return "failed"
    return "governed" if applied else "planned"


def _report(result: Governed, candidates: str, applied: bool) -> str:
    """One model's pass: each candidate's decision, where it was recorded, and the registry changes."""
    model = result.model
    if not result.subjects or result.recorded is None:
        return one_line(f'model "{model}": no version matches --candidates {candidates}; nothing to decide') + "\n"
    seqs = result.recorded.seqs
    champion = result.champion
    who = f"champion version {champion.model.version}" if champion else "no champion yet"
    count = len(result.subjects)
    lines = [f'model "{model}": {count} candidate version{"s" if count != 1 else ""}, {who}']
    for s, d, c, seq in zip(result.subjects, result.decisions, result.champions, seqs):
        blocking = [r.ref for r in d.rules if r.blocking][:3]
        why = f"  blocked by {', '.join(blocking)}" if blocking else ""
        against = f" vs v{c.model.version}" if c is not None and c is not champion else ""
        lines.append(
            f"  version {s.model.version:<5} {d.outcome.upper():<5} {d.counts.passed} passed, {d.counts.failed} "
            "failed, "
            f"{d.counts.errored} errors{against}   #{seq}{why}"
        )
    what = "as a plan (not gating decisions: pass --apply to decide) " if result.decisions[0].kind == "plan" else ""
    lines.append(
        f"recorded in the audit log {what}as #{seqs[0]}..#{seqs[-1]}; `pml-policy audit show #SEQ` explains one"
    )
    # Names come from the registry: each line made safe, so none can forge another (=> PASS, ::error).
    return "".join(one_line(line) + "\n" for line in lines) + render_changes(result.changes, applied)
