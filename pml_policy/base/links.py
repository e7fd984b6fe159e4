"""Where the project lives on the web: hints, SARIF's rule help and the package metadata point here."""

from __future__ import annotations

HOME = "https://github.com/pml-policy/pml-policy"
DOCS = "https://pml-policy.github.io/pml-policy/"  # the mkdocs site built from docs/ (mkdocs.yml)


def page(path: str, anchor: str = "") -> str:
    """The URL of a docs page, from its path under docs/ without `.md` (e.g. "language")."""
    return f"{DOCS}{path}/" + (f"#{anchor}" if anchor else "")
