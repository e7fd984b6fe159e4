"""The engine bench's other engines, each driven the way its own documentation recommends: the
policy compiled once, each subject converted into the engine's input inside the timed loop (as
pml-policy builds its Subject there), and exactly what the output needs asked for.

  * Rego on regopy: the bundle built once for the two values the output needs
    (`r = data.bench.results; d = data.bench.decision`; the whole package costs 6-8x more);
  * CEL (`common-expression-language`): one compiled program per rule giving [outcome, message],
    the subject converted once per subject into a `cel.Context` (a plain dict is converted again by
    every program, 160x slower here);
  * AWS Cedar (`cedarpy`): the rules as `forbid` policies parsed once, requests in batches. Cedar
    has no floating-point numbers: metrics (four decimals here) are scaled to integers (x 10,000).
    A forbid policy that matches names a failed rule (or an absent value); one that does not match
    is silence, so Cedar cannot tell a pass from a skip.

Each driver returns `run(keep)`, which evaluates every subject and returns, for each, its decision
(as a gate consumes answers: the rest is dropped as it comes) or with `keep` (the untimed pass the
agreement check reads) every rule's outcome and the decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from policy40 import CHAMPION, LEVELS, RULES, combine, has_champion, kind, threshold

Run = Callable[[bool], list[Any]]


def rego_text() -> str:
    """The same 40 rules in Rego, each producing outcome and message, plus the decision."""
    out = ["package bench", "import rego.v1", "", 'outcome(true) := "pass"', 'outcome(false) := "fail"', ""]
    for i in range(RULES):
        head = f'results contains {{"rule": "r{i}", "enforce": "{LEVELS[i]}"'
        v = f'object.get(input.subject.metrics, "m{i}", null)'
        if kind(i) == "champion":
            c = f'object.get(object.get(input, "champion", {{}}), "metrics", {{}})["m{i}"]'
            out += [
                f'{head}, "outcome": "skip", "message": "skipped: champion exists is false"}} if not input.champion',
                f'{head}, "outcome": o, "message": m}} if {{',
                "  input.champion",
                f"  v := {v}",
                "  v != null",
                f"  c := {c}",
                "  o := outcome(v >= c - 0.01)",
                f'  m := sprintf("metrics.m{i} = %v, required >= champion.metrics.m{i} - 0.01 = %v", [v, c - 0.01])',
                "}",
            ]
        elif kind(i) == "guarded":
            out += [
                f'{head}, "outcome": "skip", '
                f'"message": sprintf("skipped: tags.use_case = %v", [input.subject.tags.use_case])}} '
                'if input.subject.tags.use_case != "credit"',
                f'{head}, "outcome": o, "message": m}} if {{',
                '  input.subject.tags.use_case == "credit"',
                f"  v := {v}",
                "  v != null",
                f"  o := outcome(v <= {threshold(i)})",
                f'  m := sprintf("metrics.m{i} = %v, required <= {threshold(i)}", [v])',
                "}",
            ]
        else:
            out += [
                f'{head}, "outcome": o, "message": m}} if {{',
                f"  v := {v}",
                "  v != null",
                f"  o := outcome(v >= {threshold(i)})",
                f'  m := sprintf("metrics.m{i} = %v, required >= {threshold(i)}", [v])',
                "}",
            ]
        # Absent evidence is an error, but only where the rule applies (a false `when` is a skip).
        guard = {"champion": "input.champion; ", "guarded": 'input.subject.tags.use_case == "credit"; '}.get(
            kind(i), ""
        )
        out.append(f'{head}, "outcome": "error", "message": "metrics.m{i} is absent"}} if {{ {guard}{v} == null }}')
    out += [
        "",
        'decision := "fail" if { some r in results; r.enforce != "advisory"; r.outcome in {"fail", "error"} }',
        'else := "warn" if { some r in results; r.outcome in {"fail", "error"} }',
        'else := "pass"',
    ]
    return "\n".join(out) + "\n"


def rego(raw: list[dict[str, Any]]) -> Run:
    from regopy import Interpreter

    interp = Interpreter()
    interp.add_module("bench", rego_text())
    bundle = interp.build("r = data.bench.results; d = data.bench.decision")

    def run(keep: bool) -> list[Any]:
        answers = []
        for i, s in enumerate(raw):
            evidence = {"subject": s, **({"champion": {"metrics": CHAMPION}} if has_champion(i) else {})}
            interp.set_input_term(json.dumps(evidence))
            bindings = json.loads(str(interp.query_bundle(bundle)))["bindings"]  # r: the rules, d: the decision
            answers.append(_by_rule(bindings["r"]) + (bindings["d"],) if keep else bindings["d"])
        return answers

    return run


def _by_rule(results: list[dict[str, Any]]) -> tuple[str, ...]:
    """Rego's set of results, in rule order ("none" where a rule gave no result)."""
    found = {r["rule"]: r["outcome"] for r in results}
    return tuple(found.get(f"r{i}", "none") for i in range(RULES))


def cel_programs() -> list[Any]:
    """One compiled CEL program per rule, giving [outcome, message]."""
    import cel

    programs = []
    for i in range(RULES):
        m = f"m.m{i}"
        absent = f'!has({m}) ? ["error", "metrics.m{i} is absent"]'
        if kind(i) == "champion":
            test, shown = f"{m} >= c.m{i} - 0.01", f'"metrics.m{i} = " + string({m}) + ", required >= champion - 0.01"'
            text = f'!has_champion ? ["skip", "skipped: champion exists is false"] : ({absent} : '
            text += f'({test} ? ["pass", {shown}] : ["fail", {shown}]))'
        elif kind(i) == "guarded":
            test, shown = f"{m} <= {threshold(i)}", f'"metrics.m{i} = " + string({m}) + ", required <= {threshold(i)}"'
            text = f'tags.use_case != "credit" ? ["skip", "skipped: tags.use_case = " + tags.use_case] : ({absent} : '
            text += f'({test} ? ["pass", {shown}] : ["fail", {shown}]))'
        else:
            test, shown = f"{m} >= {threshold(i)}", f'"metrics.m{i} = " + string({m}) + ", required >= {threshold(i)}"'
            text = f'{absent} : ({test} ? ["pass", {shown}] : ["fail", {shown}])'
        programs.append(cel.compile(text))
    return programs


def cel(raw: list[dict[str, Any]]) -> Run:
    import cel

    programs = cel_programs()

    def run(keep: bool) -> list[Any]:
        answers = []
        for i, s in enumerate(raw):
            variables = {"m": s["metrics"], "tags": s["tags"], "has_champion": has_champion(i), "c": CHAMPION}
            evidence = cel.Context(variables)
            results = [program.execute(evidence) for program in programs]  # [outcome, message] per rule
            decision = combine([r[0] for r in results])
            answers.append(tuple(r[0] for r in results) + (decision,) if keep else decision)
        return answers

    return run


def cedar_policies() -> tuple[str, list[tuple[int, str]]]:
    """The rules as Cedar `forbid` policies on metrics scaled to integers, and what each policy
    stands for, (rule, outcome): Cedar names them policy0, policy1…; policy0 permits the rest."""
    lines, meaning = ["permit(principal, action, resource);"], [(-1, "pass")]
    for i in range(RULES):
        m, has = f"principal.metrics.m{i}", f"principal.metrics has m{i}"
        guard = {"champion": "context.has_champion && ", "guarded": 'principal.tags.use_case == "credit" && '}.get(
            kind(i), ""
        )
        scaled_threshold = round(float(threshold(i)) * 10_000)
        fails = {
            "champion": f"{m} < context.champion.m{i} - 100",
            "guarded": f"{m} > {scaled_threshold}",
            "threshold": f"{m} < {scaled_threshold}",
        }[kind(i)]
        lines.append(f"forbid(principal, action, resource) when {{ {guard}{has} && {fails} }};")
        lines.append(f"forbid(principal, action, resource) when {{ {guard}!({has}) }};")
        meaning += [(i, "fail"), (i, "error")]
    return "\n".join(lines), meaning


def scaled(metrics: dict[str, float]) -> dict[str, int]:
    return {k: round(v * 10_000) for k, v in metrics.items()}


def cedar(raw: list[dict[str, Any]], batch: int = 500) -> Run:
    import cedarpy

    text, meaning = cedar_policies()
    policies = cedarpy.PolicySet.from_str(text)  # parsed once, as its docs advise
    champion = scaled(CHAMPION)

    def run(keep: bool) -> list[Any]:
        answers: list[Any] = []
        for start in range(0, len(raw), batch):
            chunk = raw[start : start + batch]
            entities = [
                {
                    "uid": {"type": "Model", "id": s["model"]},
                    "attrs": {"metrics": scaled(s["metrics"]), "tags": s["tags"]},
                    "parents": [],
                }
                for s in chunk
            ]
            requests = [
                {
                    "principal": f'Model::"{s["model"]}"',
                    "action": 'Action::"promote"',
                    "resource": 'Registry::"models"',
                    "context": {"has_champion": has_champion(start + k), "champion": champion},
                }
                for k, s in enumerate(chunk)
            ]
            for answer in cedarpy.is_authorized_batch(requests, policies, entities):
                outcomes = ["pass"] * RULES  # silence: passed, or skipped (Cedar cannot say which)
                for reason in answer.diagnostics.reasons:  # an Allow names the permit policy (no rule)
                    rule, outcome = meaning[int(reason.removeprefix("policy"))]
                    if rule >= 0:
                        outcomes[rule] = outcome
                decision = combine(outcomes)
                answers.append((*outcomes, decision) if keep else decision)
        return answers

    return run
