"""Compliance reports as library calls: one report of a period, and the scheduler that writes one
per cron period, restart-safe."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from croniter import croniter
from pydantic import ValidationError

from pml_policy.audit import AuditStore, queries
from pml_policy.audit.signing import PublicKey, read_checkpoint
from pml_policy.base.errors import PmlError, UsageError
from pml_policy.base.escaping import one_line
from pml_policy.base.mappings import read_mapping
from pml_policy.engine import load
from pml_policy.engine.loader import EXTENSION
from pml_policy.engine.waivers import WaiverSpec
from pml_policy.reports.data import Report, gather
from pml_policy.reports.period import Period, ending_at
from pml_policy.reports.render import Cover, ensure_renderer, render

from .workspace import Workspace

REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json", ".md": "md", ".markdown": "md", ".pdf": "pdf"}
REPORT_CONFIG = "pml-report.yaml"  # the cover and sign-off block, read from here when present
_CONFIG_KEYS = "keys: organisation, title, sign_off (a list of roles)"
MAX_WAIVER_FILES = 500  # policy files read for waivers' expiry dates when no policies are given


@dataclass(frozen=True)
class ChainCheck:
    """How a report verifies the log: in full (the default), from a trusted checkpoint signed by
    the log's key (only what came after it in full), or not at all."""

    enabled: bool = True
    checkpoint: str | None = None
    public_key: str | None = None

    @classmethod
    def of(cls, no_verify: bool, checkpoint: str | None, public_key: str | None) -> ChainCheck:
        if checkpoint and no_verify:
            raise UsageError("--from verifies from a checkpoint, --no-verify not at all: give one of them")
        if checkpoint and not public_key:
            raise UsageError("--from trusts a checkpoint only with its signature: give --public-key FILE")
        return cls(not no_verify, checkpoint, public_key)


@dataclass
class Rendered:
    text: str | bytes  # bytes for a PDF
    report: Report

    @property
    def chain_ok(self) -> bool:
        """Whether the audit chain is intact (or was not verified)."""
        return self.report.chain.ok is not False


def format_of(output: str | None, fmt: str | None = None) -> str:
    """The format asked for, or the one the output file's extension names; md on stdout. An
    extension that names another format than the one asked for, or none at all when no format is
    asked for, is a UsageError: never a Markdown file under another name."""
    suffix = Path(output).suffix.lower() if output else ""
    named = REPORT_SUFFIXES.get(suffix)
    if fmt and named and named != fmt:
        raise UsageError(f"-o {output} names a {named} file, but --format is {fmt}", f"write it to a .{fmt} file")
    if fmt:
        return fmt
    if output and named is None and Path(output).parent != Path("/dev"):
        known = ", ".join(sorted(REPORT_SUFFIXES))
        raise UsageError(f"cannot tell the report format from -o {output}", f"give --format, or a name ending {known}")
    return named or "md"


def read_cover(
    config_file: str | None, organisation: str | None, title: str | None, sign_off: tuple[str, ...] = ()
) -> Cover:
    """The cover and sign-off block: a report config file (YAML: organisation, title, sign_off;
    ./pml-report.yaml when present), with options over it."""
    path = Path(config_file) if config_file else Path(REPORT_CONFIG)
    values: dict[str, object] = {}
    if config_file or path.is_file():
        values = read_mapping(path, UsageError, "a report config", _CONFIG_KEYS)
    values.update({k: v for k, v in (("organisation", organisation), ("title", title)) if v})
    if sign_off:
        values["sign_off"] = list(sign_off)
    try:
        return Cover.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"{path}: {one_line(problems)}", _CONFIG_KEYS) from None


def make_report(
    ws: Workspace,
    period: Period,
    model: str | None,
    fmt: str,
    template_dir: str | None = None,
    verify: bool | ChainCheck = True,
    cover: Cover | None = None,
) -> Rendered:
    """Gather the period's numbers from the workspace's log and render them; the workspace's
    policies (none is fine) give the waivers' expiry dates and the tags governance sets."""
    ensure_renderer(fmt)  # before reading a log that may take a while
    store = ws.log.store(create=False)
    policies = ws.policies
    waivers, waivers_from = _waivers(ws, store)
    how = verify if isinstance(verify, ChainCheck) else ChainCheck(verify)
    trusted = None
    if how.checkpoint and how.public_key:
        key = PublicKey(how.public_key)
        tree = read_checkpoint(how.checkpoint, key)
        if isinstance(tree, tuple):
            raise UsageError(f"--from {how.checkpoint}: a checkpoint of an earlier release (no tree): write a new one")
        trusted = (tree, key)
    now = dt.datetime.now(dt.UTC)
    data = gather(
        store,
        period,
        model,
        waivers,
        now,
        verify=how.enabled,
        managed=policies.managed_tags,
        trusted=trusted,
        waivers_from=waivers_from,
    )
    return Rendered(render(data, fmt, template_dir, cover), data)


def _waivers(ws: Workspace, store: AuditStore) -> tuple[list[WaiverSpec], str | None]:
    """The waivers whose expiry dates the report shows, and where they were read: the policies
    given, else the files the log registered its policy versions from and those beside them (where
    they still are), else nowhere (the report then says it cannot tell, never "none")."""
    if ws.policies.files:
        return list(ws.policies.waivers.all), f"the policies given ({len(ws.policies.files)} files)"
    # The files the log registered its policies from, and the policy files beside them (waivers live
    # beside policies): each folder listed, never walked (a policy once checked from /tmp must not
    # send a report through every folder under it).
    registered = [Path(s) for s in queries.policy_sources(store.db) if Path(s).is_file()]
    folders = sorted({f.parent for f in registered})
    if not folders:
        return [], None
    files = sorted({*registered, *(f for folder in folders for f in folder.glob("*" + EXTENSION) if f.is_file())})
    if len(files) > MAX_WAIVER_FILES:  # not a policy folder: nothing to vouch for, in bounded time
        return [], None
    try:
        waivers = list(load(files).waivers.all)
    except PmlError:  # changed or broken since: their waivers are not the log's to vouch for
        return [], None
    return waivers, "the folders the log registered its policies from: " + ", ".join(str(f) for f in folders)


def run_schedule(
    cron: str,
    out_dir: Path,
    fmt: str,
    write: Callable[[Period, Path], object],
    once: bool = False,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    skipped: Callable[[Path], None] = lambda _path: None,
) -> None:
    """At each fire time, the report of the period since the previous fire time, unless its file
    exists (a restart writes no duplicate). Starts by catching up the last completed period."""
    if not croniter.is_valid(cron):
        raise UsageError(f"--schedule {cron!r} is not a cron expression", 'e.g. "0 6 * * MON" (Mondays at 06:00 UTC)')
    out_dir.mkdir(parents=True, exist_ok=True)
    handled: dt.datetime | None = None
    while True:
        latest = croniter(cron, now()).get_prev(dt.datetime)
        # Every period that ended since the last one handled (a slow report must not skip one);
        # on start, the last completed period only.
        fires = _fires_between(cron, handled, latest) if handled else [latest]
        for fire in fires:
            period = ending_at(fire, croniter(cron, fire).get_prev(dt.datetime))
            path = out_dir / f"report-{period.slug}.{fmt}"
            if path.exists():
                skipped(path)
            else:
                write(period, path)
        handled = latest
        if once:
            return
        wake = croniter(cron, now()).get_next(dt.datetime)
        sleep(max((wake - now()).total_seconds(), 0) + 0.05)


def _fires_between(cron: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times in (after, until]."""
    step, fires = croniter(cron, after), []
    while (fire := step.get_next(dt.datetime)) <= until:
        fires.append(fire)
    return fires
