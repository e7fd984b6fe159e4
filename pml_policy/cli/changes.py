"""Registry changes as `govern` and `check --apply` print them."""

from __future__ import annotations

from pml_policy.base.escaping import one_line
from pml_policy.usecases.plan import Change, summary

_MARK = {
    "planned": "PLAN",
    "unchanged": "SAME",
    "withheld": "HOLD",
    "outranked": "----",
    "applied": "DONE",
    "failed": "FAIL",
}


def render_changes(changes: list[Change], applying: bool) -> str:
    if not changes:
        return "registry: no changes\n"
    lines = [f"registry changes{'' if applying else ' (plan only: pass --apply to make them)'}:"]
    for c in changes:
        detail = f"  ({c.detail})" if c.detail else ""
        lines.append(one_line(f"  {_MARK[c.state]}  {c.state:<9}  {c.describe()}{detail}"))  # names from registries
    lines.append(f"  => {summary(changes)}")
    return "\n".join(lines) + "\n"
