"""Text for people: each subject, one line per rule (outcome, what was seen against what was required).

Lines are built as styled segments; rich renders them in colour at a terminal. Piped into a CI
log they are plain text, and rich is not even imported (it is a tenth of the cold start).
"""

from __future__ import annotations

import io

from pml_policy.base.escaping import one_line
from pml_policy.engine.decision import Decision

from . import Options, shown_outcome

STYLE = {
    "pass": "green",
    "warn": "yellow",
    "fail": "bold red",
    "skip": "dim",
    "error": "bold magenta",
    "waived": "cyan",
    "pending": "bold blue",
}
LABEL = {
    "pass": "PASS",
    "warn": "WARN",
    "fail": "FAIL",
    "skip": "SKIP",
    "error": "ERROR",
    "waived": "WAIVED",
    "pending": "PENDING",
}

Line = list[tuple[str, str | None]]  # (text, rich style or None)


def lines(decisions: list[Decision], options: Options) -> list[Line]:
    out: list[Line] = []
    for d in decisions:
        model = f"{d.subject.model} v{d.subject.version}" if d.subject.version else (d.subject.model or "no model name")
        champion = f", champion {d.champion.reference}" if d.champion else ", no champion"
        out.append([(d.subject.reference, "bold"), (f" ({model}{champion})", None)])
        for r in d.rules:
            label = shown_outcome(r)
            out.append(
                [("  ", None), (f"{LABEL[label]:<6}", STYLE[label]), (f" {r.ref:<40} {r.enforce:<8} {r.message}", None)]
            )
        c = d.counts
        parts = [f"{c.passed} passed", f"{c.failed} failed", f"{c.errored} errors", f"{c.skipped} skipped"]
        parts += [f"{c.waived} waived"] if c.waived else []
        parts += [f"{c.pending} pending"] if c.pending else []
        policies = ", ".join(f"{p.name} {p.version}" for p in d.policies)
        out.append(
            [("  => ", None), (d.outcome.upper(), STYLE[d.outcome]), (f" ({', '.join(parts)}; {policies})", None)]
        )
        for a in d.actions:
            out.append([(f"     planned: {a.text} ", None), ("(not applied)", "dim")])
        for a in d.withheld:
            out.append([("     withheld: ", "yellow"), (f"{a.text} (blocked by {a.blocked_by})", None)])
        if d.expired_waivers:
            out.append(
                [
                    ("     ", None),
                    ("expired waivers, not applied:", "yellow"),
                    (" " + ", ".join(map(str, d.expired_waivers)), None),
                ]
            )
        out.append([])
    if len(decisions) > 1:
        tally = {o: sum(d.outcome == o for d in decisions) for o in ("pass", "warn", "pending", "fail")}
        shown = ", ".join(f"{n} {o}" for o, n in tally.items() if n or o != "pending")
        out.append([(f"{len(decisions)} subjects: {shown}", None)])
    if options.audit_note:
        out.append([(options.audit_note, None)])
    return out


def render(decisions: list[Decision], options: Options) -> str:
    return styled(lines(decisions, options), options.color)


def styled(rendered: list[Line], color: bool) -> str:
    """The lines as plain text, or coloured by rich. Every segment is one line with no control
    characters whatever the evidence said, and no line starts with `::` (a GitHub Actions command)."""
    rendered = [[(one_line(text), style) for text, style in line] for line in rendered]
    rendered = [[(" ", None), *line] if line and line[0][0].startswith("::") else line for line in rendered]
    if not color:
        return "".join("".join(text for text, _ in line) + "\n" for line in rendered)
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=True, color_system="standard", highlight=False, width=200, soft_wrap=True
    )
    for line in rendered:
        console.print(Text.assemble(*[(text, style or "") for text, style in line]))
    return buffer.getvalue()
