"""`pml-policy govern MODEL`: decide every candidate version of a registered model in one pass,
and with --apply make the registry say so. Also the `--apply` of `check`."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import click

from .errors import EXIT_EVIDENCE, UsageError
from .govern import Change, Registry, apply, plan, summary
from .options import audit_option, policies_option, policy_paths_or_default, registry_options

GOVERN_EXIT_CODES = """\b
Exit codes:
  0  decided (and with --apply, every planned change made), whatever the candidates' outcomes
  2  bad usage, an invalid policy, no policy applies, a policy version recorded with other text
  3  the registry or the audit log could not be read or written; a change failed"""

_MARK = {"planned": "PLAN", "unchanged": "SAME", "withheld": "HOLD", "outranked": "----", "applied": "DONE", "failed": "FAIL"}


def render_changes(changes: list[Change], applying: bool) -> str:
    if not changes:
        return "registry: no changes\n"
    lines = [f"registry changes{'' if applying else ' (plan only: pass --apply to make them)'}:"]
    for c in changes:
        detail = f"  ({c.detail})" if c.detail else ""
        lines.append(f"  {_MARK[c.state]}  {c.state:<9}  {c.describe()}{detail}")
    lines.append(f"  => {summary(changes)}")
    return "\n".join(lines) + "\n"


def rank_with(policies: Any, data: dict[str, Any]) -> Any:
    """The ranking govern uses: `rank by` of the policy that sets the alias, best first."""
    from .engine.rank import order, ranker

    rankers: dict[str, Any] = {}

    def rank(policy_name: str, contenders: list[tuple[Any, Any]]) -> list[Any]:
        policy = policies.get(policy_name)
        if policy_name not in rankers:
            rankers[policy_name] = ranker(policy, data)
        value = rankers[policy_name]
        descending = policy.rank is None or policy.rank.order == "desc"
        return order([(s, value(s)) for s, _ in contenders], descending)

    return rank


def apply_recorded(changes: list[Change], adapter: Any, audit_url: str) -> list[Change]:
    """Apply the planned changes, recording each in the audit log as it happens."""
    from .audit import AuditStore

    store = AuditStore(audit_url)
    try:
        return apply(changes, adapter, lambda c: store.record_change(c.decision_id, c.policy, c.kind, c.name, c.value, c.state, c.detail))
    finally:
        store.close()


def check_apply(run: Any, audit_url: str) -> tuple[str, bool]:
    """`check --apply`: each subject's own actions, through the adapter it was read with.
    Returns the report and whether every change was made."""
    out = []
    for decision, subject, adapter in zip(run.decisions, run.subjects, run.adapters):
        registry: Registry = adapter.registry(subject.model.name, [subject.model.version])
        changes = plan([(subject, decision)], registry, _alone)
        apply_recorded(changes, adapter, audit_url)
        out.append(f"{subject.reference}: " + render_changes(changes, applying=True))
        if any(c.state == "failed" for c in changes):
            return "".join(out), False  # stop: the registry is not answering
    return "".join(out), True


def _alone(_policy: str, contenders: list[tuple[Any, Any]]) -> list[Any]:
    return [s for s, _ in contenders]  # one candidate: nothing to rank


def require_registry(refs: list[str]) -> None:
    """--apply needs references a registry stands behind (a folder has none)."""
    from .adapters import adapter_for

    for ref in refs:
        if not hasattr(adapter_for(ref), "set_alias"):
            raise UsageError(f"--apply: {ref} is not in a model registry, so there is nothing to apply to", "use --apply with models:/… references (MLflow)")


@click.command(epilog=GOVERN_EXIT_CODES)
@click.argument("model")
@policies_option
@click.option("--candidates", default="all", show_default=True, metavar="WHICH",
              help="Which versions to decide: all; new (none of the tags the policies set yet); an ALIAS (its version); or tag:KEY=VALUE.")
@click.option("--data", "data_file", type=click.Path(dir_okay=False), envvar="PML_DATA", help="YAML or JSON context data, read as `data.…`. Env: PML_DATA.")
@click.option("--apply", "do_apply", is_flag=True, help="Make the planned changes in the registry (default: print the plan and change nothing).")
@registry_options
@audit_option
def govern(model: str, policy_paths: tuple[str, ...], candidates: str, data_file: str | None, do_apply: bool, audit_url: str) -> None:
    """Decide every candidate version of registered MODEL in one pass; plan, and with --apply make,
    the registry changes the policies' `on pass` / `on fail` name.

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
    """
    from .adapters.mlflow import MlflowAdapter
    from .check import load_data, record
    from .engine import load

    policies = load(policy_paths_or_default(policy_paths))
    adapter = MlflowAdapter()
    result = decide(model, policies, adapter, candidates, load_data(data_file))
    if not result.subjects:
        click.echo(f'model "{model}": no version matches --candidates {candidates}; nothing to decide')
        return
    recorded = record(result, audit_url)  # before anything is reported or applied
    click.echo(_report(model, result, [seq for _, seq, _ in recorded.records]))
    if do_apply:
        apply_recorded(result.changes, adapter, audit_url)
    click.echo(render_changes(result.changes, do_apply), nl=False)
    if any(c.state == "failed" for c in result.changes):
        click.echo("error: a registry change failed; the audit log records what was made. Run govern --apply again to finish.", err=True)
        sys.exit(EXIT_EVIDENCE)


@dataclass
class Governed:
    """One govern pass: each candidate with its decision and the champion it was judged against."""

    subjects: list[Any]
    decisions: list[Any]
    champions: list[Any | None]
    changes: list[Change]
    champion: Any | None  # the alias holder before this pass


def decide(model: str, policies: Any, adapter: Any, candidates: str = "all", data: dict[str, Any] | None = None) -> Governed:
    """Read the candidates in batches, decide each, and plan the registry changes."""
    from .engine import backend
    from .engine.checker import reads_artifacts

    data = data or {}
    tag_keys = frozenset(a.key for p in policies.policies for a in (*p.on_pass, *p.on_fail) if a.action == "set_tag")
    artifacts = any(p.tree is None or reads_artifacts(p.tree) for p in policies.applicable(model))
    subjects, registry = adapter.fetch_versions(model, candidates, tag_keys, artifacts)
    champion = _champion(adapter, model, registry, subjects)
    evaluator = backend("python")
    champions = [champion] * len(subjects)
    decisions = [evaluator.evaluate(policies, s, champion, data) for s in subjects]
    changes = plan(list(zip(subjects, decisions)), registry, rank_with(policies, data))
    # Judge the others against the champion this pass leaves in place, not the one it replaces:
    # otherwise a second pass, seeing the new champion, would decide (and tag) them differently.
    promoted = next((c.version for c in changes if c.kind == "set_alias" and c.name == adapter.champion_alias and c.state == "planned"), None)
    if promoted is not None:
        winner = next(s for s in subjects if s.model.version == promoted)
        champions = [champion if s is winner else winner for s in subjects]
        decisions = [d if s is winner else evaluator.evaluate(policies, s, winner, data) for s, d in zip(subjects, decisions)]
        changes = plan(list(zip(subjects, decisions)), registry, rank_with(policies, data))
    return Governed(subjects, decisions, champions, changes, champion)


def _champion(adapter: Any, model: str, registry: Registry, subjects: list[Any]) -> Any | None:
    holder = registry.aliases.get(adapter.champion_alias)
    if holder is None:
        return None
    for s in subjects:  # usually among the candidates: no second read
        if s.model.version == holder:
            return s
    return adapter.fetch(f"models:/{model}/{holder}")


def _report(model: str, result: Governed, seqs: list[int]) -> str:
    champion = result.champion
    who = f"champion version {champion.model.version}" if champion else "no champion yet"
    count = len(result.subjects)
    lines = [f'model "{model}": {count} candidate version{"s" if count != 1 else ""}, {who}']
    for s, d, c, seq in zip(result.subjects, result.decisions, result.champions, seqs):
        blocking = [r.ref for r in d.rules if r.blocking][:3]
        why = f"  blocked by {', '.join(blocking)}" if blocking else ""
        against = f" vs v{c.model.version}" if c is not None and c is not champion else ""
        lines.append(f"  version {s.model.version:<5} {d.outcome.upper():<5} {d.counts.passed} passed, {d.counts.failed} failed, {d.counts.errored} errors{against}   #{seq}{why}")
    lines.append(f"recorded in the audit log as #{seqs[0]}..#{seqs[-1]}; `pml-policy audit show #SEQ` explains one")
    return "\n".join(lines)
