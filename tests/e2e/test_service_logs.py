"""The service's log as operators ship it (a real process): one JSON object per line from every
logger, uvicorn's included, each request's line with its request id (the caller's X-Request-Id, or
one made and returned), client, route, status and duration; `--log-format text` for a person."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .serving import Service, _wait


def _lines(service: Service) -> list[dict]:
    return [json.loads(line) for line in service.log.read_text().splitlines()]  # every line is JSON


def test_every_line_is_a_json_object_and_requests_carry_their_id(workspace: Path):
    service = Service(workspace)  # the default: --log-format json
    try:
        given = service.call("GET", "/v1/decisions", headers={"X-Request-Id": "deploy-42.a"})
        made = service.call("GET", "/v1/decisions", headers={"X-Request-Id": 'forged" {"level": "ERROR"} ' + "x" * 200})
        assert given.headers["x-request-id"] == "deploy-42.a"
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])  # not a plain token: replaced
        requests = _wait(lambda: [r for r in _lines(service) if r["message"] == "request"][-2:] or None, 10)
        assert [r["request_id"] for r in requests] == ["deploy-42.a", made.headers["x-request-id"]]
        for line in requests:
            assert {"time", "level", "logger", "route", "status", "ms", "client", "actor"} <= set(line)
            assert (line["route"], line["status"], line["client"]) == ("/v1/decisions", 200, "127.0.0.1")
        loggers = {line["logger"] for line in _lines(service)}
        assert {"pml_policy.service", "uvicorn.error"} <= loggers  # uvicorn's own lines are JSON too
        assert all(line["time"].startswith("20") and line["level"] for line in _lines(service))
    finally:
        service.stop()


def test_text_for_a_person(workspace: Path):
    service = Service(workspace, "--log-format", "text")
    try:
        service.call("GET", "/healthz", headers={"X-Request-Id": "r-1"})
        line = _wait(lambda: next((x for x in service.log.read_text().splitlines() if "request_id=r-1" in x), None), 10)
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO pml_policy\.service request method=GET", line)
        assert "route=/healthz status=200" in line
    finally:
        service.stop()


def _client_logged(service: Service, rid: str) -> str:
    line = _wait(lambda: next((x for x in _lines(service) if x.get("request_id") == rid), None), 10)
    return line["client"]


def test_a_forwarded_client_is_believed_only_from_a_proxy_named_so(workspace: Path):
    forged = {"X-Forwarded-For": "203.0.113.9"}
    direct = Service(workspace)
    try:
        direct.call("GET", "/healthz", headers={**forged, "X-Request-Id": "direct"})
        assert _client_logged(direct, "direct") == "127.0.0.1"  # a caller cannot name another client
    finally:
        direct.stop()
    proxied = Service(workspace, "--forwarded-allow-ips", "127.0.0.1")
    try:
        proxied.call("GET", "/healthz", headers={**forged, "X-Request-Id": "proxied"})
        assert _client_logged(proxied, "proxied") == "203.0.113.9"
    finally:
        proxied.stop()
