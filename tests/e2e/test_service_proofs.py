"""The service's proofs: its latest signed checkpoint, a record's inclusion proof and a decision's
attestation, each checked by an independent implementation (securesystemslib for the envelope,
our RFC 9162 verifier against the signed checkpoint) as a deployment tool would."""

from __future__ import annotations

import base64
import hashlib
import json

from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from pml_policy.audit.signing import keygen
from pml_policy.transparency import keys, merkle, notes

from .serving import INLINE, SECRET, Service

WEIGHTS = hashlib.sha256(b"the model's weights").hexdigest()


def test_checkpoints_proofs_and_attestations_from_the_service(workspace):
    private, public = keygen(workspace / "keys" / "audit")
    env = {"PML_WEBHOOK_SECRET": SECRET, "PML_AUDIT_SIGNING_KEY": str(private), "PML_AUDIT_ORIGIN": "example.com/ml"}
    service = Service(workspace, env=env)
    try:
        pushed = dict(INLINE, artifacts=[{"path": "model.pkl", "size": 20, "sha256": WEIGHTS}])
        decided = service.call("POST", "/v1/check", json={"subjects": [pushed]})
        assert decided.status_code == 200, decided.text
        (record,) = decided.json()["audit"]["records"]
        service.call("POST", "/v1/check", json={"subjects": [dict(pushed, reference="pushed-2")]})

        latest = service.call("GET", "/v1/checkpoints/latest")
        assert latest.status_code == 200 and latest.headers["content-type"].startswith("text/plain")
        note = notes.parse(latest.text)
        tree = notes.Checkpoint.of(note.text)
        assert (tree.origin, tree.size) == ("example.com/ml", 2)
        assert notes.signed_by(note, keys.load_public(public), "example.com/ml") is not None

        proof = service.call("GET", f"/v1/proofs/inclusion/{record['decision']}", params={"tree_size": 2}).json()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        merkle.verify_inclusion(bytes.fromhex(record["hash"]), proof["leaf_index"], 2, hashes, tree.root)
        now = service.call("GET", f"/v1/proofs/inclusion/{record['decision'][:8]}").json()
        assert notes.Checkpoint.of(notes.parse(now["checkpoint"]).text).size == now["tree_size"] == 2
        beyond = service.call("GET", f"/v1/proofs/inclusion/{record['decision']}", params={"tree_size": 9})
        assert beyond.status_code == 422 and beyond.headers["content-type"] == "application/problem+json"

        made = service.call("POST", "/v1/attestations", json={"decision": record["decision"]})
        assert made.status_code == 200, made.text
        envelope = made.json()
        verifier = SSlibKey.from_crypto(keys.load_public(public))
        Envelope.from_dict(json.loads(json.dumps(envelope))).verify([verifier], 1)  # raises unless it verifies
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert statement["subject"] == [{"name": "model.pkl", "digest": {"sha256": WEIGHTS}}]
        assert statement["predicate"]["verificationResult"] == "PASSED"
        assert statement["predicate"]["pml"]["record"]["hash"] == record["hash"]
        assert len(service.call("GET", "/v1/decisions").json()["decisions"]) == 2  # attesting appends nothing

        unknown = service.call("POST", "/v1/attestations", json={"decision": "#99"})
        assert unknown.status_code == 404 and unknown.json()["detail"].startswith("no decision #99")
        extra = service.call("POST", "/v1/attestations", json={"decision": "#1", "model_dir": "/etc"})
        assert extra.status_code == 422  # no path on the server's disk is ever read for a caller
    finally:
        service.stop()


def test_without_a_signing_key_the_service_says_so(service):
    assert service.call("POST", "/v1/check", json={"subjects": [INLINE]}).status_code == 200
    for method, path, body in (
        ("GET", "/v1/checkpoints/latest", None),
        ("POST", "/v1/attestations", {"decision": "#1"}),
        ("GET", "/v1/proofs/inclusion/%231", None),
    ):
        answer = service.call(method, path, json=body)
        assert answer.status_code == 409 and "no signing key" in answer.json()["detail"], (path, answer.text)
    assert service.call("GET", "/v1/proofs/inclusion/%231", params={"tree_size": 1}).status_code == 200
