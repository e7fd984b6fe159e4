"""The Then steps of a scenario: what was decided, compared with what the scenario states. A Then
before any When is a ScenarioMistake; a decision other than the one stated is a ScenarioFailure
that names the rule and its values."""

from __future__ import annotations

from pml_policy.engine import PolicySet
from pml_policy.engine.decision import Decision, RuleResult
from pml_policy.engine.diagnostics import did_you_mean

from .errors import ScenarioFailure, ScenarioMistake

# How a Then step names a rule outcome, and how a message says what happened instead.
OUTCOME_OF = {
    "passes": "pass",
    "fails": "fail",
    "is skipped": "skip",
    "is waived": "waived",
    "is pending": "pending",
    "errors": "error",
}
SAYS = {v: k for k, v in OUTCOME_OF.items()}


def closest(word: str, known: list[str]) -> str:
    """`did you mean "x"?` when something is close, else the list of what is known."""
    return did_you_mean(word, known) or "known: " + (", ".join(f'"{k}"' for k in known) or "none")


class Expectations:
    """The Then half of a scenario's state (state.ScenarioState builds the Given and When half)."""

    decision: Decision | None
    scope: str | None  # the one policy evaluated, or None for all
    last_rule: RuleResult | None

    def mistake(self, message: str, hint: str | None = None) -> ScenarioMistake:
        raise NotImplementedError

    def policies(self) -> PolicySet:
        raise NotImplementedError

    def shown_paths(self) -> str:
        raise NotImplementedError

    def decided(self) -> Decision:
        if self.decision is None:
            raise self.mistake(
                "nothing has been evaluated yet",
                'put `When all policies are evaluated` (or `When the policy "NAME" is evaluated`) before the Then '
                "steps",
            )
        return self.decision

    def expect_decision(self, outcome: str) -> None:
        if outcome not in ("pass", "warn", "pending", "fail"):
            raise self.mistake(f'a decision is pass, warn, pending or fail, not "{outcome}"')
        d = self.decided()
        if d.outcome != outcome:
            why = [
                f"  {r.ref} {SAYS[r.outcome]} ({r.enforce}): {r.message}"
                for r in d.rules
                if r.outcome not in ("pass", "skip")
            ]
            raise ScenarioFailure(
                f"the decision is {d.outcome}; the scenario expects {outcome}"
                + ("\n" + "\n".join(why) if why else ": every rule passed or was skipped")
            )

    def known_rule(self, ref: str) -> tuple[str, str]:
        """(policy, rule) for "policy/rule", or for "rule" when one policy (or the one evaluated) has it."""
        known = [(p.name, r.id) for p in self.policies().policies for r in p.rules]
        if "/" in ref:
            policy, _, rule = ref.partition("/")
            if (policy, rule) in known:
                return policy, rule
            raise self.mistake(
                f'no rule "{ref}" in {self.shown_paths()}; {closest(ref, [f"{p}/{r}" for p, r in known])}'
            )
        owners = [p for p, r in known if r == ref]
        if self.scope in owners:
            owners = [self.scope]
        if len(owners) == 1:
            return owners[0], ref
        if not owners:
            raise self.mistake(
                f'no rule "{ref}" in {self.shown_paths()}; {closest(ref, sorted({r for _, r in known}))}'
            )
        raise self.mistake(
            f'the rule "{ref}" is in several policies: {", ".join(owners)}', f'name it as "POLICY/{ref}"'
        )

    def rule_result(self, ref: str) -> RuleResult:
        policy, rule = self.known_rule(ref)
        d = self.decided()
        for r in d.rules:
            if r.policy == policy and r.rule == rule:
                self.last_rule = r
                return r
        why = (
            f'only the policy "{self.scope}" was evaluated'
            if self.scope
            else f'the policy "{policy}" does not apply to model "{d.subject.model}"'
        )
        raise self.mistake(f"the rule {policy}/{rule} was not evaluated: {why}")

    def expect_rule(self, ref: str, said: str) -> None:
        r = self.rule_result(ref)
        if said == "warns":  # an advisory rule that failed: the decision warns, it does not fail
            if r.outcome != "fail" or r.enforce != "advisory":
                shown = f"{SAYS[r.outcome]} ({r.enforce})" if r.outcome == "fail" else SAYS[r.outcome]
                raise ScenarioFailure(f"the rule {r.ref} {shown}; the scenario says it warns: {r.message}")
            return
        if r.outcome != OUTCOME_OF[said]:
            raise ScenarioFailure(f"the rule {r.ref} {SAYS[r.outcome]}; the scenario says it {said}: {r.message}")

    def expect_message(self, text: str) -> None:
        """In the message of the rule named just before; without one, in any rule's message."""
        if self.last_rule is not None:
            if text not in self.last_rule.message:
                raise ScenarioFailure(
                    f'the message of {self.last_rule.ref} does not mention "{text}"; it says: {self.last_rule.message}'
                )
            return
        rules = self.decided().rules
        if not any(text in r.message for r in rules):
            raise ScenarioFailure(
                f'no rule\'s message mentions "{text}"; they say:\n'
                + "\n".join(f"  {r.ref}: {r.message}" for r in rules)
            )

    def expect_action(self, text: str, planned: bool) -> None:
        actions = [a.text for a in self.decided().actions]
        found = any(_unquoted(a) == _unquoted(text) for a in actions)  # 'set alias champion' reads the same
        if found != planned:
            listed = "; ".join(actions) or "none"
            raise ScenarioFailure(
                f"the action {text} is {'not ' if planned else ''}planned; the scenario says it is "
                f"{'' if planned else 'not '}planned. Planned: {listed}"
            )

    def expect_no_action(self) -> None:
        actions = [a.text for a in self.decided().actions]
        if actions:
            raise ScenarioFailure(f"actions are planned; the scenario says none is: {'; '.join(actions)}")


def _unquoted(text: str) -> str:
    return text.replace('"', "").replace("'", "")
