"""People as pml-policy compares them: an approver, a role's member, whoever trained a model, a
service token's name. Identities are e-mail addresses written by many hands (`run.user`, PML_ACTOR,
policy files), so they are compared trimmed and case-folded: `Ana@Example.org ` is ana@example.org,
and cannot approve what ana trained.

>>> same("Ana@EXAMPLE.org ", "ana@example.org")
True
"""

from __future__ import annotations


def identity(who: str) -> str:
    """The form an identity is compared (and recorded as an approver) in."""
    return who.strip().casefold()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and identity(a) == identity(b)
