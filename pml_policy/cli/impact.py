"""`pml-policy impact`: what a policy change would decide differently, before it merges."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from pml_policy.base import config
from pml_policy.base.dates import parse_when
from pml_policy.base.escaping import one_line
from pml_policy.engine import load
from pml_policy.outputs.documents import impact_row
from pml_policy.outputs.markdown import text as markdown_text
from pml_policy.usecases.impact import Impact, impact
from pml_policy.usecases.replaying import RuleChange

if TYPE_CHECKING:
    from pml_policy.analysis.semantic import SemanticDiff

from .options import FormatChoice, audit_option, data_option, open_workspace, policies_option

EXIT_CODES = """\b
Exit codes:
  0  replayed (with --fail-on-change: and no outcome would change)
  1  with --fail-on-change: some version's outcome would change
  2  bad usage, or a policy is invalid
  3  the audit log cannot be read"""


@click.command(name="impact", epilog=EXIT_CODES)
@policies_option
@click.option(
    "--current",
    "current_paths",
    multiple=True,
    type=click.Path(exists=True),
    metavar="PATH",
    help="Compare with these policies (e.g. the main branch's, checked out aside) on the same evidence, "
    "instead of with what was recorded; repeatable. With pml-policy[analyze], the semantic diff of the two "
    "sets (every subject, not only those recorded) is printed beside the replay.",
)
@click.option(
    "--since",
    metavar="WHEN",
    default="90d",
    show_default=True,
    help="Replay the decisions made since this date, time or span back from now (90d, 12h, 2w).",
)
@click.option("--model", metavar="NAME", help="Only this registered model's versions.")
@click.option(
    "--format", "fmt", type=FormatChoice(["text", "md", "json"]), default="text", show_default=True, help="Output."
)
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when some version's outcome would change (a gate).")
@data_option
@audit_option
def impact_command(
    policy_paths: tuple[str, ...],
    current_paths: tuple[str, ...],
    since: str,
    model: str | None,
    fmt: str,
    fail_on_change: bool,
    data_file: str | None,
    audit_url: str,
) -> None:
    """Show what the proposed policies (-p, default ./policies) would decide differently from the
    decisions recorded in the audit log: the latest decision on every model version since --since,
    re-evaluated on its recorded evidence at its recorded time. Per version: the outcome before and
    after and the rules that would decide otherwise; then the totals.

    \b
    Examples:
      pml-policy impact                                     # ./policies against what was recorded
      pml-policy impact -p policies --current /tmp/main/policies --format md >> "$GITHUB_STEP_SUMMARY"
      pml-policy impact --model credit-scorer --since 30d --fail-on-change
    """
    when = parse_when(since, "--since")
    with open_workspace(policy_paths, audit_url, data_file=data_file) as ws:
        current = load(list(current_paths)) if current_paths else None
        result = impact(ws, current, when, model, fail_on_change)
        semantic = _semantic(list(current_paths), config.policy_paths(policy_paths)) if current_paths else None
    click.echo({"text": _text, "md": _markdown, "json": _json}[fmt](result, semantic), nl=False)
    sys.exit(result.exit_code)


def _semantic(current: list[str], proposed: list[str]) -> SemanticDiff | str:
    """Beside the replay, which reaches only the evidence recorded: the semantic diff, which
    reaches every subject (or why it did not run)."""
    from pml_policy.base.errors import UsageError
    from pml_policy.usecases.analyzing import semantic_diff

    try:
        return semantic_diff(current, proposed, None, None, 2.0, 60.0)
    except UsageError as exc:
        return f"semantic diff not run: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")


def _rule_line(change: RuleChange) -> str:
    old, new = change.before, change.after
    if old is None and new is not None:
        return f"{change.rule}: new rule, {new.outcome} ({new.message})"
    if new is None and old is not None:
        return f"{change.rule}: removed (was {old.outcome})"
    assert old is not None and new is not None
    return f"{change.rule}: {old.outcome} -> {new.outcome} ({new.message})"


def _header(result: Impact) -> str:
    since = f" since {result.since:%Y-%m-%d %H:%M}" if result.since else ""
    scope = f" of {result.model}" if result.model else ""
    against = "the recorded decisions" if result.baseline == "recorded" else "the current policies"
    return f"impact of {', '.join(result.proposed)} against {against}{scope}{since}"


def _text(result: Impact, semantic: SemanticDiff | str | None = None) -> str:
    lines = [_header(result), ""]
    for version in result.changed:
        lines.append(f"{version.subject}: {version.before} -> {version.after}  (decision {version.decision[:8]})")
        lines.extend(f"  {_rule_line(c)}" for c in version.rules)
    if result.changed:
        lines.append("")
    lines.append(result.summary())
    text = "".join(one_line(line) + "\n" for line in lines)  # names and messages come from evidence
    return text + ("\n" + _semantic_text(semantic) if semantic is not None else "")


def _semantic_text(semantic: SemanticDiff | str) -> str:
    if isinstance(semantic, str):
        return one_line(semantic) + "\n"
    from pml_policy.analysis.output import diff_text

    return diff_text(semantic)


def _markdown(result: Impact, semantic: SemanticDiff | str | None = None) -> str:
    # Names and messages come from evidence: as Markdown text (one line, HTML shown as text, pipes
    # escaped), the way every Markdown output of the project writes them.
    lines = [f"### Policy impact\n\n{markdown_text(_header(result))}\n\n**{markdown_text(result.summary())}**\n"]
    if result.changed:
        lines.append("| version | recorded | proposed | rules that would decide otherwise |")
        lines.append("|---|---|---|---|")
        for version in result.changed:
            rules = "<br>".join(markdown_text(_rule_line(c)) for c in version.rules) or "(none)"
            lines.append(f"| {markdown_text(version.subject)} | {version.before} | **{version.after}** | {rules} |")
    if semantic is not None:
        lines.append("\n#### Semantic diff (every subject, not only those recorded)\n")
        lines += [f"- {markdown_text(line.strip())}" for line in _semantic_text(semantic).splitlines()[1:]]
    return "\n".join(lines) + "\n"


def _json(result: Impact, semantic: SemanticDiff | str | None = None) -> str:
    body: dict[str, Any] = {
        "proposed": result.proposed,
        "baseline": result.baseline,
        "since": result.since.isoformat() if result.since else None,
        "model": result.model,
        "replayed": result.replayed,
        "outcome_changes": len(result.outcome_changes),
        "summary": result.summary(),
        "changed": [
            impact_row(v.subject, v.decision, v.time.isoformat(), v.before, v.after, v.rules) for v in result.changed
        ],
    }
    if semantic is not None:
        body["semantic"] = semantic if isinstance(semantic, str) else semantic.model_dump(mode="json", by_alias=True)
    return json.dumps(body, indent=2) + "\n"
