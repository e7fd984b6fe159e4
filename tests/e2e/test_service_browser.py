"""No web page drives the service (the service as a real process, called over HTTP the way a browser
would call it): a cross-site simple POST, a DNS-rebound Host, a form body; and without tokens the
service is read-only unless it was started with --local-admin."""

from __future__ import annotations

import json

import httpx

from .serving import INLINE, Service


def _post(service: Service, path: str, **kwargs) -> httpx.Response:
    return httpx.post(service.url + path, timeout=30, **kwargs)


def test_without_tokens_the_service_is_read_only_unless_told(workspace):
    quiet = Service(workspace, "--read-only")
    try:
        refused = _post(quiet, "/v1/check", json={"subjects": [INLINE]})
        assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
        assert _post(quiet, "/v1/policies/reload").status_code == 403
        assert httpx.get(quiet.url + "/v1/decisions", timeout=30).status_code == 200  # reading stays open
        assert "read only (--local-admin lets callers act)" in quiet.log.read_text()
    finally:
        quiet.stop()


def test_a_page_in_a_browser_cannot_make_the_service_do_anything(service, workspace):
    """What a page on another site can send without asking (a form, text/plain, no preflight), to a
    service whose every loopback caller is the local admin."""
    evil = {"Origin": "http://evil.example"}
    form = _post(service, "/v1/check", headers=evil, data={"refs": "x"})
    assert form.status_code == 403 and "http://evil.example" in form.json()["detail"]
    text = _post(
        service, "/v1/check", headers={**evil, "Content-Type": "text/plain"}, content=json.dumps({"subjects": [INLINE]})
    )
    assert text.status_code == 403
    assert _post(service, "/v1/policies/reload", headers=evil).status_code == 403
    assert httpx.get(service.url + "/v1/decisions", headers=evil, timeout=30).status_code == 403
    # Not even a non-browser caller's text/plain body is read as JSON.
    plain = _post(
        service, "/v1/check", headers={"Content-Type": "text/plain"}, content=json.dumps({"subjects": [INLINE]})
    )
    assert plain.status_code == 415 and "application/json" in plain.json()["detail"]
    # Nothing above was decided or recorded.
    assert httpx.get(service.url + "/v1/decisions", timeout=30).json()["decisions"] == []
    # The service's own pages (its origin) and tools that send no Origin are served.
    own = _post(service, "/v1/check", headers={"Origin": service.url}, json={"subjects": [INLINE]})
    assert own.status_code == 200, own.text


def test_a_dns_rebound_name_reaches_nothing(service):
    """A page at attacker.example whose name now resolves to 127.0.0.1 sends Host: attacker.example."""
    rebound = httpx.get(service.url + "/v1/decisions", headers={"Host": f"attacker.example:{service.port}"}, timeout=30)
    assert rebound.status_code == 421 and "attacker.example" in rebound.json()["detail"]
    for host in (f"localhost:{service.port}", f"127.0.0.1:{service.port}"):
        assert httpx.get(service.url + "/healthz", headers={"Host": host}, timeout=30).status_code == 200


def test_a_name_and_a_page_the_operator_allows_are_served(workspace):
    allowed = Service(workspace, "--allowed-host", "gov.example.com", "--allowed-origin", "https://portal.example.com")
    try:
        named = httpx.get(allowed.url + "/v1/decisions", headers={"Host": "gov.example.com"}, timeout=30)
        assert named.status_code == 200
        portal = _post(
            allowed, "/v1/check", headers={"Origin": "https://portal.example.com"}, json={"subjects": [INLINE]}
        )
        assert portal.status_code == 200, portal.text
        other = _post(
            allowed, "/v1/check", headers={"Origin": "https://other.example.com"}, json={"subjects": [INLINE]}
        )
        assert other.status_code == 403
    finally:
        allowed.stop()
