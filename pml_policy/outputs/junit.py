"""JUnit XML, as the Jenkins/Ant schema (junit-10.xsd) has it: a suite per subject, a test case per
policy rule, identified by (subject, policy, rule): classname `SUBJECT.POLICY`, name the rule id.

A blocking fail is a <failure>, a blocking error an <error>, an approval awaited a <failure> of type
pending (it blocks the gate), a skip <skipped>; an advisory failure or a waived one passes (it does
not fail the gate) and says so in <system-out>. A suite's `time` is its subject's evaluation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pml_policy.base.escaping import lines_of
from pml_policy.engine.decision import Decision

from . import Options


def _safe(element: ET.Element) -> ET.Element:
    """Attributes and text without control characters but with their line breaks: XML 1.0 has no
    escape for most control characters (a CI server refuses the whole report), and evidence may hold any."""
    for key, value in element.attrib.items():
        element.set(key, lines_of(value))
    if element.text:
        element.text = lines_of(element.text)
    return element


def render(decisions: list[Decision], options: Options) -> str:
    root = ET.Element("testsuites", name="pml-policy")
    for i, d in enumerate(decisions):
        suite = ET.SubElement(root, "testsuite", name=d.subject.reference, timestamp=d.time.isoformat())
        if i < len(options.seconds):
            suite.set("time", seconds(options.seconds[i]))
        for p in d.policies:
            for r in p.rules:
                case = ET.SubElement(suite, "testcase", classname=f"{d.subject.reference}.{p.name}", name=r.rule)
                body = f"{r.title}\n" if r.title else ""
                body += f"policy: {p.name} {p.version} ({p.source}, line {r.line or 1})\nrequired: {r.required}"
                if r.outcome == "skip":
                    ET.SubElement(case, "skipped", message=r.message)
                elif r.blocking and r.outcome == "fail":
                    ET.SubElement(case, "failure", message=r.message, type=f"{r.enforce}").text = body
                elif r.blocking:
                    ET.SubElement(case, "error", message=r.message, type="evidence").text = body
                elif r.outcome == "pending" and r.enforce != "advisory":
                    ET.SubElement(case, "failure", message=r.message, type="pending").text = body
                elif r.outcome != "pass":
                    ET.SubElement(case, "system-out").text = f"{r.outcome} ({r.enforce}): {r.message}\n{body}"
    return document(root)


def seconds(value: float) -> str:
    """A duration as the schema's SUREFIRE_TIME: seconds with at most three decimals."""
    return f"{value:.3f}"


COUNTS = {
    "tests": "testcase",
    "failures": "testcase/failure",
    "errors": "testcase/error",
    "skipped": "testcase/skipped",
}


def document(root: ET.Element) -> str:
    """The XML of a <testsuites> tree, each suite and the whole counted from the cases it holds
    (the schema has no `skipped` on <testsuites>), the whole's time the sum of its suites'."""
    totals = dict.fromkeys(COUNTS, 0)
    for suite in root.iter("testsuite"):
        for key, path in COUNTS.items():
            count = len(suite.findall(path))
            suite.set(key, str(count))
            totals[key] += count
    for key, total in totals.items():
        if key != "skipped":
            root.set(key, str(total))
    times = [float(suite.get("time", "0")) for suite in root.iter("testsuite")]
    if any("time" in suite.attrib for suite in root.iter("testsuite")):
        root.set("time", seconds(sum(times)))
    for element in root.iter():
        _safe(element)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
