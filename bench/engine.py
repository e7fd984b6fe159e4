"""Engine throughput, every engine and the floor timed the same way in one run.

A 40-rule policy (bench/policy40.py) over generated subjects given as JSON values, evaluated by
every engine a user could pick from Python and by the floor, interleaved round by round
(bench/measure.py). Inside every timed loop: the subject converted into the engine's input
(pml-policy builds and digests its Subject there, as CEL builds its Context), the evaluation, which
makes what the output needs (every rule's outcome and message, and the decision), and the decision
kept as a gate consumes it (the rest dropped as it comes, so that no engine's garbage collections
scan 10,000 answers kept only for this bench):

  * pml-policy's compiled evaluator (the default backend): the full Decision;
  * the floor: the 40 rules written by hand as closures with pml-policy's exact messages, once
    giving (outcome, message, values read), once building pml-policy's result objects and the
    decision from them;
  * the durable_rules backend (`--engine durable`, its defensive wrapper included, as users get it);
  * Rego on regopy, CEL and AWS Cedar (bench/rivals.py says how each is driven).

Agreement or nothing: after the timing, every engine runs once more keeping every answer (which
must reach the very decisions its timed runs did), and its per-rule outcomes and decision are compared
with the compiled evaluator's on every subject it evaluated (Cedar's as fail / error / neither: it
cannot tell a pass from a skip), and the floor's messages and result objects must equal pml-policy's;
any difference stops the bench (exit 1) naming the subject.

    python bench/engine.py [--subjects 10000] [--slow-subjects 1000] [--rego-subjects 300] [--rounds 5] [--quick]

The slower engines get a prefix of the same subjects; rates are per second either way.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rivals
from measure import Figures, Row, Series, agree, arguments, interleaved, positive, ratio, verdict
from policy40 import CHAMPION, LEVELS, RULES, closures, combine, has_champion, policy_text, required, subjects

# How many times faster the compiled evaluator must be (the benchmarks issue #15).
TARGETS = {"cel": 2.5, "cedar": 5.0, "durable": 20.0, "regopy": 50.0}
RATE_TARGET = 20_000.0  # full decisions per second
LABELS = {
    "pml": "pml-policy, compiled evaluator (default)",
    "floor": "floor: hand-written closures, messages + decision",
    "floor_objects": "floor: closures, result objects + decision",
    "durable": "durable_rules backend (--engine durable)",
    "regopy": "Rego on regopy (two values asked)",
    "cel": "CEL, a program per rule",
    "cedar": "Cedar, forbid policies in batches",
}
Run = Callable[[bool], list[Any]]  # run(keep): each subject's decision, or with keep its full answer


def pml_driver(raw: list[dict[str, Any]], backend: Any) -> Run:
    """pml-policy as a library user drives it: policies loaded once, a Subject per evidence. Kept:
    the Decision (every rule's result, message and values read)."""
    from pml_policy.engine import ModelInfo, Subject, load

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.pml").write_text(policy_text())
        policies = load([tmp])
    champion = Subject(source="bench", reference="champion", metrics=CHAMPION)

    def run(keep: bool) -> list[Any]:
        answers = []
        for i, s in enumerate(raw):
            model = ModelInfo(name=s["model"], version="1")
            subject = Subject(source="bench", reference=s["model"], model=model, metrics=s["metrics"], tags=s["tags"])
            decision = backend.evaluate(policies, subject, champion if has_champion(i) else None)
            answers.append(decision if keep else decision.outcome)
        return answers

    return run


def floor_driver(raw: list[dict[str, Any]], objects: bool) -> Run:
    """The hand-written closures, each rule's (outcome, message, values read) and the decision's
    outcome combined from them; with `objects`, each answer made into pml-policy's RuleResult
    first, as an evaluator returning objects must. Kept: (the rules' answers, the decision)."""
    from pml_policy.engine.decision import RuleResult

    rules = closures()
    fields = [("bench", f"r{i}", f"metric m{i}", LEVELS[i], required(i), i + 2) for i in range(RULES)]

    def plain(keep: bool) -> list[Any]:
        answers = []
        for i, s in enumerate(raw):
            metrics, tags, champion = s["metrics"], s["tags"], CHAMPION if has_champion(i) else None
            results = [rule(metrics, tags, champion) for rule in rules]
            decision = combine([r[0] for r in results])
            answers.append((results, decision) if keep else decision)
        return answers

    def with_objects(keep: bool) -> list[Any]:
        answers = []
        for i, s in enumerate(raw):
            metrics, tags, champion = s["metrics"], s["tags"], CHAMPION if has_champion(i) else None
            results = []
            for rule, (policy, name, title, level, text, line) in zip(rules, fields):
                outcome, message, read = rule(metrics, tags, champion)
                results.append(RuleResult(policy, name, title, level, outcome, message, text, read, line=line))
            decision = combine([r.outcome for r in results])
            answers.append((results, decision) if keep else decision)
        return answers

    return with_objects if objects else plain


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--subjects", type=positive, default=10_000)
    parser.add_argument(
        "--slow-subjects", type=positive, default=1_000, help="durable_rules gets a prefix of the subjects"
    )
    parser.add_argument("--rego-subjects", type=positive, default=300, help="regopy, slower still, a shorter prefix")
    parser.add_argument("--rounds", type=positive, default=5, help="rounds; every engine runs once in each")
    args = parser.parse_args()
    if args.quick:
        args.subjects, args.slow_subjects, args.rego_subjects, args.rounds = 300, 40, 20, 2
    figures = Figures("engine", args.quick)
    print(f"Engines: a {RULES}-rule policy over {args.subjects:,} generated subjects, {args.rounds} rounds interleaved")
    raw = subjects(args.subjects)
    series, answers = bench(raw, args.slow_subjects, args.rego_subjects, args.rounds)
    check_agreement(raw, answers)
    report(figures, series)
    figures.save(args.record)


def bench(raw: list[dict[str, Any]], n_slow: int, n_rego: int, rounds: int) -> tuple[dict[str, Series], dict[str, Any]]:
    """The engines timed, interleaved, each consuming its answers as a gate does (the decision kept,
    the rest dropped as it comes); then, untimed, each run once more keeping every answer, which
    must reach the very decisions the timed runs did."""
    from pml_policy.engine.durable_backend import DurableBackend
    from pml_policy.engine.python_backend import PythonBackend

    runs: dict[str, tuple[int, Run]] = {
        "pml": (len(raw), pml_driver(raw, PythonBackend())),
        "floor": (len(raw), floor_driver(raw, objects=False)),
        "floor_objects": (len(raw), floor_driver(raw, objects=True)),
        "durable": (n_slow, pml_driver(raw[:n_slow], DurableBackend())),
        "regopy": (n_rego, rivals.rego(raw[:n_rego])),
        "cel": (len(raw), rivals.cel(raw)),
        "cedar": (len(raw), rivals.cedar(raw)),
    }
    decided: dict[str, list[str]] = {}

    def timed(name: str, run: Run) -> Callable[[], None]:
        return lambda: decided.__setitem__(name, run(False))

    series = interleaved({name: (count, timed(name, run)) for name, (count, run) in runs.items()}, rounds)
    kept = {name: run(True) for name, (_, run) in runs.items()}
    for name, answers in kept.items():
        last = [a.outcome if name in ("pml", "durable") else a[-1] for a in answers]
        agree("kept", {"kept": last, "timed": decided[name]}, raw, what=f"{name}'s decisions, timed and kept")
    return series, kept


def check_agreement(raw: list[dict[str, Any]], answers: dict[str, Any]) -> None:
    """Every engine against the compiled evaluator, rule by rule; a difference raises."""
    decisions = answers["pml"]
    results = [d.policies[0].rules for d in decisions]
    outcomes = [tuple(r.outcome for r in rules) + (d.outcome,) for rules, d in zip(results, decisions)]
    agree("pml", {"pml": outcomes, "regopy": answers["regopy"], "cel": answers["cel"]}, raw)
    agree("pml", {"pml": outcomes, "durable": [_outcomes(d) for d in answers["durable"]]}, raw)
    coarse = [tuple("pass" if o == "skip" else o for o in found) for found in outcomes]  # Cedar: silence
    agree("pml", {"pml": coarse, "cedar": answers["cedar"]}, raw, what="rules as fail / error / neither")
    # The floor writes pml-policy's own messages and values read, and builds its very objects.
    raws = [([(r.outcome, r.message, r.observed) for r in rules], d.outcome) for rules, d in zip(results, decisions)]
    agree("pml", {"pml": raws, "floor": answers["floor"]}, raw, what="outcome, message and values read")
    built = [(rules, d.outcome) for rules, d in zip(results, decisions)]
    agree("pml", {"pml": built, "floor_objects": answers["floor_objects"]}, raw, what="result objects")
    print(f"  agreement: every engine and the floor agree with pml-policy on every rule of {len(raw):,} subjects")


def _outcomes(decision: Any) -> tuple[str, ...]:
    return tuple(r.outcome for r in decision.policies[0].rules) + (decision.outcome,)


def report(figures: Figures, series: dict[str, Series]) -> None:
    pml = series["pml"]
    rate = pml.rate()
    figures.row(
        "engines",
        Row(
            LABELS["pml"],
            rate.show(unit="/s"),
            "",
            verdict(rate.median, RATE_TARGET, figures.quick, unit="/s"),
            pml.loads().show(".1f"),
        ),
    )
    for name in ("floor", "floor_objects", *TARGETS):
        s = series[name]
        times = ratio(pml, s)  # a floor: how near pml-policy comes; an engine: how far ahead it is
        beside = f"pml-policy: {times.show('.1f' if name in TARGETS else '.2f', 'x')} its rate"
        target = verdict(times.median, TARGETS[name], figures.quick, unit="x") if name in TARGETS else ""
        figures.row("engines", Row(LABELS[name], s.rate().show(unit="/s"), beside, target, s.loads().show(".1f")))


if __name__ == "__main__":
    sys.exit(main())
