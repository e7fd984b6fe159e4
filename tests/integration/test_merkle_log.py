"""The Merkle tree kept beside the chain, on SQLite and PostgreSQL: built by every kind of append
(concurrent writers included), the root and proofs an independent RFC 9162 tree computes from
`audit export`, every hand edit of it found by verify, and verify from a trusted checkpoint."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymerkle import InmemoryTree

from pml_policy.audit import AuditStore
from pml_policy.audit.signing import PublicKey, Signer, keygen
from pml_policy.transparency import merkle, notes

from ..helpers import run_cli
from ..support.audit import _decision, _fill, _sql
from ..support.markdown import plain


def _exported(url: str) -> list[bytes]:
    """The leaves as a user gets them: the record hashes `audit export` prints, in order."""
    out = run_cli("audit", "export", "--audit", url)
    assert out.exit_code == 0, out.stderr
    return [bytes.fromhex(json.loads(line)["hash"]) for line in out.stdout.splitlines()]


def test_every_kind_of_append_builds_the_tree_an_independent_implementation_computes(store_url, tmp_path):
    store = _fill(store_url, 3)
    store.append([_decision(), _decision("credit-fail")], "tester", {})  # two records in one transaction
    approval = {"model": "credit-scorer", "version": "1", "role": "risk", "digest": "d" * 64, "approver": "a@x"}
    store.record_approval(approval, "models:/credit-scorer/1", "a@x")
    decision_id = store.records(limit=1, kind="decision")[0]["id"]
    store.record_change(decision_id, "promotion-gate", "set_tag", "governance.status", "approved", "applied")
    with ThreadPoolExecutor(4) as pool:  # writers at once, as replicas append
        list(pool.map(lambda _: AuditStore(store_url).append([_decision()], "tester", {}), range(12)))
    leaves = _exported(store_url)
    reference = InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        reference.append_entry(leaf)
    assert len(leaves) == 19 and store.verify().ok
    for size in (1, 2, 7, 8, 13, 19):
        assert store.tree_root(size) == (size, reference.get_root(size))
        for seq in (1, size // 2 + 1, size):
            proof = store.inclusion(seq, size)
            assert proof.path == reference.prove_inclusion(seq, size).path[1:]
            merkle.verify_inclusion(leaves[seq - 1], seq - 1, size, proof.path, reference.get_root(size))
    for old in (1, 4, 8, 13):
        proof = store.consistency(old, 19)
        merkle.verify_consistency(old, 19, reference.get_root(old), reference.get_root(19), proof.path)
    store.close()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("UPDATE pml_tree SET hash = '00' || substr(hash, 3) WHERE level = 1 AND idx = 1", "leaves 2..3 was changed"),
        ("DELETE FROM pml_tree WHERE level = 2 AND idx = 0", "leaves 0..3 was deleted or moved"),
        ("INSERT INTO pml_tree (level, idx, hash) VALUES (1, 7, '" + "ab" * 32 + "')", "lies outside the tree"),
    ],
)
def test_every_hand_edit_of_the_tree_is_named_by_verify(store_url, edit, problem):
    store = _fill(store_url, 6)
    assert store.verify().ok
    _sql(store_url, edit)
    verdict = store.verify()
    assert not verdict.ok and problem in verdict.problem, verdict
    store.close()


def test_verify_from_a_trusted_checkpoint_pins_what_came_before_and_checks_what_came_after(store_url, tmp_path):
    key, public = keygen(tmp_path / "audit")
    store = AuditStore(store_url, signer=Signer(key))
    for example in ("credit-pass", "credit-fail", "credit-warn", "credit-pass"):
        store.append([_decision(example)], "tester", {})
    note = store.checkpoint(Signer(key), "example.com/log")
    tree = notes.Checkpoint.of(notes.parse(note).text)
    assert (tree.origin, tree.size) == ("example.com/log", 4)
    store.append([_decision("credit-fail")], "tester", {})
    key_ = PublicKey(public)
    assert store.verify_from(tree, key_).ok and store.verify(checkpoint=tree).ok
    # After the checkpoint, everything is checked in full: an edited outcome is found.
    _sql(store_url, "UPDATE pml_decisions SET outcome = 'pass' WHERE seq = 5")
    verdict = store.verify_from(tree, key_)
    assert not verdict.ok and "record #5 was altered" in verdict.problem
    _sql(store_url, "UPDATE pml_decisions SET outcome = 'fail' WHERE seq = 5")
    # Before it, a record's hash must still hash to the root: a rewritten record is found...
    _sql(store_url, "UPDATE pml_decisions SET hash = '" + "0" * 64 + "' WHERE seq = 2")
    verdict = store.verify_from(tree, key_)
    assert not verdict.ok and "records #1 to #4 no longer hash to the checkpoint's root" in verdict.problem
    store.close()


def test_audit_commands_prove_and_witness_a_log_on_either_store(store_url, tmp_path):
    key, public = keygen(tmp_path / "audit")
    w_key, w_public = keygen(tmp_path / "w1")
    store = AuditStore(store_url, signer=Signer(key))
    for _ in range(3):
        store.append([_decision()], "tester", {})
    old, new = tmp_path / "old.checkpoint", tmp_path / "new.checkpoint"
    old.write_text(store.checkpoint(Signer(key)))
    store.append([_decision("credit-fail")], "tester", {})
    new.write_text(store.checkpoint(Signer(key)))
    witness = ("--key", str(w_key), "--log-key", str(public), "--state", str(tmp_path / "state"))
    assert run_cli("audit", "witness", str(old), *witness).exit_code == 0
    cosigned = run_cli("audit", "witness", str(new), *witness, "--audit", store_url)  # the proof asked of the log
    assert cosigned.exit_code == 0, cosigned.stderr
    assert "consistent with tree size 3" in cosigned.stderr
    (tmp_path / "cosigned.checkpoint").write_text(cosigned.stdout)
    proof = run_cli("audit", "prove", "#2", "--checkpoint", str(tmp_path / "cosigned.checkpoint"), "--audit", store_url)
    doc = json.loads(proof.stdout)
    root = base64.b64decode(doc["root_hash"])
    path = [base64.b64decode(h) for h in doc["hashes"]]
    merkle.verify_inclusion(bytes.fromhex(doc["record"]["hash"]), doc["leaf_index"], doc["tree_size"], path, root)
    verified = run_cli(
        "audit", "verify", "--audit", store_url, "--public-key", str(public), "--from",
        str(tmp_path / "cosigned.checkpoint"), "--witness", str(w_public),
    )  # fmt: skip
    assert verified.exit_code == 0 and "chain intact after the trusted checkpoint" in verified.stdout
    store.close()


def test_a_report_from_a_trusted_checkpoint_says_what_it_verified_how(store_url, tmp_path):
    key, public = keygen(tmp_path / "audit")
    store = AuditStore(store_url, signer=Signer(key))
    for example in ("credit-pass", "credit-fail", "credit-warn"):
        store.append([_decision(example)], "tester", {})
    (tmp_path / "c.checkpoint").write_text(store.checkpoint(Signer(key)))
    store.append([_decision()], "tester", {})
    trusted = ["--from", str(tmp_path / "c.checkpoint"), "--public-key", str(public), "--audit", store_url]
    made = run_cli("report", "--period", "last-7d", "--format", "json", *trusted)
    chain = json.loads(made.stdout)["chain"]
    assert made.exit_code == 0 and chain["ok"] and chain["records"] == 4
    assert chain["how"].startswith("records #1 to #3 hash to the root of checkpoint pml-policy/")
    markdown = run_cli("report", "--period", "last-7d", "--format", "md", *trusted).stdout
    assert "Verified how: records #1 to #3 hash to the root" in plain(markdown)
    (tmp_path / "pml-policy.toml").write_text(  # or configured once for every scheduled report
        f'[report]\nfrom = "{tmp_path / "c.checkpoint"}"\npublic-key = "{public}"\n'
    )
    configured = run_cli("--config", str(tmp_path / "pml-policy.toml"), "report", "--period", "last-7d",
                         "--format", "json", "--audit", store_url)  # fmt: skip
    assert json.loads(configured.stdout)["chain"]["how"] == chain["how"]
    _sql(store_url, "UPDATE pml_decisions SET outcome = 'fail' WHERE seq = 4")  # after the checkpoint
    tampered = run_cli("report", "--period", "last-7d", "--format", "json", *trusted)
    assert tampered.exit_code == 1 and "record #4 was altered" in json.loads(tampered.stdout)["chain"]["problem"]
    assert run_cli("report", "--period", "last-7d", "--from", str(tmp_path / "c.checkpoint")).exit_code == 2
    store.close()


def test_the_policy_set_a_report_counts_by_is_checked_against_each_body(store_url):
    store = _fill(store_url, 3)
    approval = {"model": "credit-scorer", "version": "1", "role": "risk", "digest": "d" * 64, "approver": "a@x"}
    store.record_approval(approval, "models:/credit-scorer/1", "a@x")
    assert store.verify().ok
    _sql(store_url, "UPDATE pml_decisions SET policy_set = 'f00dfeedf00dfeed' WHERE seq = 2")
    verdict = store.verify()
    assert not verdict.ok and "record #2 was altered: its policy_set no longer matches" in verdict.problem
    _sql(store_url, "UPDATE pml_decisions SET policy_set = (SELECT policy_set FROM pml_decisions WHERE seq = 1) "
         "WHERE seq = 4")  # fmt: skip
    assert "record #2" in store.verify().problem  # the first problem is named first
    store.close()


def test_witnesses_are_asked_of_c2sp_checkpoints_only(tmp_path):
    """An earlier release's checkpoint (signed JSON) has no cosignatures: asking for one is one line."""
    url = f"sqlite:///{tmp_path}/a.db"
    key, _ = keygen(tmp_path / "audit")
    store = AuditStore(url, signer=Signer(key))
    store.append([_decision()], "tester", {})
    seq, head = store.head()
    body = {"schema": "pml-policy/checkpoint", "seq": seq, "hash": head, "time": "2026-12-01T00:00:00.000000Z"}
    signature = Signer(key).sign(json.dumps(body, sort_keys=True, separators=(",", ":")))
    (tmp_path / "old.json").write_text(json.dumps(body | {"signature": signature}))
    witness = ["--checkpoint", str(tmp_path / "old.json"), "--witness", str(keygen(tmp_path / "w")[1])]
    asked = run_cli("audit", "verify", "--audit", url, *witness)
    assert asked.exit_code == 2 and "witnesses cosign C2SP checkpoints, and this is none" in asked.stderr
    assert "Traceback" not in asked.stderr
    store.close()


def test_attest_against_a_checkpoint_that_cannot_be_read_is_one_line(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/a.db"
    key, _ = keygen(tmp_path / "audit")
    store = AuditStore(url, signer=Signer(key))
    store.append([_decision()], "tester", {})
    store.close()
    monkeypatch.setenv("PML_AUDIT_SIGNING_KEY", str(key))
    out = tmp_path / "a.intoto.json"
    for checkpoint in (tmp_path / "missing.checkpoint", tmp_path / "huge.checkpoint"):
        if checkpoint.name.startswith("huge"):
            checkpoint.write_bytes(b"x" * 200_000)  # read no further than a note may be long
        made = run_cli("attest", "#1", "--audit", url, "--checkpoint", str(checkpoint), "-o", str(out))
        assert made.exit_code == 2 and made.stderr.startswith(f"error: --checkpoint {checkpoint}: "), made.stderr
        assert "Traceback" not in made.stderr and not out.exists()
