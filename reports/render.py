"""Render a Report with Jinja2: templates/report.html.j2 and report.md.j2, or an organisation's own
(`--template-dir`: a folder with either file; what it lacks comes from ours).

Templates render in Jinja2's sandbox: a template can read the report, not the process (no
attributes such as `__class__`, no calls that change state). What the log holds (model names, rule
messages) is escaped for the format: HTML by autoescaping, Markdown by `finalize`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from pml_policy.errors import UsageError
from pml_policy.outputs.markdown import text as markdown_text

from .charts import drift_over_time, failures_by_rule, outcomes_over_time
from .data import Report

FORMATS = ("html", "md", "json")
_OURS = Path(__file__).parent / "templates"


def render(report: Report, fmt: str, template_dir: str | None = None) -> str:
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json", by_alias=True), indent=2) + "\n"
    if template_dir and not Path(template_dir).is_dir():
        raise UsageError(
            f"--template-dir {template_dir}: no such folder",
            "give a folder holding report.html.j2 and/or report.md.j2, or leave it out to use ours",
        )
    loaders = [FileSystemLoader(template_dir)] if template_dir else []
    env = SandboxedEnvironment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(_OURS))]),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,  # a typo in a template is an error, not an empty cell
        keep_trailing_newline=True,
        finalize=_markdown if fmt == "md" else None,
    )
    name = f"report.{fmt}.j2"
    try:
        return env.get_template(name).render(
            r=report,
            pct=lambda x: f"{x:.0%}",
            outcomes_chart=outcomes_over_time(report.days) if fmt == "html" else "",
            rules_chart=failures_by_rule(report.failing_rules) if fmt == "html" else "",
            drift_charts={m.model: drift_over_time(m.drift) for m in report.production} if fmt == "html" else {},
        )
    except TemplateError as exc:  # an organisation's template with a mistake: say where, not a traceback
        line = getattr(exc, "lineno", None)
        where = f"{getattr(exc, 'filename', None) or name}" + (f":{line}" if line else "")
        raise UsageError(
            f"report template {where}: {exc.message or exc}", "fix the template (Jinja2), or leave it out to use ours"
        ) from None


def _markdown(value: Any) -> Any:
    """Every value a Markdown template prints, as Markdown text (one line, HTML and pipes escaped)."""
    return markdown_text(value) if isinstance(value, str) else value
