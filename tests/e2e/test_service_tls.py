"""`pml-policy serve --ssl-certfile --ssl-keyfile`: the service over HTTPS with a certificate of the
operator's own (made here with `cryptography`), and a wrong certificate or key refused in one line
before anything starts."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .serving import INLINE, Service


def _certificate(folder: Path, name: str = "server", password: bytes | None = None) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pml-policy test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    (folder / f"{name}.key").write_bytes(key_pem)
    return f"{name}.crt", f"{name}.key"


def test_the_service_answers_over_https_only(workspace: Path):
    cert, key = _certificate(workspace)
    service = Service(workspace, "--ssl-certfile", cert, "--ssl-keyfile", key)
    try:
        assert "pml-policy serve: https://127.0.0.1:" in service.log.read_text()
        decided = service.call("POST", "/v1/check", json={"subjects": [INLINE]})
        assert decided.status_code == 200 and decided.json()["outcome"] == "pass", decided.text
        # a page the service serves itself (/docs) is of its https origin, and may call it
        own = service.call("GET", "/v1/decisions", headers={"Origin": service.url})
        assert own.status_code == 200, own.text
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port: no answer
            httpx.get(f"http://127.0.0.1:{service.port}/healthz", timeout=5)
    finally:
        service.stop()


def _serve(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pml_policy.cli", "serve", "--port", "0", "--audit", "sqlite:///audit.db", *args],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # an encrypted key must not wait for a pass phrase
    )


def test_a_wrong_certificate_or_key_is_one_line_before_anything_starts(workspace: Path):
    cert, key = _certificate(workspace)
    _, other_key = _certificate(workspace, "other")
    _, locked_key = _certificate(workspace, "locked", password=b"secret")
    (workspace / "not.pem").write_text("not a certificate\n")
    cases = {
        "no key": (["--ssl-certfile", cert], "--ssl-certfile and --ssl-keyfile go together"),
        "another key": (["--ssl-certfile", cert, "--ssl-keyfile", other_key], f"cannot serve HTTPS with {cert}"),
        "encrypted key": (["--ssl-certfile", cert, "--ssl-keyfile", locked_key], f"cannot serve HTTPS with {cert}"),
        "not PEM": (["--ssl-certfile", "not.pem", "--ssl-keyfile", key], "cannot serve HTTPS with not.pem"),
    }
    for case, (args, says) in cases.items():
        refused = _serve(workspace, *args)
        assert refused.returncode == 2, f"{case}: {refused.stderr}"
        lines = refused.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith(f"error: {says}") and lines[1].startswith("  hint: "), (
            f"{case}: {refused.stderr}"
        )
    assert not (workspace / "audit.db").exists()  # none of them opened the log
