"""Headless Chromium, the browser the HTML report and the service's pages are opened in."""

from __future__ import annotations

import shutil

from conftest import missing_service


def chromium() -> str:
    """The browser's path; a missing one is a skip (a failure under PML_REQUIRE_SERVICES=1)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    missing_service("Chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable: missing_service skips or fails")
