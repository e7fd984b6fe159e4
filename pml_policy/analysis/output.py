"""An analysis for people (text), for programs (JSON) and for code scanning (SARIF)."""

from __future__ import annotations

from pml_policy.base.escaping import one_line
from pml_policy.base.links import page
from pml_policy.outputs.sarif import Locator, log

from .findings import Analysis, Finding
from .semantic import SemanticDiff

CATEGORY = "pml-policy/analyze/"
# What each kind of finding means, for SARIF's rule descriptions (and the docs' section).
KINDS = {
    "unsatisfiable": "A rule no subject can pass",
    "never_fails": "A rule that can never fail",
    "when_never": "A `when` that is never true",
    "when_always": "A `when` that is never false",
    "redundant": "A rule implied by another rule",
    "conflict": "Policies that cannot all pass together",
    "on_pass_unreachable": "`on pass` actions that can never run",
    "waiver_unreachable": "A waiver that can never apply",
    "waiver_hard": "A waiver on a hard rule",
    "unknown": "Questions the solver did not decide in time",
}


def text(analysis: Analysis) -> str:
    lines = []
    for f in analysis.findings:
        lines.append(f"{f.place.file}:{f.place.line}:{f.place.column}: {f.severity}: {one_line(f.message)} [{f.kind}]")
        for r in f.related:
            lines.append(f"  with {r.policy}/{r.rule} at {r.file}:{r.line}")
        if f.assumes:
            lines.append(
                "  assuming any value for what the analysis does not model: "
                + "; ".join(one_line(a) for a in f.assumes)
            )
        if f.witness:
            lines.append(f"  witness ({f.shows}):")
            lines += ["    " + line for line in f.witness.splitlines()]
        elif f.no_witness:
            lines.append(f"  no witness: {f.no_witness}")
    errors, warnings = analysis.count("error"), analysis.count("warning")
    policies, rules = analysis.policies, analysis.rules
    lines.append(
        f"{policies} polic{'ies' if policies != 1 else 'y'}, {rules} rule{'s' if rules != 1 else ''} analysed"
        f" in {analysis.seconds:.2f} s: "
        f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        + (f", {analysis.unknown} undecided" if analysis.unknown else "")
    )
    return "\n".join(lines) + "\n"


def as_json(analysis: Analysis) -> str:
    return analysis.model_dump_json(indent=2, by_alias=True) + "\n"


def sarif(analysis: Analysis) -> str:
    locator = Locator(
        sorted({f.place.file for f in analysis.findings} | {r.file for f in analysis.findings for r in f.related})
    )
    kinds = sorted({f.kind for f in analysis.findings})
    rules = [_rule(k) for k in kinds]
    results = [_result(f, kinds.index(f.kind), locator) for f in analysis.findings]
    return log(rules, results, CATEGORY, locator)


def _rule(kind: str) -> dict:
    title = KINDS[kind]
    url = page("language", "analysis-what-no-evidence-can-change")
    return {
        "id": f"pml-analyze/{kind}",
        "name": "".join(w.capitalize() for w in kind.split("_")),
        "shortDescription": {"text": title.replace("`", "") + "."},
        "fullDescription": {"text": f"pml-policy analyze: {title.replace('`', '')}, proved over every subject."},
        "help": {
            "text": f"{title.replace('`', '')}. See {url}",
            "markdown": f"{title}. See [the language guide]({url}).",
        },
        "helpUri": url,
    }


def _result(f: Finding, index: int, locator: Locator) -> dict:
    message = f.message + (f"\nWitness ({f.shows}):\n{f.witness}" if f.witness else "")
    return {
        "ruleId": f"pml-analyze/{f.kind}",
        "ruleIndex": index,
        "level": f.severity,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": locator.location(f.place.file),
                    "region": {"startLine": f.place.line, "startColumn": f.place.column},
                }
            }
        ],
        "relatedLocations": [
            {
                "id": i,
                "physicalLocation": {
                    "artifactLocation": locator.location(r.file),
                    "region": {"startLine": r.line, "startColumn": r.column},
                },
                "message": {"text": f"{r.policy}/{r.rule}"},
            }
            for i, r in enumerate(f.related)
        ],
        "partialFingerprints": {"pmlAnalysis/v1": _fingerprint(f)},
        "properties": {"assumes": f.assumes} if f.assumes else {},
    }


def _fingerprint(f: Finding) -> str:
    import hashlib

    return hashlib.sha256(f"{f.kind}\0{f.place.policy}\0{f.place.rule}".encode()).hexdigest()


def diff_text(d: SemanticDiff) -> str:
    lines = [f"semantic diff: {d.old} -> {d.new}"]
    for x in d.differences:
        where = f"{x.policy}/{x.rule}" if x.rule else x.policy
        verdicts = f" (old: {x.old}, new: {x.new})" if x.old or x.new else ""
        lines.append(f"  {one_line(where)}: {one_line(x.message)}{verdicts}")
        if x.assumes:
            lines.append("    with what the analysis does not model: " + "; ".join(one_line(a) for a in x.assumes))
        if x.example:
            lines.append(f"    example: {x.example}  (its README: the `check` commands that decide it differently)")
        if x.witness and not x.example:
            lines.append("    counterexample:")
            lines += ["      " + line for line in x.witness.splitlines()]
        elif x.no_example:
            lines.append(f"    no counterexample: {x.no_example}")
    for rule in d.undecided:
        lines.append(f"  {one_line(rule)}: undecided within the time-out (raise --timeout)")
    if d.equivalent:
        assuming = f" for any value of {'; '.join(d.assumes)}" if d.assumes else ""
        lines.append(
            f"equivalent: every subject gets the same outcome and the same per-rule verdicts (proved{assuming})"
        )
    else:
        n = len(d.differences)
        lines.append(
            f"not equivalent: {n} difference{'s' if n != 1 else ''}"
            + (f", {len(d.undecided)} undecided" if d.undecided else "")
            + f" ({d.seconds:.2f} s)"
        )
    return "\n".join(lines) + "\n"


def diff_json(d: SemanticDiff) -> str:
    return d.model_dump_json(indent=2, by_alias=True) + "\n"
