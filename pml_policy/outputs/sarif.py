"""SARIF 2.1.0 as GitHub code scanning takes it: a result per subject and rule that did not pass,
located at the rule in its policy file, with rule help, stable fingerprints and relative URIs.

Checked by Microsoft's SARIF Multitool with GitHub's rules (`validate --rule-kind Gh`) in the tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from pml_policy import __version__
from pml_policy.base.links import HOME, page
from pml_policy.engine.decision import Decision, PolicyResult, RuleResult

from . import Options, severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"  # the working folder (a CI checkout): code scanning resolves it to the repository
POLICIES = "POLICIES"  # policy files from outside the working folder: their common folder
FINGERPRINT = "pmlPolicySubject/v1"  # partialFingerprints key: a hash of (policy, rule, subject)
CATEGORY = "pml-policy/check/"  # automationDetails.id: the category, then the run
# GitHub's scale: over 7.0 high, 4.0 to 6.9 medium, under 4.0 low.
SECURITY_SEVERITY = {"hard": "8.0", "soft": "5.0", "advisory": "2.0"}


def _fingerprint(policy: str, rule: str, subject: str) -> str:
    """One alert per (policy, rule, subject) across runs: GitHub merges results whose fingerprints
    agree, and would otherwise merge two failing versions of one model (same rule, file, line)."""
    return hashlib.sha256(f"{policy}\0{rule}\0{subject}".encode()).hexdigest()


class Locator:
    """Policy files as URIs relative to a base: the working folder, or for files outside it their
    common folder (an absolute path would name the CI runner's disk)."""

    def __init__(self, sources: list[str]) -> None:
        self.cwd = Path.cwd().resolve()
        paths = {source: Path(source).resolve() for source in sources}  # each file resolved once
        outside = [path for path in paths.values() if not path.is_relative_to(self.cwd)]
        self.outside = Path(os.path.commonpath([path.parent for path in outside])) if outside else None
        self._locations = {source: self._location(path) for source, path in paths.items()}

    def _location(self, path: Path) -> dict:
        if path.is_relative_to(self.cwd):
            return {"uri": path.relative_to(self.cwd).as_posix(), "uriBaseId": SRCROOT}
        assert self.outside is not None
        return {"uri": path.relative_to(self.outside).as_posix(), "uriBaseId": POLICIES}

    def location(self, source: str) -> dict:
        return self._locations[source]

    def bases(self) -> dict:
        bases = {SRCROOT: {"uri": self.cwd.as_uri() + "/"}}
        if self.outside is not None:
            bases[POLICIES] = {"uri": self.outside.as_uri() + "/"}
        return bases


def _rule(p: PolicyResult, r: RuleResult, titles: dict[str, str]) -> dict:
    what = r.title or r.rule
    policy = titles.get(p.name) or p.name
    fix = (
        "The rule is advisory: it never blocks the gate."
        if r.enforce == "advisory"
        else "Fix the model's evidence (metrics, tags, files) so that the expression holds, or record a waiver "
        "for this rule with a reason and an expiry date in the policy set."
    )
    text = f"{what}. Policy {p.name} ({policy}) requires: {r.required}. {fix}"
    markdown = (
        f"**{what}**\n\nPolicy `{p.name}` ({policy}), enforcement `{r.enforce}`, requires:\n\n"
        f"```\n{r.required}\n```\n\n{fix} See [the policy language]({page('language')})."
    )
    return {
        "id": r.ref,
        "name": "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", r.rule)),  # PascalCase
        "shortDescription": {"text": what},
        "fullDescription": {"text": f"{policy}: require {r.required}"},
        "help": {"text": text, "markdown": markdown},
        "helpUri": page("language"),
        "defaultConfiguration": {"level": "error" if r.enforce != "advisory" else "warning"},
        "properties": {
            "enforce": r.enforce,
            "policy": p.name,
            "policyVersion": p.version,
            "security-severity": SECURITY_SEVERITY[r.enforce],
            "tags": ["governance", r.enforce],
        },
    }


def render(decisions: list[Decision], options: Options) -> str:
    locator = Locator([p.source for d in decisions for p in d.policies])
    rules: dict[str, dict] = {}
    index: dict[str, int] = {}  # a rule's place in `rules`, for ruleIndex
    results = []
    for d in decisions:
        for p in d.policies:
            for r in p.rules:
                if r.ref not in rules:  # described once, from its first result
                    index[r.ref] = len(rules)
                    rules[r.ref] = _rule(p, r, options.titles)
                if r.outcome in ("pass", "skip"):
                    continue
                awaited = r.outcome == "pending"  # SARIF's kind "open": a person must look; its level is "none"
                results.append(
                    {
                        "ruleId": r.ref,
                        "ruleIndex": index[r.ref],
                        **({"kind": "open", "level": "none"} if awaited else {"level": severity(r)}),
                        "message": {"text": f"{d.subject.reference}: {r.message}"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": locator.location(p.source),
                                    "region": {"startLine": r.line or 1},
                                }
                            }
                        ],
                        "partialFingerprints": {FINGERPRINT: _fingerprint(p.name, r.rule, d.subject.reference)},
                        "properties": {
                            "outcome": r.outcome,
                            "subject": d.subject.reference,
                            "subjectDigest": d.subject.digest,
                            "decisionId": d.id,
                        },
                    }
                )
    # GitHub keeps one analysis per category (the id up to its last slash): a re-run replaces it.
    category = f"{CATEGORY}{decisions[0].time:%Y%m%dT%H%M%SZ}" if decisions else CATEGORY
    return log(list(rules.values()), results, category, locator)


def log(rules: list[dict], results: list[dict], automation_id: str, locator: Locator) -> str:
    """A SARIF 2.1.0 log of one run of pml-policy (check, analyze): its rules, results and bases."""
    run = {
        "tool": {
            "driver": {
                "name": "pml-policy",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": HOME,
                "rules": rules,
            }
        },
        "automationDetails": {"id": automation_id},
        "originalUriBaseIds": locator.bases(),
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False) + "\n"
