"""The Merkle tree, the signed notes and the DSSE envelopes, each against an independent
implementation or a published test vector: pymerkle (RFC 9162 trees), Go's sumdb/note vector,
securesystemslib (DSSE) and in-toto-attestation (Statement v1)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from pymerkle import InclusionProof, InmemoryTree
from pymerkle.core import _inclusion_path_layout

from pml_policy.transparency import attestations, merkle, notes

LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


@pytest.fixture(scope="module")
def reference() -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")  # RFC 9162: 0x00 / 0x01 prefixes
    for leaf in LEAVES:
        tree.append_entry(leaf)
    return tree


def _perfect(level: int, index: int) -> bytes:
    return merkle.Frontier().extend(LEAVES[index << level : (index + 1) << level]).root()


def test_roots_and_inclusion_proofs_are_those_of_an_independent_rfc9162_tree(reference):
    for size in range(1, len(LEAVES) + 1):
        root = reference.get_root(size)
        assert merkle.Frontier().extend(LEAVES[:size]).root() == root
        assert merkle.range_hash(0, size, _perfect) == root
        for index in range(size):
            path = [merkle.range_hash(a, b, _perfect) for a, b in merkle.inclusion_ranges(index, size)]
            merkle.verify_inclusion(LEAVES[index], index, size, path, root)
            # pymerkle's own proof holds the leaf hash, then the RFC's audit path; and its verifier takes ours
            assert reference.prove_inclusion(index + 1, size).path[1:] == path
            rule, _ = _inclusion_path_layout(index + 1, size)
            theirs = InclusionProof("sha256", True, size, index + 1, rule, [merkle.leaf_hash(LEAVES[index]), *path])
            theirs.verify(merkle.leaf_hash(LEAVES[index]), root)


def test_consistency_proofs_join_every_pair_of_sizes_and_refuse_a_fork(reference):
    for new in range(1, 40):
        for old in range(1, new + 1):
            path = [merkle.range_hash(a, b, _perfect) for a, b in merkle.consistency_ranges(old, new)]
            merkle.verify_consistency(old, new, reference.get_root(old), reference.get_root(new), path)
            if old < new:
                forked = merkle.Frontier().extend([*LEAVES[: old - 1], b"forged", *LEAVES[old:new]]).root()
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, new, reference.get_root(old), forked, path)
                with pytest.raises(merkle.ProofError, match="rolled back"):
                    merkle.verify_consistency(new, old, reference.get_root(new), reference.get_root(old), path)


def test_a_wrong_leaf_index_or_a_cut_path_is_refused(reference):
    root = reference.get_root(13)
    path = [merkle.range_hash(a, b, _perfect) for a, b in merkle.inclusion_ranges(5, 13)]
    for leaf, index, proof in ((LEAVES[5], 6, path), (LEAVES[5], 5, path[:-1]), (LEAVES[6], 5, path)):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaf, index, 13, proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(LEAVES[5], 13, 13, path, root)


# Go's golang.org/x/mod/sumdb/note test vector (the signed-note spec's reference implementation).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_a_signed_note_is_byte_for_byte_the_reference_implementations():
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]  # the type byte, then the Ed25519 seed
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    signature = notes.sign(GO_TEXT, "PeterNeumann", key)
    assert signature.key_id.hex() == "c74f20a3"
    assert notes.Note(GO_TEXT, (signature,)).render() == GO_TEXT + "\n" + GO_SIGNATURE
    parsed = notes.parse(GO_TEXT + "\n" + GO_SIGNATURE)
    assert notes.signed_by(parsed, key.public_key()) is not None
    stranger = ed25519.Ed25519PrivateKey.generate().public_key()
    assert notes.signed_by(parsed, stranger) is None  # an unknown key's signature is ignored, not trusted
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.signed_by(
            notes.parse(GO_TEXT.replace("cryptography", "blockchain") + "\n" + GO_SIGNATURE), key.public_key()
        )


@pytest.mark.parametrize(
    "note",
    [
        "text\x01\n\n" + GO_SIGNATURE,  # a control character
        GO_TEXT + GO_SIGNATURE,  # no blank line before the signatures
        GO_TEXT + "\n\u2014 PeterNeumann !!!\n",  # not base64
        GO_TEXT + "\n\u2014 Peter+Neumann " + GO_SIGNATURE.split()[-1] + "\n",  # a '+' in the key name
        GO_TEXT + "\n" + GO_SIGNATURE * 101,  # more signatures than are read
        "x" * (notes.MAX_NOTE + 1),
    ],
)
def test_a_malformed_note_is_refused(note):
    with pytest.raises(notes.NoteError):
        notes.parse(note)


def test_checkpoints_and_cosignatures_follow_c2sp():
    log, witness = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    tree = notes.Checkpoint("example.com/log", 7, hashlib.sha256(b"root").digest())
    text = tree.text()
    assert text == f"example.com/log\n7\n{base64.b64encode(tree.root).decode()}\n"
    assert notes.Checkpoint.of(text) == tree
    signed = notes.Note(text, (notes.sign(text, "example.com/log", log),))
    cosigned = signed.with_signature(notes.cosign(signed, "witness.example/w1", witness, 1_700_000_000))
    reread = notes.parse(cosigned.render())
    assert notes.cosigned_by(reread, witness.public_key()) == ("witness.example/w1", 1_700_000_000)
    cosignature = reread.signatures[1]
    message = b"cosignature/v1\ntime 1700000000\n" + text.encode()  # the message tlog-cosignature defines
    witness.public_key().verify(cosignature.signature[8:], message)
    assert (
        cosignature.key_id == hashlib.sha256(b"witness.example/w1\n\x04" + notes.keys.raw_public(witness)).digest()[:4]
    )
    assert notes.cosigned_by(reread, log.public_key()) is None  # the log's own signature is no cosignature
    forged = notes.Signature(cosignature.name, cosignature.key_id, cosignature.signature[:8] + bytes(64))
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.cosigned_by(notes.Note(text, (signed.signatures[0], forged)), witness.public_key())
    for bad in ("o\n07\n" + text.split("\n")[2] + "\n", "o\n7\nAAAA\n", "o\n7\n" + text.split("\n")[2]):
        with pytest.raises(notes.NoteError):
            notes.Checkpoint.of(bad)


def test_a_dsse_envelope_verifies_with_securesystemslib_and_its_statement_parses_with_in_toto():
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    key = ed25519.Ed25519PrivateKey.generate()
    statement = {
        "_type": attestations.STATEMENT_TYPE,
        "subject": attestations.subjects({"model.pkl": hashlib.sha256(b"weights").hexdigest()}),
        "predicateType": attestations.VSA_TYPE,
        "predicate": {"verificationResult": "PASSED"},
    }
    envelope = attestations.envelope(statement, key)
    theirs = Envelope.from_dict(json.loads(json.dumps(envelope)))  # it takes the dict apart
    public = SSlibKey.from_crypto(key.public_key())
    assert public.keyid == envelope["signatures"][0]["keyid"] == attestations.keyid(key.public_key())
    assert public.keyid in theirs.verify([public], 1)
    parsed = json_format.Parse(base64.b64decode(envelope["payload"]), statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    assert attestations.opened(json.dumps(envelope).encode(), key.public_key()) == statement
    swapped = dict(statement, subject=attestations.subjects({"model.pkl": "0" * 64}))
    forged = dict(envelope, payload=base64.b64encode(json.dumps(swapped).encode()).decode())
    with pytest.raises(Exception, match="(?i)verif|threshold"):
        Envelope.from_dict(json.loads(json.dumps(forged))).verify([public], 1)
    with pytest.raises(attestations.AttestationError, match="no signature"):
        attestations.opened(json.dumps(forged).encode(), key.public_key())
