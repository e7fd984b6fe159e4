"""The API's pages work offline (the service as a real process, headless Chromium with every address
but loopback unreachable): /docs is served from assets shipped in the package, renders every
operation and an Authorize button that takes a bearer token; --private-docs puts the description
and its pages behind the read role."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from ..support.chromium import chromium
from .serving import Service, _token


def test_docs_render_from_the_service_alone(service: Service, tmp_path: Path):
    page = service.call("GET", "/docs")
    assert page.status_code == 200
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert linked and all(url.startswith("/") for url in linked), linked  # no CDN, no third party
    for url in linked:
        assert service.call("GET", url).status_code == 200, url
    # A browser that reaches nothing but this machine (a proxy that does not exist, loopback excepted).
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9"]
    flags += ["--proxy-bypass-list=127.0.0.1", f"--user-data-dir={tmp_path / 'chromium'}"]
    dom = subprocess.run(
        [chromium(), *flags, "--virtual-time-budget=15000", "--dump-dom", f"{service.url}/docs"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert 'class="btn authorize' in dom, dom[-2000:]  # the bearer scheme: an Authorize button
    shown = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/v1/check", "/v1/decisions"} <= shown, shown


def test_the_description_declares_the_bearer_scheme(service: Service):
    document = service.call("GET", "/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `pml-policy token create NAME --role ROLE`.",
    }
    assert document["paths"]["/v1/check"]["post"]["security"] == [{"HTTPBearer": []}]


def test_private_docs_need_the_read_role(workspace: Path):
    reader = _token(workspace, "dash", "read")
    service = Service(workspace, "--tokens", "tokens.yaml", "--private-docs")
    try:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs-assets/swagger-ui.css"):
            assert service.call("GET", path).status_code == 401, path
            assert service.call("GET", path, reader).status_code == 200, path
    finally:
        service.stop()
    open_docs = Service(workspace, "--tokens", "tokens.yaml")
    try:
        assert httpx.get(f"{open_docs.url}/openapi.json", timeout=30).status_code == 200  # the default
    finally:
        open_docs.stop()
