"""The scenarios' results for people (text, by feature) and for CI servers (JUnit XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from pml_policy.outputs.junit import document, seconds
from pml_policy.outputs.text import Line, styled

from .runner import RunResult, ScenarioResult

MARK = {"passed": "✔", "failed": "✘", "error": "!", "skipped": "-"}
STYLE = {"passed": "green", "failed": "bold red", "error": "bold magenta", "skipped": "dim"}


def _detail(s: ScenarioResult) -> list[str]:
    if s.outcome == "passed":
        return []
    if s.outcome == "skipped":
        return [f"      skipped: {s.message}"]
    out = [f"      {s.step}    ({s.where})"] if s.step else []
    out += [f"      {line}" for line in s.message.splitlines()]
    if s.suggestions:
        out.append("      the closest defined steps:")
        out += [f"        {x}" for x in s.suggestions]
    return out


def text(result: RunResult, color: bool = False) -> str:
    """Each feature, each scenario with its mark, then what went wrong and where."""
    lines: list[Line] = []
    for (file, feature), scenarios in groupby(result.scenarios, key=lambda s: (s.file, s.feature)):
        lines.append([(f"Feature: {feature}", "bold"), (f"  ({file})", None)])
        for s in scenarios:
            lines.append([(f"  {MARK[s.outcome]} {s.name}", STYLE[s.outcome])])
            lines.extend([(line, None)] for line in _detail(s))
        lines.append([])
    lines.append([(summary(result), None)])
    return styled(lines, color)


def summary(result: RunResult) -> str:
    counts = {o: sum(s.outcome == o for s in result.scenarios) for o in MARK}
    parts = [f"{counts['passed']} passed", f"{counts['failed']} failed", f"{counts['error']} in error"] + (
        [f"{counts['skipped']} skipped"] if counts["skipped"] else []
    )
    n = len(result.scenarios)
    return f"{n} scenario{'s' if n != 1 else ''}: {', '.join(parts)}"


def junit(result: RunResult) -> str:
    """A suite per feature, a test case per scenario (classname the feature's file and name: one
    identity per scenario); a failed scenario's <failure> carries the message, its body every line."""
    root = ET.Element("testsuites", name="pml-policy scenarios")
    for (file, feature), scenarios in groupby(result.scenarios, key=lambda s: (s.file, s.feature)):
        suite = ET.SubElement(root, "testsuite", name=feature, file=file)
        cases = list(scenarios)
        suite.set("time", seconds(sum(s.seconds for s in cases)))
        for s in cases:
            case = ET.SubElement(suite, "testcase", classname=f"{file}.{feature}", name=s.name, time=seconds(s.seconds))
            body = "\n".join([f"{file}:{s.line}", *(line.strip() for line in _detail(s))])
            if s.outcome in ("failed", "error"):
                tag = "failure" if s.outcome == "failed" else "error"
                ET.SubElement(case, tag, message=(s.message.splitlines() or [s.outcome])[0]).text = body
            elif s.outcome == "skipped":
                ET.SubElement(case, "skipped", message=s.message)
    return document(root)
