"""Load policy files and folders into a checked, compiled PolicySet, collecting every error."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pml_policy.base.errors import PolicyError, UsageError
from pml_policy.base.files import files_under
from pml_policy.base.identities import identity

from . import ast, parse_cache
from .checker import check_file, check_set, reads_monitoring
from .diagnostics import Diagnostic
from .formatter import policy_text
from .reading import read_policy
from .rules import CompiledPolicy, compile_policy
from .signoffs import REGISTRY_TAGS, Unbound
from .waivers import WaiverIndex, WaiverSpec, from_ast

EXTENSION = ".pml"


@dataclass
class PolicySet:
    policies: list[CompiledPolicy]
    waivers: WaiverIndex
    files: list[str]
    roles: dict[str, list[str]] = field(default_factory=dict)  # role -> members (1.1)
    member_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> member (identity) -> key

    @property
    def action_tags(self) -> frozenset[str]:
        """The keys the policies' `set tag` actions write (`govern --candidates new` looks for them)."""
        return frozenset(
            a.key for p in self.policies for a in (*p.on_pass, *p.on_fail, *p.on_pending) if isinstance(a, ast.SetTag)
        )

    @property
    def titles(self) -> dict[str, str]:
        """Each policy's title, by name (for the rule help of SARIF)."""
        return {p.name: p.tree.title.value for p in self.policies if p.tree is not None and p.tree.title is not None}

    @property
    def managed_tags(self) -> Unbound:
        """The tags governance sets on versions (the policies' and the registry's own) and the
        `operational tags` other tools set: left out of the evidence an approval binds."""
        patterns = tuple(t for p in self.policies if p.tree for o in p.tree.operational for t in o.patterns)
        return Unbound(REGISTRY_TAGS | self.action_tags, patterns)

    def without_alias(self, alias: str) -> PolicySet:
        """The set without the policies scoped to `alias` (`applies to alias`): what `govern` decides
        promotion with, leaving production policies on the champion alias to `recheck`."""
        kept = [p for p in self.policies if alias not in p.aliases]
        if len(kept) == len(self.policies):
            return self
        return PolicySet(kept, self.waivers, self.files, self.roles, self.member_keys)

    def monitoring_needed(self, model_name: str | None, aliases: list[str] | None = None) -> bool:
        """Whether a policy that applies reads `monitoring.…` (only then is a report looked for)."""
        return any(p.tree is not None and reads_monitoring(p.tree) for p in self.applicable(model_name, aliases))

    def approvals_needed(self, model_name: str | None) -> bool:
        """Whether a policy that applies to the model has a sign-off rule: only then do the use
        cases read approvals from the audit log."""
        return any(p.needs_approval for p in self.applicable(model_name, None))

    def applicable(self, model_name: str | None, aliases: list[str] | None = None) -> list[CompiledPolicy]:
        """The policies for a model (and, given its aliases, for the version that holds them)."""
        return [p for p in self.policies if p.applies_to(model_name, aliases)]

    def get(self, name: str) -> CompiledPolicy:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


def policy_files(paths: Sequence[str | Path]) -> list[Path]:
    """The .pml files named, or found recursively under the folders named, in a stable order."""
    return files_under(paths, EXTENSION, "policy path", "pass a .pml file or a folder of them with -p/--policies")


def digest(policy: ast.Policy) -> str:
    """sha256 of the policy's canonical text (comments and layout do not count)."""
    return hashlib.sha256(policy_text(policy).encode()).hexdigest()


def parse_and_check(files: list[Path]) -> tuple[list[tuple[ast.PolicyFile, str]], list[Diagnostic]]:
    """Parse and check every file; returns every parsed tree and every error of every file.

    Files with errors still take part in the checks across files, so that a waiver is not
    reported as naming a missing policy only because that policy has a typo elsewhere.
    """
    parsed, errors = [], []
    for f in files:
        try:
            text = read_policy(f)
            tree = parse_cache.lookup(str(f), text)
            if tree is None:
                tree, found = _parse_and_check_file(text, str(f))
                errors.extend(found)
        except PolicyError as exc:
            errors.extend(exc.errors)
            continue
        parsed.append((tree, text))
    errors.extend(check_set(parsed))
    return parsed, errors


def _parse_and_check_file(text: str, path: str) -> tuple[ast.PolicyFile, list[Diagnostic]]:
    """Parse and check one file (PolicyError on a syntax error); a file without errors is cached."""
    from .parser import parse_with_errors  # lark: only when the cache has no tree for this text

    tree, errors = parse_with_errors(text, path)
    errors.extend(check_file(tree, text))
    if not errors:
        parse_cache.store(path, text, tree)
    return tree, errors


def load(paths: Sequence[str | Path]) -> PolicySet:
    """Parse, check and compile; raise PolicyError with every error found, or UsageError."""
    return load_with_trees(paths)[0]


def load_with_trees(paths: Sequence[str | Path]) -> tuple[PolicySet, list[ast.PolicyFile]]:
    """`load`, and the checked trees it compiled (with the waivers' and roles' locations): for the
    tools that read the declarations as written, without parsing the files again."""
    files = policy_files(paths)
    if not files:
        raise UsageError(
            f"no {EXTENSION} files under: {', '.join(map(str, paths))}",
            "write a policy, or scaffold some with the starter library in policies/",
        )
    parsed, errors = parse_and_check(files)
    if errors:
        raise PolicyError(errors)
    policies: list[CompiledPolicy] = []
    waivers: list[WaiverSpec] = []
    roles: dict[str, list[str]] = {}
    keys: dict[str, dict[str, str]] = {}
    for tree, _ in parsed:
        for p in tree.policies:
            policies.append(compile_policy(p, digest(p), tree.path))
        waivers.extend(from_ast(w, tree.path) for w in tree.waivers)
        roles.update((r.name, list(r.members.emails if r.members else [])) for r in tree.roles)
        keys.update((r.name, {identity(e): k for e, k in r.members.keys.items()}) for r in tree.roles if r.members)
    trees = [tree for tree, _ in parsed]
    return PolicySet(policies, WaiverIndex(waivers), [str(f) for f in files], roles, keys), trees
