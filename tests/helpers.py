"""Small builders shared by the tests: policies from text, subjects from keyword arguments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pml_policy.cli import cli
from pml_policy.engine import ArtifactInfo, ModelInfo, PolicySet, RunInfo, Subject, evaluate, load

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def policies(tmp_path: Path, text: str, name: str = "p.pml") -> PolicySet:
    path = tmp_path / name
    path.write_text(text)
    return load([path])


def rule_policy(tmp_path: Path, body: str, extra: str = "") -> PolicySet:
    """One policy named "p" with one rule "r" whose body is given."""
    return policies(tmp_path, f'policy "p" version "1.0.0" {{ {extra} rule r "t" {{ {body} }} }}')


def subject(
    model: str | None = "m",
    version: str | None = "1",
    artifacts: tuple[str, ...] = (),
    run: dict | None = None,
    aliases: list[str] | None = None,
    **sections: Any,
) -> Subject:
    return Subject(
        source="test",
        reference=f"test:{model}/{version}",
        model=ModelInfo(name=model, version=version, aliases=aliases or []),
        run=RunInfo(**(run or {})),
        metrics=sections.get("metrics", {}),
        params=sections.get("params", {}),
        tags=sections.get("tags", {}),
        artifacts=[ArtifactInfo(path=a, size=1) for a in artifacts],
        card=sections.get("card"),
    )


def outcome_of(
    ps: PolicySet,
    s: Subject,
    champion: Subject | None = None,
    data: dict | None = None,
    now: dt.datetime = NOW,
    engine: str = "python",
) -> tuple[str, str]:
    """(rule outcome, message) of the single rule "r"."""
    d = evaluate(ps, s, champion, data, now=now, engine=engine)
    (r,) = [r for r in d.rules if r.rule == "r"]
    return r.outcome, r.message


def run_cli(*args: str) -> Any:
    """The real CLI in-process, from the repository root (where pytest runs); returns click's
    Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(cli, list(args), prog_name="pml-policy", catch_exceptions=False)


def recorded_then(store: Any, fault: Any) -> Any:
    """A `plan.apply` record callback that records each change in the log, then does `fault`
    (stops the registry): a run cut short after its first change."""

    def record(change: Any) -> None:
        store.record_change(
            change.decision_id, change.policy, change.kind, change.name, change.value, change.state, change.detail
        )
        fault()

    return record
