"""A solver's model as evidence a person can read and `check` can decide: an evidence folder
(`pml.yaml` with model, run, params and tags; `metrics.json`; archived files; a model card), and
beside it the champion's folder, the monitoring report and the context data where they matter.

No witness is shown or written unless the real engine, run on those very files, gives the rules
the outcomes the solver claimed (`confirm`): the analysis models values as reals and strings, the
engine computes with floats, and a witness is evidence, not a model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
import z3

from . import regexes
from .symbolic import BOOL, DUR, LIST, NUM, REC, STR, TIME
from .universe import ABSENT, UNUSABLE, Slot, Universe

_SUBJECT_ROOTS = ("metrics", "params", "tags", "model", "run", "card", "monitoring", "data")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Evidence:
    """One subject's files, and what goes beside it."""

    manifest: dict[str, Any] = field(default_factory=dict)  # pml.yaml: model, run, params, tags
    metrics: dict[str, Any] = field(default_factory=dict)  # metrics.json
    artifacts: list[str] = field(default_factory=list)
    card: dict[str, Any] | None = None  # model_card.md front matter
    monitoring: dict[str, Any] | None = None
    data: dict[str, Any] | None = None

    def shown(self) -> dict[str, Any]:
        """As YAML shows it: a pml.yaml with its metrics inline, and the rest beside."""
        out: dict[str, Any] = {**self.manifest}
        if self.metrics:
            out["metrics"] = self.metrics
        for name in ("artifacts", "card", "monitoring", "data"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass
class Witness:
    subject: Evidence
    champion: Evidence | None
    now: dt.datetime

    def yaml(self) -> str:
        doc: dict[str, Any] = self.subject.shown()
        if self.champion is not None:
            doc["champion"] = self.champion.shown()
        return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100).rstrip()

    def args(self, folder: Path) -> list[str]:
        """The `check` arguments that read the witness once written to `folder`."""
        args = [str(folder)]
        if self.champion is not None:
            args += ["--champion", str(folder / "champion")]
        if self.subject.monitoring is not None:
            args += ["--monitoring", str(folder / "monitoring.json")]
        if self.subject.data is not None:
            args += ["--data", str(folder / "data.yaml")]
        return args

    def write(self, folder: Path, readme: str | None = None) -> list[str]:
        """Write the evidence into `folder`, with champion/, monitoring.json and data.yaml in it
        where they matter (and a README line); returns the `check` arguments that read them."""
        _write_folder(self.subject, folder)
        if self.champion is not None:
            _write_folder(self.champion, folder / "champion")
        if self.subject.monitoring is not None:
            (folder / "monitoring.json").write_text(json.dumps(self.subject.monitoring, indent=2) + "\n")
        if self.subject.data is not None:
            (folder / "data.yaml").write_text(yaml.safe_dump(self.subject.data, sort_keys=False))
        if readme is not None:
            (folder / "README").write_text(readme.rstrip("\n") + "\n")
        return self.args(folder)


def _write_folder(e: Evidence, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pml.yaml").write_text(yaml.safe_dump(e.manifest, sort_keys=False) if e.manifest else "{}\n")
    (folder / "metrics.json").write_text(json.dumps(e.metrics, indent=2) + "\n")
    # The card is an archived file too: it takes the name a rule's `artifact` test wants, or README.md.
    card_name = "model_card.md" if "model_card.md" in e.artifacts else "README.md" if e.card is not None else None
    for path in e.artifacts:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path != card_name:
            target.write_text("archived by the training run\n")
    if card_name is not None:
        front = f"---\n{yaml.safe_dump(e.card, sort_keys=False)}---\n" if e.card is not None else ""
        (folder / card_name).write_text(front + "# Model card\n")


def witness(u: Universe, model: z3.ModelRef, used: set[str]) -> Witness:
    """The evidence a model describes. `used`: the names of the variables the query read (a
    string slot read as a number or a timestamp is written as that number or timestamp)."""
    now = _EPOCH + dt.timedelta(seconds=float(_real(model, u.now)))
    subject, champion = Evidence(), Evidence()
    for path, slot in u.slots.items():
        if path[0] == "?" or str(slot.state) not in used:
            continue  # evidence the query does not read stays out: the witness shows only what matters
        state = model.eval(slot.state, model_completion=True).as_long()
        if state == ABSENT:
            continue
        value = None if state == UNUSABLE else _value(model, slot, used)
        target, rest = (champion, path[1:]) if path[0] == "champion" else (subject, path)
        _place(target, rest, value)
    for name, atom in u.atoms.items():
        if str(atom) not in used or not z3.is_true(model.eval(atom, model_completion=True)):
            continue
        if name.startswith("alias:"):
            subject.manifest.setdefault("model", {}).setdefault("aliases", []).append(name.removeprefix("alias:"))
        elif name.startswith('artifact "'):
            subject.artifacts.append(_concrete_file(name[len('artifact "') : -1]))
    has_champion = str(u.champion) in used and z3.is_true(model.eval(u.champion, model_completion=True))
    return Witness(subject, champion if has_champion else None, now)


_DECIMAL = regexes.search(r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$")  # values._DECIMAL
_DIGITS = z3.Plus(z3.Range("0", "9"))
_ISO_START = regexes.search("^[0-9]")  # fromisoformat reads nothing else


def realizable(u: Universe, used: set[str]) -> list[z3.BoolRef]:
    """What a string slot's text must be for the engine to read it as the solver did: a param not
    read as a number is no decimal, a string not read as a timestamp starts with no digit; where the
    text itself is written, a param read as a number is a whole number in digits (z3 converts those
    only). Under-approximations, for witnesses only: proofs never use them."""
    out = []
    for slot in u.slots.values():
        v = slot.vars
        if STR not in v or str(slot.state) not in used:
            continue
        text = v[STR]
        assert _DECIMAL is not None and _ISO_START is not None
        if "number_ok" in v:
            out.append(z3.Implies(z3.Not(v["number_ok"]), z3.Not(z3.InRe(text, _DECIMAL))))
            if str(text) in used:
                digits = z3.And(z3.InRe(text, _DIGITS), v["number"] == z3.ToReal(z3.StrToInt(text)))
                out.append(z3.Implies(v["number_ok"], digits))
        out.append(z3.Implies(z3.Not(v["time_ok"]), z3.Not(z3.InRe(text, _ISO_START))))
    return out


def _place(e: Evidence, path: tuple[str, ...], value: Any) -> None:
    root, rest = path[0], path[1:]
    if not rest:
        if root == "card" and e.card is None:
            e.card = {}
        elif root in ("monitoring", "data") and getattr(e, root) is None:
            setattr(e, root, {})
        return
    if root == "metrics":
        e.metrics[rest[0]] = value
    elif root in ("params", "tags"):
        e.manifest.setdefault(root, {})[rest[0]] = value
    elif root in ("model", "run"):
        if rest[0] != "aliases" and rest[0] != "datasets":
            e.manifest.setdefault(root, {})[rest[0]] = value
    elif root == "card":
        e.card = e.card or {}
        e.card[rest[0]] = value
    elif root in ("monitoring", "data"):
        mapping = getattr(e, root)
        if mapping is None:
            mapping = {}
            setattr(e, root, mapping)
        for key in rest[:-1]:
            if not isinstance(mapping.get(key), dict):
                mapping[key] = {}  # a value read both whole and by its fields: the engine decides which holds
            mapping = mapping[key]
        mapping[rest[-1]] = value


def _value(model: z3.ModelRef, slot: Slot, used: set[str]) -> Any:
    kind = (
        slot.kinds[model.eval(slot.kind, model_completion=True).as_long()] if slot.kind is not None else slot.kinds[0]
    )
    v = slot.vars
    if kind == NUM:
        number = _real(model, v[NUM])
        return int(number) if slot.path[-2:] == ("model", "version") else _float(number)
    if kind == STR:
        return _text(model, v, used)
    if kind == BOOL:
        return z3.is_true(model.eval(v[BOOL], model_completion=True))
    if kind == TIME:
        return _iso(_real(model, v[TIME]))
    if kind == DUR:
        return _float(_real(model, v[DUR]))  # no evidence holds a duration: the engine will disagree
    length = model.eval(v["length"], model_completion=True).as_long()
    if kind == LIST:
        return [f"item {i + 1}" for i in range(min(length, 20))]
    assert kind == REC
    return {f"key{i + 1}": i + 1 for i in range(min(length, 20))}


def _text(model: z3.ModelRef, v: dict[str, z3.ExprRef], used: set[str]) -> str:
    """A string slot as written: the reading the query relies on (as a timestamp, as itself, as a
    number), which `realizable` keeps consistent with the others."""

    def holds(name: str) -> bool:
        return z3.is_true(model.eval(v[name], model_completion=True))

    def reads(*names: str) -> bool:
        return any(name in v and str(v[name]) in used for name in names)

    if reads("time") and holds("time_ok"):
        return _iso(_real(model, v["time"]))
    if not reads(STR):
        if reads("number", "number_ok") and holds("number_ok"):
            return _decimal(_real(model, v["number"]))
        if reads("time_ok") and holds("time_ok"):
            return _iso(_real(model, v["time"]))
    return model.eval(v[STR], model_completion=True).as_string()


def _real(model: z3.ModelRef, term: z3.ArithRef) -> Fraction:
    v = model.eval(term, model_completion=True)
    if z3.is_algebraic_value(v):
        v = v.approx(20)
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    return Fraction(v.numerator_as_long(), v.denominator_as_long())


def _float(v: Fraction) -> float | int:
    return int(v) if v.denominator == 1 and abs(v) < 2**53 else float(v)


def _decimal(v: Fraction) -> str:
    f = _float(v)
    return str(f) if isinstance(f, int) else repr(f)


def _iso(seconds: Fraction) -> str:
    return (_EPOCH + dt.timedelta(seconds=float(seconds))).isoformat().replace("+00:00", "Z")


def _concrete_file(pattern: str) -> str:
    """A file name an artifact glob matches (checked: the engine decides on the files written)."""

    def one(m: re.Match[str]) -> str:
        body = m.group(1)
        if not body.startswith("!"):
            return body[0]
        return next((c for c in "x_0aZ9-" if c not in body), "~")

    return re.sub(r"\[([^\]]+)\]", one, pattern).replace("*", "x").replace("?", "x")


def variables(formulas: Iterable[z3.ExprRef]) -> set[str]:
    """The names of the uninterpreted constants the formulas mention."""
    seen: set[int] = set()
    names: set[str] = set()
    stack = list(formulas)
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            names.add(str(e))
        else:
            stack.extend(e.children())
    return names


Outcomes = dict[tuple[str, str], str]  # (policy, rule) -> the rule's outcome


def confirm(w: Witness, policy_sets: list[Any], folder: Path, readme: str | None = None) -> list[Outcomes]:
    """What the engine decides on the witness once written to `folder`, under each policy set:
    each rule's outcome, as `pml-policy check` of those files gives it at the witness's time
    (an empty mapping where no policy applies)."""
    from pml_policy.adapters.local import LocalAdapter
    from pml_policy.adapters.monitoring import read_report
    from pml_policy.base.errors import NoPolicyApplies, UsageError
    from pml_policy.base.mappings import read_mapping
    from pml_policy.engine.python_backend import PythonBackend

    args = w.write(folder, readme)
    named = dict(zip(args[1::2], args[2::2]))
    adapter = LocalAdapter()
    subject = adapter.fetch(args[0])
    if "--monitoring" in named:
        subject = subject.with_monitoring(read_report(Path(named["--monitoring"])))
    champion = adapter.fetch(named["--champion"]) if "--champion" in named else None
    data = read_mapping(Path(named["--data"]), UsageError, "the top level") if "--data" in named else {}
    decided: list[Outcomes] = []
    for policies in policy_sets:
        try:
            decision = PythonBackend().evaluate(policies, subject, champion, data, w.now)
        except NoPolicyApplies:
            decided.append({})
            continue
        decided.append({(p.name, r.rule): str(r.outcome) for p in decision.policies for r in p.rules})
    return decided
