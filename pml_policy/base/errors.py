"""One exception hierarchy; each class carries the process exit code it maps to (DESIGN.md)."""

from __future__ import annotations

EXIT_PASS = 0
EXIT_POLICY_FAILED = 1
EXIT_USAGE = 2
EXIT_EVIDENCE = 3


class PmlError(Exception):
    """Base of every error a user can cause; the CLI turns it into a message and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(PmlError):
    """Bad command-line usage or arguments."""


class PolicyError(PmlError):
    """One or more policy or waiver files are invalid; ``errors`` holds every located error."""

    def __init__(self, errors: list) -> None:
        self.errors = errors
        count = len(errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in policy files")

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors) + f"\n{self.message}"


class NoPolicyApplies(PmlError):
    """No loaded policy applies to a subject: never a pass."""


class EvidenceError(PmlError):
    """The evidence for a subject could not be read (missing folder, malformed file, server down)."""

    exit_code = EXIT_EVIDENCE


class NotInRegistry(EvidenceError):
    """The registry answered that the model, version or alias asked for does not exist: asking
    again will not change that (the service settles such a job at once instead of retrying it)."""


class Unreadable(PmlError):
    """A file that cannot be read as text: missing, unreadable, not a regular file, too large, or
    not UTF-8. `reason` is the message without the path; callers re-raise it as their own class
    (evidence: exit 3; a policy file: a located error)."""

    exit_code = EXIT_EVIDENCE

    def __init__(self, path: str, reason: str, hint: str | None = None, line: int | None = None) -> None:
        super().__init__(f"{path}{f':{line}' if line else ''}: {reason}", hint)
        self.path, self.reason, self.line = path, reason, line


class PolicyConflict(PmlError):
    """A policy name and version already recorded with other text: a changed policy needs a new version."""


class AuditError(PmlError):
    """The audit log cannot be opened, read or written: no decision is reported unrecorded."""

    exit_code = EXIT_EVIDENCE


class NotRecorded(AuditError):
    """The log has no such record (a CLI read: exit 3; the service: 404)."""


class NoAuditLog(AuditError):
    """There is no audit log at the URL yet (readers never create one)."""


class Refused(UsageError):
    """The actor may not do this: not a member of the role, or the one who trained the model
    (exit 2; the service: 403)."""
