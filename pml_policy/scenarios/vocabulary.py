"""The step vocabulary: every sentence a scenario may use, with an example and what it means.

This is the glossary scenario writers work from (`pml-policy test --list-steps`), the source of the
"closest defined steps" shown for an undefined one, and the patterns `steps.py` binds. Plain data:
listing the steps imports neither pytest nor the engine.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass

Q = r'"(?P<{}>[^"]+)"'  # a quoted value: "credit-scorer"


@dataclass(frozen=True)
class Step:
    keyword: str  # Given, When or Then
    pattern: str  # placeholders in capitals, {a|b} for alternatives
    regex: str  # what pytest-bdd matches the whole step text against
    example: str  # a complete example, with its table when it takes one
    meaning: str

    @property
    def kind(self) -> str:
        return self.keyword.lower()

    @property
    def shown(self) -> str:
        """The pattern as the glossary prints it: `the decision is pass | warn | fail`."""
        return _ALTERNATIVES.sub(lambda m: m.group(1).replace("|", " | "), self.pattern)

    def sentences(self, quoted: list[str]) -> list[str]:
        """Every sentence the pattern stands for, its quoted placeholders filled with `quoted` in order
        (after the alternatives are expanded: the user's text may hold braces)."""
        choices = [m.split("|") for m in _ALTERNATIVES.findall(self.pattern)]
        skeleton = _ALTERNATIVES.sub("{}", self.pattern)
        return [_fill(skeleton.format(*c), quoted) for c in itertools.product(*choices)]


_ALTERNATIVES = re.compile(r"\{([^}]*)\}")
_PLACEHOLDER = re.compile(r"[\"'][A-Z/]+[\"']")


def _fill(sentence: str, quoted: list[str]) -> str:
    for hole, value in zip(_PLACEHOLDER.findall(sentence), quoted):
        sentence = sentence.replace(hole, f'"{value}"', 1)
    return sentence


def _q(name: str) -> str:
    return Q.format(name)


ROLE = r"(?:the (?P<role>candidate|champion) is )?"
STEPS: dict[str, Step] = {
    "policies": Step(
        "Given",
        'the policies in "PATH"',
        rf"the policies in {_q('path')}",
        'Given the policies in "policies/starter"',
        "Evaluate the .pml files of this folder (or file), relative to where the tests run. "
        "Without it: -p of `pml-policy test`, else ./policies.",
    ),
    "candidate": Step(
        "Given",
        'a candidate "MODEL" version N',
        rf"a candidate {_q('name')}(?: version (?P<version>\S+))?",
        'Given a candidate "credit-scorer" version 7',
        "A new candidate model with no evidence yet; the steps after it add metrics, params, tags and artifacts.",
    ),
    "candidate_with": Step(
        "Given",
        'a candidate "MODEL" version N with',
        rf"a candidate {_q('name')}(?: version (?P<version>\S+))? with",
        'Given a candidate "credit-scorer" version 7 with\n'
        "  | evidence        | value    |\n"
        "  | metrics.val_auc | 0.86     |\n"
        "  | params.max_depth | 6       |\n"
        "  | tags.use_case   | credit   |\n"
        "  | run.git_commit  | 3e1d0c9f |",
        "A new candidate and its evidence in one table, each row named as policies name it "
        "(metrics.…, params.…, tags.…, run.git_commit, run.user, run.id, run.datasets).",
    ),
    "section": Step(
        "Given",
        "the candidate has {metrics|params|tags}",
        r"the (?P<role>candidate|champion) has (?P<section>metrics|params|tags)",
        "Given the candidate has metrics\n  | metric  | value |\n  | val_auc | 0.86  |\n  | dp_gap  | 3%    |",
        "Metrics, params or tags of the candidate (or of the champion) from a two-column table. "
        "Numbers may be written 0.03 or 3%; tags are kept as text.",
    ),
    "absent": Step(
        "Given",
        'the candidate has no {metric|param|tag|card field} "NAME"',
        rf"the (?P<role>candidate|champion) has no (?P<kind>metric|param|tag|card field) {_q('name')}",
        'Given the candidate has no metric "val_ece"',
        "Take a piece of evidence away (a rule that needs it then errors: missing evidence never passes).",
    ),
    "artifact": Step(
        "Given",
        'the artifact "PATH" is {archived|missing}',
        rf"the artifact {_q('path')} is (?P<state>archived|missing)",
        'Given the artifact "model_card.md" is missing',
        "A file archived with the candidate, or one that is not there.",
    ),
    "champion_metrics": Step(
        "Given",
        "a champion with metrics",
        r"a champion with metrics",
        "Given a champion with metrics\n  | metric  | value |\n  | val_auc | 0.85  |",
        "The model in production, of the same model name, with these metrics (read as champion.metrics.…).",
    ),
    "champion_with": Step(
        "Given",
        'a champion "MODEL" version N with',
        rf"a champion {_q('name')}(?: version (?P<version>\S+))? with",
        'Given a champion "credit-scorer" version 6 with\n  | evidence        | value |\n  | metrics.val_auc | 0.85  |',
        "The model in production and its evidence in one table, as for a candidate.",
    ),
    "no_champion": Step(
        "Given",
        "there is no champion",
        r"there is no champion",
        "Given there is no champion",
        "No model is in production yet (rules `when champion exists` are skipped).",
    ),
    "local": Step(
        "Given",
        'the local subject "FOLDER"',
        ROLE + rf"the local subject {_q('path')}",
        'Given the local subject "examples/credit-pass"\n'
        'And the champion is the local subject "examples/credit-champion"',
        "Real evidence: a run folder (metrics.json, pml.yaml, …) or a W&B offline run, as `pml-policy check` reads it. "
        "The candidate unless it says `the champion is`; later steps may change it.",
    ),
    "mlflow": Step(
        "Given",
        'the MLflow model "NAME" {version N|alias "ALIAS"}',
        ROLE + rf"the MLflow model {_q('name')} (?:version (?P<version>\d+)|alias {_q('alias')})",
        'Given the MLflow model "credit-scorer" alias "challenger"\n'
        'And the champion is the MLflow model "credit-scorer" version 3',
        "Real evidence from the MLflow server at MLFLOW_TRACKING_URI (or --tracking-uri). Needs pml-policy[mlflow].",
    ),
    "waiver": Step(
        "Given",
        'a waiver "ID" for the rule "POLICY/RULE"',
        rf"a waiver {_q('id')} for the rule {_q('rule')}",
        'Given a waiver "RISK-1432" for the rule "fairness-high-risk/parity_gap"\n'
        "  | field       | value                       |\n"
        "  | reason      | Known label delay, tracked  |\n"
        "  | approved by | cro@bank.example            |\n"
        "  | expires     | 2027-01-31                  |",
        "An approved exception for the candidate's model (rows model and version narrow it; version * by default). "
        "It lifts a soft rule until the end of its expiry day; never a hard one.",
    ),
    "context": Step(
        "Given",
        "the context data",
        r"the context data",
        "Given the context data\n"
        "  | key                | value         |\n"
        "  | max_gap.credit     | 5%            |\n"
        "  | approved_datasets  | [train-2026]  |",
        'Values the policies read as data.… (dotted keys nest). A YAML block between """ lines works too.',
    ),
    "today": Step(
        "Given",
        "today is YYYY-MM-DD",
        r"today is (?P<date>\S+)",
        "Given today is 2027-02-01",
        "The date the decision is made (waiver expiry); default: today.",
    ),
    "alias": Step(
        "Given",
        'the candidate holds the alias "ALIAS"',
        rf"the candidate holds the alias {_q('alias')}",
        'Given the candidate holds the alias "champion"',
        "The candidate is the model in production (or holds another registry alias): policies scoped with "
        '`applies to alias "champion"` apply to it.',
    ),
    "monitoring": Step(
        "Given",
        "the monitoring report",
        r"the monitoring report",
        "Given the monitoring report\n"
        "  | field                         | value                |\n"
        "  | computed_at                   | 2027-01-30T06:00:00Z |\n"
        "  | drift.share                   | 10%                  |\n"
        "  | columns.income.drift_detected | false                |",
        "The candidate's latest monitoring report, as policies read it (monitoring.…; dotted fields nest).",
    ),
    "card": Step(
        "Given",
        "the model card",
        r"the model card",
        "Given the model card\n"
        "  | field            | value                          |\n"
        "  | risk_category    | high                           |\n"
        "  | intended_purpose | Retail credit pre-screening    |\n"
        "  | datasets         | [applications-2026-10]         |",
        "The metadata of the candidate's archived model card, as policies read it (card.…; its front matter, "
        "flattened with dots).",
    ),
    "approval": Step(
        "Given",
        '"EMAIL" approved it as "ROLE"',
        rf"{_q('approver')} approved it as {_q('role')}(?: until (?P<until>\S+))?",
        'Given "cro@bank.example" approved it as "model-risk"',
        "A sign-off recorded for the candidate as its evidence stands at this step: evidence changed by a later "
        "step voids it, as it would in the audit log. Add `until YYYY-MM-DD` for its last valid day.",
    ),
    "evaluate_one": Step(
        "When",
        'the policy "NAME" is evaluated',
        rf"the policy {_q('name')} is evaluated",
        'When the policy "promotion-gate" is evaluated',
        "Decide the candidate with this policy alone.",
    ),
    "evaluate_all": Step(
        "When",
        "all policies are evaluated",
        r"all (?:the )?policies are evaluated",
        "When all policies are evaluated",
        "Decide the candidate with every policy that applies to its model, as `pml-policy check` does.",
    ),
    "decision": Step(
        "Then",
        "the decision is {pass|warn|pending|fail}",
        r'the decision is "?(?P<outcome>[a-z]+)"?',
        "Then the decision is fail",
        "The overall outcome: fail if a hard or unwaived soft rule failed or errored; else pending if a sign-off "
        "is awaited; warn if only advisory rules did or a waiver was used.",
    ),
    "rule": Step(
        "Then",
        'the rule "POLICY/RULE" {passes|fails|warns|is skipped|is waived|is pending|errors}',
        rf"the rule {_q('rule')} (?P<said>passes|fails|warns|is skipped|is waived|is pending|errors)",
        'Then the rule "promotion-gate/auc_floor" fails',
        'One rule\'s result. "errors" means its evidence was missing or unusable; "is pending" that it awaits '
        'a sign-off; "warns" that an advisory rule failed (the decision warns, it does not fail). '
        "The policy name may be left out when only one policy has the rule.",
    ),
    "message": Step(
        "Then",
        'the message mentions "TEXT"',
        r"the message mentions (?P<q>[\"'])(?P<text>.+)(?P=q)",
        'Then the message mentions "required >= 0.80"',
        "The explanation of the rule named just before (or of any rule) contains this text.",
    ),
    "action": Step(
        "Then",
        "the action 'ACTION' {is planned|is not planned}",
        r"the action (?P<q>[\"'])(?P<text>.+)(?P=q) is (?P<negated>not )?planned",
        "Then the action 'set alias \"champion\"' is planned\n"
        'And the action \'set tag "governance.status" = "rejected"\' is not planned',
        "A registry change the decision plans (applied only by `--apply`).",
    ),
    "no_action": Step(
        "Then",
        "no action is planned",
        r"no action is planned",
        "Then no action is planned",
        "The decision plans no registry change.",
    ),
}


def closest(keyword: str, text: str, n: int = 3) -> list[str]:
    """The defined sentences nearest to an undefined step, ready to copy (its own keyword preferred)."""
    quoted = re.findall(r'"([^"]*)"', text)
    scored = []
    for s in STEPS.values():
        bonus = 0.05 if s.kind == keyword.lower() else 0.0
        ratio, best = max(
            ((difflib.SequenceMatcher(None, text, x).ratio(), x) for x in s.sentences(quoted)), key=lambda pair: pair[0]
        )
        scored.append((ratio + bonus, f"{s.keyword} {best}"))
    return [sentence for _, sentence in sorted(scored, reverse=True)[:n]]


def glossary() -> str:
    """The whole vocabulary, grouped by keyword, each with its example (for --list-steps)."""
    out: list[str] = []
    for keyword in ("Given", "When", "Then"):
        out.append(f"{keyword} steps ('And' and 'But' continue the one before)\n")
        for s in (s for s in STEPS.values() if s.keyword == keyword):
            out.append(f"  {s.keyword} {s.shown}")
            out.append(f"      {s.meaning}")
            out.extend(f"      {line}" for line in s.example.splitlines())
            out.append("")
    return "\n".join(out)
