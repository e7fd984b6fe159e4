"""The console examples of the docs, run as a new user runs them and compared with what they show.

A ```console block holds commands (`$ ...`, a trailing backslash continues one) each followed by
the output it shows; a code block with a `title="PATH"` is a file the reader writes, and is written
there when the page reaches it. Every block of a page runs in order in one shell, in a sandbox
holding the repository's examples, policies and features (so `cd`, files written and decisions
recorded carry over; a page with `<!-- docs-examples: empty folder -->` starts from an empty one),
with stderr merged into stdout. Before comparing, both sides are masked: hashes and ids,
times, durations and the sandbox's path; a line `...` in a shown output stands for any lines.

`python scripts/docs_examples.py` writes what the commands print now into the pages (review the diff).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
_FENCE = re.compile(r"^```([\w-]*)([^\n]*)\n(.*?)^```$", re.S | re.M)
_TITLE = re.compile(r'title="([^"]+)"')
EMPTY = "<!-- docs-examples: empty folder -->"
# A page that needs a server says so: the test starts a fresh one for it and sets its environment.
SERVICES = {"mlflow": "<!-- docs-examples: mlflow -->", "sagemaker": "<!-- docs-examples: sagemaker -->"}


def services(page: Path) -> list[str]:
    text = page.read_text()
    return [name for name, marker in SERVICES.items() if marker in text]


_MASKS = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2}| UTC)?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"[A-Za-z0-9+/]{40,}={0,2}"), "<base64>"),  # keys and roots
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b"), "<duration>"),
]
ANY = "..."
SECONDS = 300


@dataclass
class Command:
    text: str
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    start: int  # offset of its first line in the page
    end: int
    commands: list[Command]
    file: tuple[str, str] | None = None  # a file block: (path, content), no commands


def blocks(text: str, files: bool = False) -> list[Block]:
    """The console blocks of a page (with files: the file blocks too, in page order)."""
    found = []
    for m in _FENCE.finditer(text):
        title = _TITLE.search(m.group(2))
        if files and title:
            found.append(Block(m.start(3), m.end(3), [], (title.group(1), m.group(3))))
        if m.group(1) != "console":
            continue
        commands: list[Command] = []
        continued = False
        for line in m.group(3).splitlines():
            if continued:
                commands[-1].text += "\n" + line
            elif line.startswith("$ "):
                commands.append(Command(line[2:]))
            elif commands:
                commands[-1].shown.append(line)
            else:
                raise ValueError(f"a console block must start with a command ($ ...): {line!r}")
            continued = (continued or line.startswith("$ ")) and line.endswith("\\")
        found.append(Block(m.start(3), m.end(3), commands))
    return found


def sandbox(where: Path, page: Path) -> Path:
    """A folder as a new user's clone has it: the examples, policies and features to run against
    (or nothing, for a page that starts from an empty folder)."""
    if EMPTY not in page.read_text():
        for name in ("examples", "policies", "features"):
            shutil.copytree(ROOT / name, where / name)
    return where


def environment(where: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_", "AWS_", "GITHUB_"))}
    env.pop("PYTHONPATH", None)
    return {
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "HOME": str(where / "home"),
        "XDG_CACHE_HOME": str(where / "home" / ".cache"),
        "PML_ACTOR": "analyst@example.com",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **(extra or {}),
    }


def run_page(text: str, where: Path, extra: dict[str, str] | None = None) -> list[tuple[Block, list[list[str]]]]:
    """Each console block of the page's text with what each of its commands prints now (the
    page's blocks in one shell, its file blocks written as it reaches them)."""
    items = blocks(text, files=True)
    found = [b for b in items if b.file is None]
    commands = [c for b in found for c in b.commands]
    if not commands:
        return []
    marker = "\x1e pml-docs-example"
    script = "exec 2>&1\n"
    for b in items:
        if b.file is not None:
            path, content = b.file
            script += f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}' <<'PML_DOCS_FILE'\n{content}PML_DOCS_FILE\n"
        script += "".join(f"printf '%s\\n' '{marker}'\n{c.text}\n" for c in b.commands)
    (where / "home").mkdir(exist_ok=True)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=where,
        env=environment(where, extra),
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    outputs = [part.splitlines() for part in done.stdout.split(marker + "\n")[1:]]
    outputs += [[] for _ in range(len(commands) - len(outputs))]
    ran, i = [], 0
    for b in found:
        ran.append((b, outputs[i : i + len(b.commands)]))
        i += len(b.commands)
    return ran


@contextlib.contextmanager
def _ran(page: Path, extra: dict[str, str] | None) -> Iterator[tuple[str, Path, list[tuple[Block, list[list[str]]]]]]:
    """The page's text, the sandbox its examples ran in (kept while in use), and what they printed."""
    text = page.read_text()
    with tempfile.TemporaryDirectory(prefix="pml-docs-") as tmp:
        where = sandbox(Path(tmp), page)
        yield text, where, run_page(text, where, extra)


def masked(lines: list[str], where: Path) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(str(where), "<sandbox>").rstrip()
        for pattern, mask in _MASKS:
            line = pattern.sub(mask, line)
        out.append(line)
    return out


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether the printed lines are what is shown: a line `...` stands for any lines (none
    included), `...` within a line for any text."""
    if not shown:
        return not printed
    if shown[0].strip() == ANY:
        return any(matches(shown[1:], printed[i:]) for i in range(len(printed) + 1))
    return bool(printed) and _line(shown[0], printed[0]) and matches(shown[1:], printed[1:])


def _line(shown: str, printed: str) -> bool:
    if ANY not in shown:
        return shown == printed
    return re.fullmatch(".*".join(re.escape(part) for part in shown.split(ANY)), printed) is not None


def differences(page: Path, extra: dict[str, str] | None = None) -> list[str]:
    """Each command whose output differs from what the page shows, with both."""
    problems = []
    with _ran(page, extra) as (_, where, ran):
        for block, outputs in ran:
            for command, output in zip(block.commands, outputs, strict=True):
                shown, got = masked(command.shown, where), masked(output, where)
                if not matches(shown, got):
                    problems.append(
                        f"{page.relative_to(ROOT)}: $ {command.text}\n--- shown\n"
                        + "\n".join(shown)
                        + "\n--- printed\n"
                        + "\n".join(got)
                    )
    return problems


def updated(page: Path, extra: dict[str, str] | None = None) -> str:
    """The page with each command's output as it prints now (a `...` kept where the output is long)."""
    with _ran(page, extra) as (text, where, ran):
        for block, outputs in reversed(ran):
            body = []
            for command, output in zip(block.commands, outputs, strict=True):
                body.append("$ " + command.text)
                keep = masked(command.shown, where) if any(ANY in line for line in command.shown) else None
                if keep is not None and matches(keep, masked(output, where)):
                    body += command.shown
                else:
                    body += [line.replace(str(where), "<sandbox>").rstrip() for line in output]
            text = text[: block.start] + "\n".join(body) + "\n" + text[block.end :]
    return text
