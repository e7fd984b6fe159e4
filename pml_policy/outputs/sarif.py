"""SARIF 2.1.0: one result per rule that did not pass, located at the rule in its policy file."""

from __future__ import annotations

import json
from pathlib import Path

from pml_policy import __version__
from pml_policy.engine.decision import Decision

from . import Options, severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(source: str) -> str:
    p = Path(source)
    try:
        return p.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return p.as_posix()


def render(decisions: list[Decision], options: Options) -> str:
    rules: dict[str, dict] = {}
    results = []
    for d in decisions:
        for p in d.policies:
            for r in p.rules:
                rules.setdefault(
                    r.ref,
                    {
                        "id": r.ref,
                        "name": r.rule,
                        "shortDescription": {"text": r.title or r.rule},
                        "fullDescription": {"text": f"require {r.required}"},
                        "defaultConfiguration": {"level": "error" if r.enforce != "advisory" else "warning"},
                        "properties": {"enforce": r.enforce, "policy": p.name, "policyVersion": p.version},
                    },
                )
                if r.outcome in ("pass", "skip"):
                    continue
                location = {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(p.source)},
                        "region": {"startLine": r.line or 1},
                    }
                }
                awaited = r.outcome == "pending"  # SARIF's kind "open": a person must look; its level is "none"
                results.append(
                    {
                        "ruleId": r.ref,
                        "ruleIndex": list(rules).index(r.ref),
                        **({"kind": "open", "level": "none"} if awaited else {"level": severity(r)}),
                        "message": {"text": f"{d.subject.reference}: {r.message}"},
                        "locations": [location],
                        "properties": {
                            "outcome": r.outcome,
                            "subject": d.subject.reference,
                            "subjectDigest": d.subject.digest,
                            "decisionId": d.id,
                        },
                    }
                )
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pml-policy",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
