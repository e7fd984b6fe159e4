"""JUnit XML: a suite per subject and policy, a test case per rule.

A blocking fail is a <failure>, a blocking error an <error>, an approval awaited a <failure> of type
pending (it blocks the gate), a skip <skipped>; an advisory failure or a waived one passes (it does
not fail the gate) and says so in <system-out>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pml_policy.base.escaping import one_line
from pml_policy.engine.decision import Decision

from . import Options


def _safe(element: ET.Element) -> ET.Element:
    """Attributes and text on one line without control characters: XML 1.0 has no escape for
    most of them (a CI server refuses the whole report), and evidence may hold any."""
    for key, value in element.attrib.items():
        element.set(key, one_line(value))
    if element.text:
        element.text = one_line(element.text)
    return element


def render(decisions: list[Decision], options: Options) -> str:
    root = ET.Element("testsuites", name="pml-policy")
    for d in decisions:
        for p in d.policies:
            suite = ET.SubElement(
                root, "testsuite", name=f"{d.subject.reference} :: {p.name} {p.version}", timestamp=d.time.isoformat()
            )
            for r in p.rules:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"{p.name}",
                    name=f"{r.rule}" + (f" - {r.title}" if r.title else ""),
                    file=p.source,
                )
                if r.outcome == "skip":
                    ET.SubElement(case, "skipped", message=r.message)
                elif r.blocking and r.outcome == "fail":
                    ET.SubElement(
                        case, "failure", message=r.message, type=f"{r.enforce}"
                    ).text = f"required: {r.required}"
                elif r.blocking:
                    ET.SubElement(case, "error", message=r.message, type="evidence").text = f"required: {r.required}"
                elif r.outcome == "pending" and r.enforce != "advisory":
                    ET.SubElement(case, "failure", message=r.message, type="pending").text = f"required: {r.required}"
                elif r.outcome != "pass":
                    ET.SubElement(case, "system-out").text = f"{r.outcome} ({r.enforce}): {r.message}"
    return document(root)


COUNTS = {
    "tests": "testcase",
    "failures": "testcase/failure",
    "errors": "testcase/error",
    "skipped": "testcase/skipped",
}


def document(root: ET.Element) -> str:
    """The XML of a <testsuites> tree, each suite and the whole counted from the cases it holds."""
    totals = dict.fromkeys(COUNTS, 0)
    for suite in root.iter("testsuite"):
        for key, path in COUNTS.items():
            count = len(suite.findall(path))
            suite.set(key, str(count))
            totals[key] += count
    for key, total in totals.items():
        root.set(key, str(total))
    for element in root.iter():
        _safe(element)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
