"""The planner alone (usecases.plan.plan, a pure function): from the decisions of a model's versions
and the registry as it is, the changes that make the registry say what the policies decided. No
registry is involved: its state is data (RegistryState)."""

from __future__ import annotations

import pytest

from pml_policy.adapters.base import RegistryState
from pml_policy.engine import Decision, Subject, evaluate
from pml_policy.usecases.plan import Change, Fallback, Held, plan, unranked

from ..helpers import NOW, ROOT, subject

GATE = [ROOT / "policies" / "mlflow"]
COMMIT = {"git_commit": "3e1d0c9f77ab"}


@pytest.fixture(scope="module")
def gate():
    from pml_policy.engine import load

    return load(GATE)


def version(n: str, auc: float, aliases: list[str] | None = None) -> Subject:
    return subject(model="credit", version=n, metrics={"val_auc": auc}, run=COMMIT, aliases=aliases)


def decided(gate, *subjects: Subject, champion: Subject | None = None) -> list[tuple[Subject, Decision]]:
    return [(s, evaluate(gate, s, champion, now=NOW)) for s in subjects]


def by_auc(_policy: str, contenders: list[tuple[Subject, Decision]]) -> list[Subject]:
    """The gate's `rank by metrics.val_auc desc`, ties to the newer version (as govern ranks)."""
    return [s for s, _ in sorted(contenders, key=lambda c: (c[0].metrics["val_auc"], int(c[0].model.version)))][::-1]


def shown(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.describe(), c.state, c.detail) for c in changes]


def test_every_version_gets_its_tag_and_the_best_passing_one_the_alias(gate):
    candidates = decided(gate, version("1", 0.70), version("2", 0.86), version("3", 0.84))
    changes = plan(candidates, RegistryState({}), by_auc)
    assert shown(changes) == [
        ('tag governance.status = "rejected" on version 1', "planned", ""),
        ('tag governance.status = "approved" on version 2', "planned", ""),
        ('tag governance.status = "approved" on version 3', "planned", ""),
        ('alias "champion" -> version 2', "planned", ""),
        ('alias "champion" -> version 3', "outranked", "version 2 ranks higher"),
    ]


def test_what_the_registry_already_says_is_unchanged_so_a_second_run_changes_nothing(gate):
    candidates = decided(gate, version("1", 0.70), version("2", 0.86))
    registry = RegistryState(
        {"champion": "2"}, {"1": {"governance.status": "rejected"}, "2": {"governance.status": "approved"}}
    )
    assert {c.state for c in plan(candidates, registry, by_auc)} == {"unchanged"}


def test_a_promotion_says_where_the_alias_comes_from(gate):
    changes = plan(decided(gate, version("4", 0.90)), RegistryState({"champion": "2"}), by_auc)
    assert shown(changes)[-1] == ('alias "champion" -> version 4', "planned", "from version 2")


def test_no_version_whose_decision_failed_receives_the_alias(gate):
    """The soft regression rule fails v5 against its champion: it is tagged rejected, never promoted."""
    champion = version("2", 0.90, aliases=["champion"])
    changes = plan(decided(gate, version("5", 0.85), champion=champion), RegistryState({"champion": "2"}), by_auc)
    assert shown(changes) == [('tag governance.status = "rejected" on version 5', "planned", "")]


def test_a_passing_policy_s_alias_is_withheld_when_another_policy_fails_the_decision(tmp_path):
    from pml_policy.engine import load

    (tmp_path / "owner.pml").write_text('policy "owner" version "1.0.0" { rule owner { require tags.owner exists } }')
    both = load([*GATE, tmp_path / "owner.pml"])
    changes = plan(decided(both, version("6", 0.90)), RegistryState({}), by_auc)
    (alias,) = [c for c in changes if c.kind == "set_alias"]
    assert (alias.state, alias.detail) == (
        "withheld",
        'policy "mlflow-champion-gate" passed, but the decision failed (blocked by owner/owner)',
    )


def test_tags_come_before_aliases_so_a_run_cut_short_never_promotes_an_untagged_version(gate):
    changes = plan(decided(gate, version("1", 0.90), version("2", 0.70)), RegistryState({}), by_auc)
    kinds = [c.kind for c in changes]
    assert kinds == sorted(kinds, key=lambda k: k == "set_alias")


def _drifted_champion(tmp_path, on_fail: str) -> list[tuple[Subject, Decision]]:
    """Version 3, holding the champion alias, failing a production policy whose `on fail` is given."""
    from ..helpers import policies

    production = policies(
        tmp_path,
        'policy "health" version "1.0.0" { applies to alias "champion" rule r { require metrics.drift < 0.3 } '
        f"on fail {{ {on_fail} }} }}",
    )
    drifted = subject(model="credit", version="3", metrics={"drift": 0.5}, aliases=["champion"])
    return [(drifted, evaluate(production, drifted, now=NOW))]


def test_a_revert_goes_to_the_earlier_holder_that_passed_and_is_withheld_without_one(tmp_path):
    candidates = _drifted_champion(tmp_path, 'revert alias "champion"')
    held = RegistryState({"champion": "3"})
    (withheld,) = plan(candidates, held, unranked)  # no way to find an earlier holder: it stays
    assert (withheld.state, withheld.detail) == (
        "withheld",
        'no earlier holder of alias "champion" passes now; it stays',
    )
    nowhere = Fallback(None, None, "version 2 is fail now")
    (withheld,) = plan(candidates, held, unranked, lambda *_: nowhere)
    assert withheld.detail.endswith("it stays (version 2 is fail now)")
    found = Fallback("2", "decision-of-v2", "version 2 passes now on its own evidence")
    (revert,) = plan(candidates, held, unranked, lambda model, alias, v: found)
    assert (revert.describe(), revert.state, revert.decision_id) == (
        'alias "champion" -> version 2',
        "planned",
        "decision-of-v2",
    )
    assert "version 2 passes now on its own evidence" in revert.detail
    (moved_on,) = plan(candidates, RegistryState({"champion": "4"}), unranked, lambda *_: found)
    assert moved_on.state == "unchanged"  # version 3 no longer holds the alias: nothing to revert


def test_a_revert_without_a_target_leaves_tags_that_say_failing_not_reverted(tmp_path):
    candidates = _drifted_champion(tmp_path, 'revert alias "champion" set tag "governance.status" = "reverted"')
    held = RegistryState({"champion": "3"}, {"3": {"governance.status": "approved"}})
    tag, revert = plan(candidates, held, unranked, lambda *_: Fallback(None, None, "version 2 is fail now"))
    assert (revert.state, tag.describe(), tag.state) == (
        "withheld",
        'tag governance.status = "failing" on version 3',
        "planned",
    )
    tag, revert = plan(candidates, held, unranked, lambda *_: Fallback("2", "d2", "version 2 passes now"))
    assert (revert.describe(), tag.value) == ('alias "champion" -> version 2', "reverted")  # it moved: true now


def test_a_version_held_back_never_takes_the_alias_and_its_re_check_tags_stand(tmp_path):
    from ..helpers import policies

    gate = policies(
        tmp_path,
        'policy "gate" version "1.0.0" { rule r { require metrics.auc > 0.8 } '
        'on pass { set alias "champion" set tag "governance.status" = "approved" } }',
    )
    versions = [subject(model="credit", version=v, metrics={"auc": a}) for v, a in (("1", 0.85), ("2", 0.9))]
    candidates = [(s, evaluate(gate, s, now=NOW)) for s in versions]
    why = "version 2 failed its re-check in production and has not changed since"
    held = Held(why, "recheck-7", {"governance.status": ("health", "reverted")})
    live = {"1": {"governance.status": "approved"}, "2": {"governance.status": "reverted"}}
    changes = plan(candidates, RegistryState({"champion": "1"}, live), unranked, held_back={"2": held})
    assert [(c.version, c.kind, c.value, c.state) for c in changes] == [
        ("1", "set_tag", "approved", "unchanged"),
        ("2", "set_tag", "reverted", "unchanged"),  # its promotion decision's "approved" does not come back
        ("2", "set_alias", None, "withheld"),
        ("1", "set_alias", None, "unchanged"),
    ]
    kept = changes[1]
    assert (kept.policy, kept.decision_id, kept.detail) == ("health", "recheck-7", why)  # rests on the re-check
    deleted = plan(candidates, RegistryState({"champion": "1"}, {"2": {}}), unranked, held_back={"2": held})
    assert [(c.value, c.state) for c in deleted if c.version == "2" and c.kind == "set_tag"] == [
        ("reverted", "planned")
    ]
