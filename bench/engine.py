"""Engine throughput and CLI cold start, measured side by side in one run.

A 40-rule policy over generated subjects, evaluated by
  * the compiled evaluator (pml-policy's default backend),
  * the durable_rules backend (`--engine durable`: its defensive wrapper included, as users get it),
  * the same policy written in Rego, run by regopy (OPA's Rego engine from PyPI).
Every engine produces each rule's outcome and a message with the observed value: that work counts.
Then the cold start of `pml-policy check` on one example folder.

    python bench/engine.py [--subjects 10000] [--durable-subjects 1000] [--rego-subjects 100] [--cold-runs 15]

durable_rules and regopy are far slower, so each gets a prefix of the same subjects; rates are
per second either way.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = 40
TARGETS = {"durable": 20.0, "regopy": 50.0}
COLD_START_TARGET = 0.3


def policy_text() -> str:
    """40 rules: threshold checks, champion comparisons, guarded rules, one per metric m0..m39."""
    rules = []
    for i in range(RULES):
        level = ("hard", "soft", "advisory")[i % 3]
        if i % 10 == 9:
            body = f"when champion exists require metrics.m{i} >= champion.metrics.m{i} - 0.01"
        elif i % 10 == 4:
            body = f'when tags.use_case == "credit" require metrics.m{i} <= 0.2'
        else:
            body = f"require metrics.m{i} >= 0.{10 + i}"
        rules.append(f'  rule r{i} "metric m{i}" {{ enforce {level} {body} }}')
    return 'policy "bench" version "1.0.0" {\n' + "\n".join(rules) + "\n}\n"


def rego_text() -> str:
    """The same 40 rules in Rego, each producing outcome and message, plus the decision."""
    out = ["package bench", "import rego.v1", "", 'outcome(true) := "pass"', 'outcome(false) := "fail"', ""]
    for i in range(RULES):
        level = ("hard", "soft", "advisory")[i % 3]
        v = f'object.get(input.subject.metrics, "m{i}", null)'
        if i % 10 == 9:
            c = f'object.get(object.get(input, "champion", {{}}), "metrics", {{}})["m{i}"]'
            out += [
                f'results contains {{"rule": "r{i}", "enforce": "{level}", "outcome": "skip", '
                f'"message": "skipped: champion exists is false"}} if not input.champion',
                f'results contains {{"rule": "r{i}", "enforce": "{level}", "outcome": o, "message": m}} if {{',
                "  input.champion",
                f"  v := {v}",
                "  v != null",
                f"  c := {c}",
                "  o := outcome(v >= c - 0.01)",
                f'  m := sprintf("metrics.m{i} = %v, required >= champion.metrics.m{i} - 0.01 = %v", [v, c - 0.01])',
                "}",
            ]
        elif i % 10 == 4:
            out += [
                f'results contains {{"rule": "r{i}", "enforce": "{level}", "outcome": "skip", '
                f'"message": sprintf("skipped: tags.use_case = %v", [input.subject.tags.use_case])}} '
                'if input.subject.tags.use_case != "credit"',
                f'results contains {{"rule": "r{i}", "enforce": "{level}", "outcome": o, "message": m}} if {{',
                '  input.subject.tags.use_case == "credit"',
                f"  v := {v}",
                "  v != null",
                "  o := outcome(v <= 0.2)",
                f'  m := sprintf("metrics.m{i} = %v, required <= 0.2", [v])',
                "}",
            ]
        else:
            out += [
                f'results contains {{"rule": "r{i}", "enforce": "{level}", "outcome": o, "message": m}} if {{',
                f"  v := {v}",
                "  v != null",
                f"  o := outcome(v >= 0.{10 + i})",
                f'  m := sprintf("metrics.m{i} = %v, required >= 0.{10 + i}", [v])',
                "}",
            ]
        # Absent evidence is an error, but only where the rule applies (a false `when` is a skip).
        guard = {9: "input.champion; ", 4: 'input.subject.tags.use_case == "credit"; '}.get(i % 10, "")
        out.append(
            "results contains "
            f'{{"rule": "r{i}", "enforce": "{level}", "outcome": "error", "message": "metrics.m{i} is absent"}} if '
            f"{{ {guard}{v} == null }}"
        )
    out += [
        "",
        'decision := "fail" if { some r in results; r.enforce != "advisory"; r.outcome in {"fail", "error"} }',
        'else := "warn" if { some r in results; r.outcome in {"fail", "error"} }',
        'else := "pass"',
    ]
    return "\n".join(out) + "\n"


def subjects(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        metrics = {f"m{j}": round(rng.uniform(0.3, 1.0), 4) for j in range(RULES) if rng.random() > 0.01}
        out.append({"model": f"m-{i}", "metrics": metrics, "tags": {"use_case": rng.choice(["credit", "ads"])}})
    return out


def timed(label: str, fn, count: int, rounds: int) -> float:
    """The best of several rounds (as timeit reports): this machine is shared and noisy."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    best = min(times)
    rate = count / best
    spread = f"(rounds: {', '.join(f'{t:.2f}' for t in times)} s)" if rounds > 1 else ""
    print(f"  {label:<28} {count:>6} evaluations in {best:6.2f} s = {rate:>7.0f} /s  {spread}", flush=True)
    return rate


def _rate(backend, policies, pairs, outcomes: list[str], label: str, count: int, rounds: int) -> float:
    """Evaluate every pair, keeping only the outcomes (a gate consumes decisions as they come)."""

    def run() -> None:
        outcomes[:] = [backend.evaluate(policies, s, c).outcome for s, c in pairs]

    return timed(label, run, count, rounds)


def bench_engines(n: int, n_durable: int, n_rego: int, rounds: int) -> dict[str, float]:
    from pml_policy.engine import ModelInfo, Subject, load
    from pml_policy.engine.durable_backend import DurableBackend
    from pml_policy.engine.python_backend import PythonBackend

    raw = subjects(n)
    champion_raw = {"metrics": {f"m{j}": 0.6 for j in range(RULES)}}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.pml").write_text(policy_text())
        policies = load([tmp])
    objects = [
        Subject(
            source="bench",
            reference=s["model"],
            model=ModelInfo(name=s["model"], version="1"),
            metrics=s["metrics"],
            tags=s["tags"],
        )
        for s in raw
    ]
    champion = Subject(source="bench", reference="champion", metrics=champion_raw["metrics"])
    pairs = [(s, champion if i % 2 else None) for i, s in enumerate(objects)]

    rates: dict[str, float] = {}
    # Each engine's results are consumed as they come (as a gate or a scheduler would), keeping
    # the outcome for the agreement check; the decision objects themselves are built in full.
    python = PythonBackend()
    decisions: list[str] = []
    rates["python"] = _rate(python, policies, pairs, decisions, "compiled evaluator", n, rounds)
    durable = DurableBackend()
    durable_decisions: list[str] = []
    rates["durable"] = _rate(
        durable, policies, pairs[:n_durable], durable_decisions, "durable_rules backend", n_durable, rounds
    )
    agree = durable_decisions == decisions[:n_durable]

    from regopy import Interpreter

    interp = Interpreter()
    interp.add_module("bench", rego_text())
    bundle = interp.build("data.bench")  # compiled once: regopy's fastest way to run a query repeatedly
    inputs = [
        json.dumps({"subject": s, **({"champion": champion_raw} if i % 2 else {})}) for i, s in enumerate(raw[:n_rego])
    ]
    rego_out: list = []

    def run_rego() -> None:
        for text in inputs:
            interp.set_input_term(text)
            rego_out.append(json.loads(str(interp.query_bundle(bundle)))["expressions"][0])

    rates["regopy"] = timed("regopy (same policy in Rego)", run_rego, len(inputs), 1)
    rego_agree = sum(r["decision"] == d for r, d in zip(rego_out, decisions))
    rego_rules = sum(len(r["results"]) for r in rego_out) / max(len(rego_out), 1)
    print(f"  durable_rules agrees on all {len(durable_decisions)} decisions: {agree}")
    print(
        f"  regopy agrees on {rego_agree}/{len(rego_out)} decisions; {rego_rules:.1f} rule results per subject "
        f"(ours: {RULES})"
    )
    return rates


def bench_cold_start(runs: int) -> float:
    exe = Path(sys.executable).with_name("pml-policy")
    # The evaluation path alone (the audited path, with SQLAlchemy, is bench/audit.py's).
    args = [str(exe), "check", "examples/credit-pass", "-p", "policies/starter", "--no-audit"]
    subprocess.run(args, cwd=ROOT, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"  pml-policy check examples/credit-pass --no-audit: median {median:.3f} s over {runs} runs (min "
        f"{min(times):.3f}, max {max(times):.3f})"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument(
        "--durable-subjects",
        type=int,
        default=1_000,
        help="durable_rules is slow; it gets a prefix of the same subjects",
    )
    parser.add_argument("--rego-subjects", type=int, default=100, help="regopy takes ~80 ms per evaluation here")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per engine; the best is reported (regopy: one)")
    parser.add_argument("--cold-runs", type=int, default=15)
    args = parser.parse_args()
    print(f"Engines: a {RULES}-rule policy, generated subjects, full rule results and messages")
    rates = bench_engines(args.subjects, args.durable_subjects, args.rego_subjects, args.rounds)
    print("\nRatios (compiled evaluator / other):")
    ok = True
    for other, target in TARGETS.items():
        ratio = rates["python"] / rates[other]
        met = ratio >= target
        ok &= met
        print(f"  vs {other:<8} {ratio:7.1f}x   target >= {target:.0f}x   {'met' if met else 'MISSED'}")
    print("\nCold start:")
    median = bench_cold_start(args.cold_runs)
    met = median <= COLD_START_TARGET
    ok &= met
    print(f"  target <= {COLD_START_TARGET} s   {'met' if met else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
