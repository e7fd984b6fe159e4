"""The deploy step a user builds, run from the installed wheel: CI decides and attests, a witness on
another machine cosigns the checkpoint from files alone, and a deploy step holding only the model
folder, the attestation, the checkpoint and two public keys verifies offline. Every forgery a
deploy must refuse is tried: a changed model file, a swapped subject, a forked log, a rolled-back
checkpoint, a forged cosignature."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

from ..helpers import ROOT
from .processes import run


def _pml(wheel_env: Path, cwd: Path, *args: str, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PML_", "MLFLOW_"))}
    return run(
        [str(wheel_env / "pml-policy"), *args],
        cwd,
        {**clean, "PML_AUDIT_URL": f"sqlite:///{cwd}/audit.db", **(env or {})},
    )


def _evidence(where: Path, example: str) -> Path:
    folder = where / example
    shutil.copytree(ROOT / "examples" / example, folder)
    (folder / "model").mkdir()
    (folder / "model.pkl").rename(folder / "model" / "model.pkl")
    (folder / "model" / "signature.json").write_text('{"inputs": ["age", "income"]}')
    return folder


def test_a_deploy_step_verifies_offline_what_ci_attested_and_a_witness_cosigned(wheel_env, tmp_path):
    ci, witness_host, deploy = (tmp_path / name for name in ("ci", "witness", "deploy"))
    for folder in (ci, witness_host, deploy):
        folder.mkdir()
    pml = lambda where, *args, **kw: _pml(wheel_env, where, *args, **kw)  # noqa: E731
    assert pml(ci, "audit", "keygen", "keys/audit").returncode == 0
    assert pml(witness_host, "audit", "keygen", "w1").returncode == 0
    signing = {"PML_AUDIT_SIGNING_KEY": str(ci / "keys" / "audit.key"), "PML_AUDIT_ORIGIN": "example.com/ml-governance"}
    champion = ["--champion", str(ROOT / "examples" / "credit-champion"), "-p", str(ROOT / "policies" / "starter")]

    # CI: a first decision and a published checkpoint, which the witness sees first.
    assert pml(ci, "check", str(_evidence(ci, "credit-warn")), *champion, env=signing).returncode == 0
    assert pml(ci, "audit", "checkpoint", "-o", "monday.checkpoint", env=signing).returncode == 0
    candidate = _evidence(ci, "credit-pass")
    checked = pml(ci, "check", str(candidate), *champion, "--attest-dir", "attestations", env=signing)
    assert checked.returncode == 0 and "1 attestation(s) written to attestations" in checked.stderr
    assert pml(ci, "audit", "checkpoint", "-o", "friday.checkpoint", env=signing).returncode == 0
    proof = pml(ci, "audit", "consistency", "monday.checkpoint", "friday.checkpoint", "-o", "proof.json")
    assert proof.returncode == 0, proof.stderr

    # The witness, elsewhere: only the checkpoints, the proof and the log's public key.
    for name in ("monday.checkpoint", "friday.checkpoint", "proof.json", "keys/audit.pub"):
        shutil.copy(ci / name, witness_host / Path(name).name)
    cosign = ["--key", "w1.key", "--log-key", "audit.pub", "--state", "state"]
    first = pml(witness_host, "audit", "witness", "monday.checkpoint", *cosign)
    assert first.returncode == 0 and "first checkpoint this witness saw" in first.stderr
    second = pml(witness_host, "audit", "witness", "friday.checkpoint", *cosign, "--proof", "proof.json", "-o", "w.cp")
    assert second.returncode == 0 and "consistent with tree size 1" in second.stderr, second.stderr

    # The deploy step: the model folder, the attestation, the cosigned checkpoint, two public keys.
    (attestation,) = (ci / "attestations").glob("*.intoto.json")
    shutil.copytree(candidate / "model", deploy / "model")
    shutil.copy(attestation, deploy / "credit.intoto.json")
    shutil.copy(witness_host / "w.cp", deploy / "witnessed.checkpoint")
    shutil.copy(ci / "keys" / "audit.pub", deploy / "audit.pub")
    shutil.copy(witness_host / "w1.pub", deploy / "w1.pub")
    gate = ["verify-attestation", "credit.intoto.json", "--public-key", "audit.pub", "--model", "model"]
    gate += ["--policy", "promotion-gate", "--checkpoint", "witnessed.checkpoint", "--witness", "w1.pub"]
    # No audit log anywhere near the deploy step: a missing one is never opened.
    offline = {"PML_AUDIT_URL": f"sqlite:///{deploy}/nowhere/audit.db"}
    ok = pml(deploy, *gate, env=offline)
    assert ok.returncode == 0 and ok.stdout.startswith("VERIFIED: ") and "2 model files match" in ok.stdout, ok.stderr
    assert not (deploy / "nowhere").exists()

    # A changed model file.
    (deploy / "model" / "signature.json").write_text('{"inputs": ["age"]}')
    changed = pml(deploy, *gate, env=offline)
    assert changed.returncode == 1 and changed.stderr.startswith("FAILED: signature.json does not hash")
    shutil.copy(candidate / "model" / "signature.json", deploy / "model" / "signature.json")

    # A swapped subject: the payload edited to name other files' digests.
    envelope = json.loads((deploy / "credit.intoto.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (deploy / "swapped.intoto.json").write_text(json.dumps(envelope))
    swapped = pml(deploy, *gate[:1], "swapped.intoto.json", *gate[2:], env=offline)
    assert swapped.returncode == 1 and "no signature on the envelope verifies" in swapped.stderr

    # A forged cosignature: one byte of the witness's signature changed.
    lines = (deploy / "witnessed.checkpoint").read_text().split("\n")
    name, blob = lines[-2].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    lines[-2] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
    (deploy / "forged.checkpoint").write_text("\n".join(lines))
    forged = pml(deploy, *gate[:9], "forged.checkpoint", "--witness", "w1.pub", env=offline)
    assert forged.returncode != 0 and "does not verify" in forged.stderr, forged.stderr

    # A rolled-back checkpoint, then a forked log: the witness refuses both.
    rollback = pml(witness_host, "audit", "witness", "monday.checkpoint", *cosign)
    assert rollback.returncode == 1 and rollback.stderr.startswith("REFUSED: example.com/ml-governance rolled back")
    fork = tmp_path / "fork"
    fork.mkdir()
    shutil.copytree(ci / "keys", fork / "keys")
    forked_env = {**signing, "PML_AUDIT_SIGNING_KEY": str(fork / "keys" / "audit.key")}
    for example in ("credit-fail", "credit-pass"):  # another history under the same name and key
        pml(fork, "check", str(ROOT / "examples" / example), *champion, env=forked_env)
    assert pml(fork, "audit", "checkpoint", "-o", "fork.checkpoint", env=forked_env).returncode == 0
    shutil.copy(fork / "fork.checkpoint", witness_host / "fork.checkpoint")
    same_size = pml(witness_host, "audit", "witness", "fork.checkpoint", *cosign)
    assert same_size.returncode == 1 and "forked: two roots for tree size 2" in same_size.stderr
    pml(fork, "check", str(ROOT / "examples" / "credit-warn"), *champion, env=forked_env)  # and it grows on
    assert pml(fork, "audit", "checkpoint", "-o", "fork3.checkpoint", env=forked_env).returncode == 0
    shutil.copy(fork / "fork3.checkpoint", witness_host / "fork3.checkpoint")
    grown = pml(witness_host, "audit", "witness", "fork3.checkpoint", *cosign, "--audit", f"sqlite:///{fork}/audit.db")
    assert grown.returncode == 1 and "forked: tree size 3 does not extend tree size 2" in grown.stderr, grown.stderr
