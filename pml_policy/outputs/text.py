"""Text for people: each subject, one line per rule (outcome, what was seen against what was required)."""
from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from pml_policy.engine.decision import Decision

from . import Options

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "bold magenta", "waived": "cyan"}
LABEL = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP", "error": "ERROR", "waived": "WAIVED"}


def render(decisions: list[Decision], options: Options) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color, highlight=False, width=200, soft_wrap=True)
    for d in decisions:
        model = f"{d.subject.model} v{d.subject.version}" if d.subject.version else (d.subject.model or "no model name")
        champion = f", champion {d.champion.reference}" if d.champion else ", no champion"
        console.print(f"[bold]{escape(d.subject.reference)}[/] ({escape(model)}{escape(champion)})")
        for p in d.policies:
            for r in p.rules:
                label = LABEL[r.outcome] if not (r.outcome == "fail" and r.enforce == "advisory") else "WARN"
                style = STYLE[r.outcome] if label != "WARN" else STYLE["warn"]
                console.print(f"  [{style}]{label:<6}[/] {escape(r.ref):<40} {r.enforce:<8} {escape(r.message)}")
        c = d.counts
        parts = [f"{c.passed} passed", f"{c.failed} failed", f"{c.errored} errors", f"{c.skipped} skipped"] + ([f"{c.waived} waived"] if c.waived else [])
        verdict = d.outcome.upper()
        console.print(f"  => [{STYLE[d.outcome]}]{verdict}[/] ({', '.join(parts)}; " + ", ".join(f"{escape(p.name)} {p.version}" for p in d.policies) + ")")
        for a in d.actions:
            what = f'set alias "{a.name}"' if a.kind == "set_alias" else f'set tag "{a.name}" = "{a.value}"'
            console.print(f"     planned: {escape(what)} [dim](not applied)[/]")
        if d.expired_waivers:
            console.print(f"     [yellow]expired waivers, not applied:[/] {escape(', '.join(d.expired_waivers))}")
        console.print()
    if len(decisions) > 1:
        tally = {o: sum(d.outcome == o for d in decisions) for o in ("pass", "warn", "fail")}
        console.print(f"{len(decisions)} subjects: {tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail")
    if options.audit_note:
        console.print(options.audit_note)
    return buffer.getvalue()
