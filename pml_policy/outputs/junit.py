"""JUnit XML: a suite per subject and policy, a test case per rule.

A blocking fail is a <failure>, a blocking error an <error>, a skip <skipped>; an advisory failure
or a waived one passes (it does not fail the gate) and says so in <system-out>.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from pml_policy.engine.decision import Decision

from . import Options


def render(decisions: list[Decision], options: Options) -> str:
    root = ET.Element("testsuites", name="pml-policy")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for d in decisions:
        for p in d.policies:
            suite = ET.SubElement(root, "testsuite", name=f"{d.subject.reference} :: {p.name} {p.version}", timestamp=d.time.isoformat())
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            for r in p.rules:
                counts["tests"] += 1
                case = ET.SubElement(suite, "testcase", classname=f"{p.name}", name=f"{r.rule}" + (f" - {r.title}" if r.title else ""), file=p.source)
                if r.outcome == "skip":
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=r.message)
                elif r.blocking and r.outcome == "fail":
                    counts["failures"] += 1
                    ET.SubElement(case, "failure", message=r.message, type=f"{r.enforce}").text = f"required: {r.required}"
                elif r.blocking:
                    counts["errors"] += 1
                    ET.SubElement(case, "error", message=r.message, type="evidence").text = f"required: {r.required}"
                elif r.outcome != "pass":
                    ET.SubElement(case, "system-out").text = f"{r.outcome} ({r.enforce}): {r.message}"
            for k, v in counts.items():
                suite.set(k, str(v))
                totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
