"""Render a Report with Jinja2: templates/report.html.j2 and report.md.j2, or an organisation's own
(`--template-dir`: a folder with either file; what it lacks comes from ours).

Templates render in Jinja2's sandbox: a template can read the report, not the process (no
attributes such as `__class__`, no calls that change state). What the log holds (model names, rule
messages) is escaped for the format: HTML by autoescaping, Markdown by `finalize`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from pml_policy.base.errors import UsageError
from pml_policy.outputs.markdown import code as markdown_code
from pml_policy.outputs.markdown import text as markdown_text

from .charts import drift_over_time, failures_by_rule, outcomes_over_time
from .data import Report

FORMATS = ("html", "md", "json", "pdf")
_OURS = Path(__file__).parent / "templates"


class Cover(BaseModel):
    """Who the report is for and who signs it: from options, or a report config file."""

    model_config = ConfigDict(extra="forbid")
    organisation: str | None = None
    title: str = "Model governance report"
    sign_off: list[str] = Field(default_factory=lambda: ["Model risk officer", "Head of ML platform"])


def render(report: Report, fmt: str, template_dir: str | None = None, cover: Cover | None = None) -> str | bytes:
    """The report as text (html, md, json), or as a PDF's bytes: the HTML report laid out in
    pages (a cover, page numbers, a sign-off block) by WeasyPrint (the extra pml-policy[pdf])."""
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json", by_alias=True), indent=2) + "\n"
    html = _render_text(report, fmt, template_dir, cover or Cover())
    return _pdf(html) if fmt == "pdf" else html


def _render_text(report: Report, fmt: str, template_dir: str | None, cover: Cover) -> str:
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
    env.filters["when"] = readable_time
    env.filters["code"] = _code  # Markdown: evidence as a code span (HTML autoescapes; there it is the text)
    html = fmt in ("html", "pdf")
    name = f"report.{'html' if html else fmt}.j2"
    try:
        return env.get_template(name).render(
            r=report,
            cover=cover,
            pdf=fmt == "pdf",
            pct=lambda x: f"{x:.0%}",
            outcomes_chart=outcomes_over_time(report.days) if html else "",
            rules_chart=failures_by_rule(report.failing_rules) if html else "",
            drift_charts={m.model: drift_over_time(m.drift) for m in report.production} if html else {},
        )
    except TemplateError as exc:  # an organisation's template with a mistake: say where, not a traceback
        line = getattr(exc, "lineno", None)
        where = f"{getattr(exc, 'filename', None) or name}" + (f":{line}" if line else "")
        raise UsageError(
            f"report template {where}: {exc.message or exc}", "fix the template (Jinja2), or leave it out to use ours"
        ) from None


def readable_time(value: str | None) -> str:
    """A recorded UTC time as people read it: `2026-12-03 20:40 UTC` (no seconds, no microseconds)."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return _Verbatim(when.strftime("%Y-%m-%d %H:%M UTC"))


def ensure_renderer(fmt: str) -> None:
    """Fail before any work when the format cannot be rendered here (a PDF without WeasyPrint)."""
    if fmt == "pdf":
        _weasyprint()


def _pdf(html: str) -> bytes:
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcher

    # The report is self-contained (inline SVG): nothing is fetched while rendering, whatever a
    # custom template or a value from the log says (no file:, no http:).
    fetcher = URLFetcher(allowed_protocols=["data"])
    document: bytes = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    return document


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise UsageError(
            "PDF reports need WeasyPrint, which is not installed", "pip install 'pml-policy[pdf]'"
        ) from None
    except OSError as exc:  # WeasyPrint is there, the Pango library it draws text with is not
        raise UsageError(
            f"PDF reports need the Pango library: {exc}",
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 (or your system's equivalent)",
        ) from None
    return weasyprint


class _Verbatim(str):
    """Text of our own making that Markdown prints as it is: a code span the `code` filter made
    (its content is literal already), a time `when` wrote."""


def _code(value: Any) -> _Verbatim:
    return _Verbatim(markdown_code(str(value)))


def _markdown(value: Any) -> Any:
    """Every value a Markdown template prints, as Markdown text (one line, markup escaped); a code
    span from the `code` filter as it is."""
    if isinstance(value, _Verbatim):
        return str(value)
    return markdown_text(value) if isinstance(value, str) else value
