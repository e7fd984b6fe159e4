"""The audit log: every decision recorded, hash-chained and verifiable, on SQLite or PostgreSQL.

>>> from pml_policy.audit import AuditStore
>>> store = AuditStore("sqlite:///.pml/audit.db")            # doctest: +SKIP
>>> store.verify().ok                                         # doctest: +SKIP
True
"""

from __future__ import annotations

from .rows import Entry
from .store import AuditStore

__all__ = ["AuditStore", "Entry"]
