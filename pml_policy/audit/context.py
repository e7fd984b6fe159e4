"""Who made a decision and in which CI job. Only the variables named here are read, so tokens and
other secrets in the environment can never reach the audit log."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from pathlib import Path

# system -> (detector variable, {field: variable}); every value is a plain identifier or URL.
_CI = {
    "github-actions": (
        "GITHUB_ACTIONS",
        {
            "run_id": "GITHUB_RUN_ID",
            "run_attempt": "GITHUB_RUN_ATTEMPT",
            "workflow": "GITHUB_WORKFLOW",
            "job": "GITHUB_JOB",
            "repository": "GITHUB_REPOSITORY",
            "ref": "GITHUB_REF",
            "commit": "GITHUB_SHA",
        },
    ),
    "gitlab-ci": (
        "GITLAB_CI",
        {
            "run_id": "CI_PIPELINE_ID",
            "job": "CI_JOB_ID",
            "job_url": "CI_JOB_URL",
            "repository": "CI_PROJECT_PATH",
            "ref": "CI_COMMIT_REF_NAME",
            "commit": "CI_COMMIT_SHA",
        },
    ),
    "jenkins": (
        "JENKINS_URL",
        {
            "run_id": "BUILD_ID",
            "job": "JOB_NAME",
            "job_url": "BUILD_URL",
            "ref": "GIT_BRANCH",
            "commit": "GIT_COMMIT",
        },
    ),
}


def ci_context(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The CI system and its run, job URL and commit; {} outside CI."""
    for system, (detector, fields) in _CI.items():
        if env.get(detector):
            ctx = {"system": system, **{k: env[v] for k, v in fields.items() if env.get(v)}}
            if (
                system == "github-actions"
                and "run_id" in ctx
                and env.get("GITHUB_SERVER_URL")
                and env.get("GITHUB_REPOSITORY")
            ):
                ctx["job_url"] = f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{ctx['run_id']}"
            return ctx
    return {}


def actor(env: Mapping[str, str] = os.environ, cwd: Path | None = None) -> str:
    """PML_ACTOR, else the git user (email), else the OS user."""
    found = env.get("PML_ACTOR") or env.get("GIT_AUTHOR_EMAIL") or git_user_email(env, cwd or Path.cwd())
    if found:
        return found
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def git_user_email(env: Mapping[str, str], cwd: Path) -> str | None:
    """user.email as git would resolve it from its config files (system, global, repository; the
    last wins). Read directly: spawning `git config` costs more than recording the decision."""
    home = Path(env.get("HOME", "~")).expanduser()
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path("/etc/gitconfig"), xdg / "git" / "config", home / ".gitconfig"]
    repo = next((d / ".git" for d in (cwd, *cwd.parents) if (d / ".git").is_dir()), None)
    if repo is not None:
        files.append(repo / "config")
    email = None
    for f in files:
        email = _user_email(f) or email
    return email


def _user_email(path: Path) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    section, email = "", None
    for raw in lines:
        line = raw.strip()
        if line.startswith("["):
            section = line[1 : line.find("]")].strip().lower()
        elif section == "user" and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if key.lower() == "email":
                email = value.strip('"')
    return email
