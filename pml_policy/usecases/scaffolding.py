"""`pml-policy init` and `packs`: the policy packs shipped in the wheel, and a governance repository
written from them (policies, their scenarios, CI, pre-commit, the report's cover, a README of next
steps)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pml_policy import __version__
from pml_policy.base.errors import UsageError

# Where the wheel keeps the packs (pml_policy/policies, …); in a checkout, the repository's own
# folders beside pml_policy/ (pyproject.toml maps one onto the other).
_PACKAGE = Path(__file__).resolve().parents[1]


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


@dataclass(frozen=True)
class Pack:
    name: str  # also its folder under policies/
    description: str
    features: tuple[str, ...] = ()  # scenario files, by stem, under features/
    examples: tuple[str, ...] = ()  # example run folders under examples/, which its scenarios read

    @property
    def policy_files(self) -> list[Path]:
        return sorted((_shipped("policies") / self.name).glob("*.pml"))


PACKS: dict[str, Pack] = {
    pack.name: pack
    for pack in (
        Pack(
            "starter",
            "a promotion gate against the champion, fairness for high-risk uses, documentation, "
            "reproducibility; with example runs to try them on",
            ("promotion-gate", "fairness", "documentation", "reproducibility", "example-runs"),
            ("credit-pass", "credit-warn", "credit-fail", "credit-champion"),
        ),
        Pack(
            "mlflow",
            "a champion gate for MLflow's registry: check models:/NAME@challenger, govern NAME",
            ("mlflow-gate",),
        ),
        Pack(
            "sagemaker",
            "an approval gate for SageMaker Model Registry packages and their reports",
            ("sagemaker-gate",),
        ),
        Pack(
            "production",
            "champions re-checked on monitoring evidence (drift, freshness); reverted when they fail",
            ("production",),
        ),
        Pack("signoff", "model risk signs off high-risk models: a human approval bound to the evidence", ("signoff",)),
        Pack(
            "eu-ai-act",
            "EU AI Act (Art. 9-15) and NIST AI RMF controls training evidence can show; not legal advice",
            ("eu-ai-act",),
            ("credit-high-risk",),
        ),
    )
}
CI_SYSTEMS = {"github": ".github/workflows/governance.yml", "gitlab": ".gitlab-ci.yml", "none": ""}
# `test --min-coverage` in the CI written: what the shipped scenarios reach for every pack, so that
# a team's first pull request is green and a rule added without a scenario is not.
MIN_COVERAGE = 80
_WRITABLE = "choose a folder you can write to"


@dataclass(frozen=True)
class Written:
    root: Path
    files: list[str]  # relative to root, in the order written


def plan(packs: list[str], ci: str) -> dict[str, bytes]:
    """Every file `init` writes, by path relative to the repository, with its content."""
    chosen = [PACKS[name] for name in dict.fromkeys(packs)]
    files: dict[str, bytes] = {}
    for pack in chosen:
        for policy in pack.policy_files:
            files[f"policies/{pack.name}/{policy.name}"] = policy.read_bytes()
        for feature in pack.features:
            files[f"features/{feature}.feature"] = (_shipped("features") / f"{feature}.feature").read_bytes()
        for example in pack.examples:
            for f in sorted((_shipped("examples") / example).iterdir()):
                files[f"examples/{example}/{f.name}"] = f.read_bytes()
    values = {
        "version": __version__,
        "min_coverage": MIN_COVERAGE,
        "packs": [p.name for p in chosen],
        "pack_details": chosen,
        "examples": any(p.examples for p in chosen),
        "ci_file": CI_SYSTEMS[ci] or "add `validate`, `fmt --check` and `test` to your CI",
    }
    files["README.md"] = _render("README.md", values)
    files[".gitignore"] = _render("gitignore", values)
    files[".pre-commit-config.yaml"] = _render("pre-commit-config.yaml", values)
    files["pml-report.yaml"] = _render("pml-report.yaml", values)
    if ci != "none":
        files[CI_SYSTEMS[ci]] = _render(f"{ci}-{'workflow' if ci == 'github' else 'ci'}.yml", values)
    return files


def init(directory: Path, packs: list[str], ci: str) -> Written:
    """Write a governance repository into directory (made if missing). Refuses, writing nothing,
    when any file it would write is already there; a failure part-way leaves nothing either."""
    unknown = [p for p in packs if p not in PACKS]
    if unknown:
        raise UsageError(f"no pack {unknown[0]!r}", f"packs: {', '.join(PACKS)} (see `pml-policy packs`)")
    files = plan(packs, ci)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is not a folder", "give a folder to write the governance repository into")
    taken = [name for name in files if _occupied(directory, name)]
    if taken:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise UsageError(
            f"init would overwrite {len(taken)} file{'s' if len(taken) != 1 else ''} in {directory}: {shown}; "
            "nothing was written",
            "run it in a new folder (pml-policy init DIR), or move those files away",
        )
    _write_all(directory, files)
    return Written(directory, list(files))


def _occupied(directory: Path, name: str) -> bool:
    """Whether something is at name already, or a file (or a link) stands where one of its folders goes."""
    path = directory / name
    if path.exists() or path.is_symlink():
        return True
    return any((directory / p).is_file() or (directory / p).is_symlink() for p in Path(name).parents if p != Path("."))


def _write_all(directory: Path, files: dict[str, bytes]) -> None:
    """Stage every file in a temporary folder inside directory, then move each into place: a full
    disk or a permission error while writing leaves nothing behind (files and folders made)."""
    made: list[Path] = []  # folders this call created, to take away again on failure
    try:
        made = _mkdirs(directory, [])
        staging = Path(tempfile.mkdtemp(prefix=".pml-init-", dir=directory))
    except OSError as exc:
        _remove(made, [])
        raise UsageError(f"cannot write into {directory}: {exc.strerror or exc}", _WRITABLE) from None
    moved: list[Path] = []
    try:
        for name, content in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(content)
        for name in files:
            made += _mkdirs((directory / name).parent, made)
            os.replace(staging / name, directory / name)
            moved.append(directory / name)
    except OSError as exc:
        _remove(made, moved)
        raise UsageError(
            f"cannot write {directory / name}: {exc.strerror or exc}; nothing was left", _WRITABLE
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _mkdirs(folder: Path, made: list[Path]) -> list[Path]:
    """Make folder and its missing parents; the ones made, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists() and p not in made][::-1]
    for path in missing:
        path.mkdir()
    return missing


def _remove(folders: list[Path], files: list[Path]) -> None:
    for f in files:
        f.unlink(missing_ok=True)
    for folder in reversed(folders):  # innermost first; each is empty once its files are gone
        with contextlib.suppress(OSError):
            folder.rmdir()


def _render(template: str, values: dict[str, object]) -> bytes:
    """A scaffold file from pml_policy/scaffold/, with [[ … ]] and [% … %] for Jinja: the files hold
    GitHub's ${{ … }} and shell as they are."""
    import jinja2

    env = jinja2.Environment(
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, Markdown and gitignore: nothing here is HTML
    )
    return env.from_string((_PACKAGE / "scaffold" / template).read_text(encoding="utf-8")).render(values).encode()
