"""One scenario's world: the candidate, its champion, waivers, context data, and what was decided.

Plain Python, no pytest: the steps only translate a sentence into one call here. A mistake in the
scenario (an unknown policy, a Then before any When) raises ScenarioMistake, located at the step;
a decision other than the one the scenario states raises ScenarioFailure with the rule and values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import yaml

from pml_policy.adapters.base import AdapterConfig
from pml_policy.base.errors import NoPolicyApplies
from pml_policy.engine import PolicySet, Subject, evaluate
from pml_policy.engine.decision import Decision, RuleResult
from pml_policy.engine.signoffs import bound_digest
from pml_policy.engine.waivers import WaiverIndex, WaiverSpec

from . import cells
from .errors import ScenarioMistake
from .expectations import Expectations, closest

SECTIONS = {"metric": "metrics", "param": "params", "tag": "tags", "card field": "card"}
RUN_FIELDS = ("id", "user", "git_commit", "datasets", "start_time")


class ScenarioState(Expectations):
    """What the steps of one scenario have built and decided so far."""

    def __init__(
        self,
        load: Callable[[list[str]], PolicySet],
        policy_paths: list[str],
        record: Callable[[Decision, str], None] | None = None,
        adapters: AdapterConfig | None = None,
    ) -> None:
        self._load = load
        self.adapters = adapters or AdapterConfig()  # how evidence steps reach a registry
        self._record = record
        self.policy_paths = policy_paths
        self.where = ""  # the current step's file:line, set by the plugin before each step
        self.label = ""  # the scenario, as coverage names it
        self.candidate: dict[str, Any] | None = None
        self.champion: dict[str, Any] | None = None
        self.waivers: list[WaiverSpec] = []
        self.data: dict[str, Any] = {}
        self.now: dt.datetime | None = None
        self.decision: Decision | None = None
        self.scope: str | None = None  # the one policy evaluated, or None for all
        self.last_rule: RuleResult | None = None

    def mistake(self, message: str, hint: str | None = None) -> ScenarioMistake:
        return ScenarioMistake(f"{self.where}: {message}" if self.where else message, hint)

    # Given: the policies and the evidence --------------------------------------------------------

    def shown_paths(self) -> str:
        return "the policies loaded from " + ", ".join(self.policy_paths)

    def policies(self) -> PolicySet:
        return self._load(self.policy_paths)

    def use_policies(self, path: str) -> None:
        self.policy_paths = [path]
        self.policies()  # a path that does not exist, or an invalid policy, stops here

    def new_candidate(self, name: str, version: str | None) -> None:
        self.candidate = _draft(name, version, "candidate")

    def new_champion(self, name: str | None, version: str | None) -> None:
        name = name or (self.candidate or {}).get("model", {}).get("name")
        self.champion = _draft(name, version, "champion")

    def read_candidate(self, subject: Subject) -> None:
        self.candidate = subject.model_dump(exclude={"digest"})

    def read_champion(self, subject: Subject) -> None:
        self.champion = subject.model_dump(exclude={"digest"})

    def evidence(self, role: str) -> dict[str, Any]:
        draft = self.candidate if role == "candidate" else self.champion
        if draft is None:
            start = (
                'Given a candidate "credit-scorer" version 7'
                if role == "candidate"
                else "Given a champion with metrics"
            )
            raise self.mistake(f"there is no {role} yet", f"start with a step such as `{start}`")
        return draft

    def set_section(self, role: str, section: str, table: list[list[str]] | None) -> None:
        """metrics, params or tags from a `| name | value |` table."""
        draft = self.evidence(role)
        singular = section[:-1]
        for name, value in cells.pairs(table, f"the {role}'s {section}", singular):
            draft[section][name] = self._value(section, name, value)

    def set_paths(self, role: str, table: list[list[str]] | None) -> None:
        """Any evidence from an `| evidence | value |` table of paths as policies write them; a
        `| metric | value |` (param, tag) table names its section once, in the header."""
        header = table[0][0].strip().lower() if table and len(table[0]) == 2 else ""
        if header in ("metric", "param", "tag", "metrics", "params", "tags"):
            self.set_section(role, SECTIONS.get(header, header), table)
            return
        draft = self.evidence(role)
        for path, value in cells.pairs(table, f"the {role}'s evidence", "evidence"):
            section, _, name = path.partition(".")
            if section in ("metrics", "params", "tags") and name:
                draft[section][name] = self._value(section, name, value)
            elif section == "run" and name in RUN_FIELDS:
                draft["run"][name] = _listed(cells.scalar(value)) if name == "datasets" else value
            else:
                raise self.mistake(
                    f'"{path}" is not evidence a scenario can set',
                    "write metrics.NAME, params.NAME, tags.NAME, or run." + "/run.".join(RUN_FIELDS),
                )

    def _value(self, section: str, name: str, text: str) -> Any:
        if section == "metrics":
            try:
                return cells.number(text, f"metric {name}")
            except ScenarioMistake as exc:
                raise self.mistake(exc.message, exc.hint) from None
        return text if section == "tags" else cells.scalar(text)  # tags are strings in every registry

    def remove(self, role: str, kind: str, name: str) -> None:
        (self.evidence(role)[SECTIONS[kind]] or {}).pop(name, None)  # (a card may be none at all)

    def artifact(self, path: str, archived: bool) -> None:
        draft = self.evidence("candidate")
        draft["artifacts"] = [a for a in draft["artifacts"] if a["path"] != path]
        if archived:
            draft["artifacts"].append({"path": path, "size": 1, "sha256": None})

    def waiver(self, waiver_id: str, rule_ref: str, table: list[list[str]] | None) -> None:
        policy, rule = self.known_rule(rule_ref)
        fields = {k.lower(): v for k, v in cells.pairs(table, f'the waiver "{waiver_id}"', "field")}
        missing = [k for k in ("reason", "approved by", "expires") if not fields.get(k)]
        if missing:
            raise self.mistake(
                f'the waiver "{waiver_id}" needs {", ".join(missing)}',
                "its table has the rows | reason | … |, | approved by | … |, | expires | YYYY-MM-DD |",
            )
        try:
            expires = dt.date.fromisoformat(fields["expires"])
        except ValueError:
            raise self.mistake(
                f'the waiver "{waiver_id}": expires "{fields["expires"]}" is not a date',
                "write it as YYYY-MM-DD, e.g. 2027-01-31",
            ) from None
        model = fields.get("model") or ((self.candidate or {}).get("model", {}).get("name")) or "*"
        self.waivers.append(
            WaiverSpec(
                waiver_id,
                policy,
                rule,
                model,
                fields.get("version", "*"),
                fields["reason"],
                fields["approved by"],
                expires,
                self.where or "scenario",
            )
        )

    def hold_alias(self, alias: str) -> None:
        """The candidate holds a registry alias (the champion, for production policies)."""
        aliases = self.evidence("candidate")["model"].setdefault("aliases", [])
        if alias not in aliases:
            aliases.append(alias)

    def monitoring(self, table: list[list[str]] | None) -> None:
        """The candidate's monitoring report, from `| field | value |` rows (dotted fields nest):
        what `monitoring.…` reads."""
        draft = self.evidence("candidate")
        report = draft.get("monitoring") or {}
        for key, value in cells.pairs(table, "the monitoring report", "field"):
            *parents, leaf = key.removeprefix("monitoring.").split(".")
            node = report
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = cells.scalar(value)
        draft["monitoring"] = report

    def card(self, table: list[list[str]] | None) -> None:
        """The candidate's model card metadata, from `| field | value |` rows: what `card.…` reads
        (flat, with dotted fields, as an archived card's front matter is read)."""
        draft = self.evidence("candidate")
        card = draft.get("card") or {}
        for key, value in cells.pairs(table, "the model card", "field"):
            card[key.removeprefix("card.")] = cells.scalar(value)
        draft["card"] = card

    def context(self, table: list[list[str]] | None, docstring: str | None) -> None:
        if docstring is not None:
            try:
                data = yaml.safe_load(docstring)
            except yaml.YAMLError as exc:
                raise self.mistake(f"the context data is not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise self.mistake("the context data must be a mapping (key: value lines)")
            self.data.update(data)
            return
        for key, value in cells.pairs(table, "the context data", "key"):
            *parents, leaf = key.removeprefix("data.").split(".")
            node = self.data
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = cells.scalar(value)

    def approve(self, approver: str, role: str, until: str | None) -> None:
        """A sign-off bound to the candidate's evidence as it stands now (what `pml-policy approve` records)."""
        roles = self.policies().roles
        if role not in roles:
            raise self.mistake(f'no role "{role}" in {self.shown_paths()}; {closest(role, sorted(roles))}')
        expires = None
        if until is not None:
            try:
                expires = dt.date.fromisoformat(until)
            except ValueError:
                raise self.mistake(f'"{until}" is not a date', "write it as YYYY-MM-DD") from None
        draft = self.evidence("candidate")
        subject = Subject.model_validate(draft)
        approval = {
            "role": role,
            "approver": approver,
            "digest": bound_digest(subject, self.policies().managed_tags),
            "model": subject.model.name,
            "version": subject.model.version,
            "reason": "given in a scenario",
            "expires": expires,
            "time": self.now or dt.datetime.now(dt.UTC),
        }
        draft["approvals"] = [*draft.get("approvals", []), approval]

    def today(self, date: str) -> None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise self.mistake(f'"{date}" is not a date', "write it as YYYY-MM-DD") from None
        self.now = dt.datetime.combine(day, dt.time(12), dt.UTC)

    # When -----------------------------------------------------------------------------------------

    def evaluate(self, policy_name: str | None) -> None:
        policies = self.policies()
        if policy_name is not None:
            names = [p.name for p in policies.policies]
            if policy_name not in names:
                raise self.mistake(
                    f'no policy "{policy_name}" among {self.shown_paths()}; {closest(policy_name, names)}'
                )
            policies = PolicySet(
                [policies.get(policy_name)], policies.waivers, policies.files, policies.roles, policies.member_keys
            )
        waivers = WaiverIndex(policies.waivers.all + self.waivers)
        policies = PolicySet(policies.policies, waivers, policies.files, policies.roles, policies.member_keys)
        candidate = Subject.model_validate(self.evidence("candidate"))
        champion = Subject.model_validate(self.champion) if self.champion else None
        try:
            self.decision = evaluate(policies, candidate, champion, self.data, now=self.now)
        except NoPolicyApplies as exc:
            raise self.mistake(
                exc.message, "name the candidate after a model the policy applies to (its `applies to model`)"
            ) from None
        self.scope, self.last_rule = policy_name, None
        if self._record:
            self._record(self.decision, self.label)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _draft(name: str | None, version: str | None, role: str) -> dict[str, Any]:
    return Subject(
        source="scenario", reference=f"scenario:{role}", model={"name": name, "version": version}
    ).model_dump(exclude={"digest"})
