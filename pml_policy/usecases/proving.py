"""Proofs that leave the database: signed checkpoints (C2SP), inclusion and consistency proofs
(RFC 9162), and a witness that cosigns a checkpoint only when the log grew without forking."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy.audit.signing import PublicKey, read_checkpoint
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED, AuditError, UsageError
from pml_policy.base.files import read_head, write_atomic
from pml_policy.transparency import keys, merkle, notes

from .workspace import Workspace

INCLUSION_SCHEMA = "pml-policy/inclusion-proof"
CONSISTENCY_SCHEMA = "pml-policy/consistency-proof"
MAX_PROOF = 64 * 1024  # bytes: a proof over 2**64 leaves holds at most 128 hashes


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def checkpoint(ws: Workspace, origin: str | None = None) -> str:
    """The log's tree head as a C2SP signed note: origin, size, root, signed with the log's key."""
    signer = ws.log.signer
    if signer is None:
        raise UsageError("a checkpoint is signed: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    try:
        return ws.log.store(create=False).checkpoint(signer, origin)
    except notes.NoteError as exc:
        raise UsageError(f"--origin: {exc}") from None


def prove(ws: Workspace, ref: str, checkpoint_file: str | None = None, public_key: str | None = None) -> dict[str, Any]:
    """The inclusion proof of a record: against a checkpoint's tree (its signature checked with the
    key when given), else against the whole log as it is now."""
    if checkpoint_file is None:
        return _proof(ws, ref, None, None)
    tree = _c2sp(checkpoint_file, public_key)
    return _proof(ws, ref, tree, notes.read(checkpoint_file).decode("utf-8"))


def prove_at(ws: Workspace, ref: str, size: int) -> dict[str, Any]:
    """The inclusion proof of a record in the tree of the log's first `size` records."""
    return _proof(ws, ref, size, None)


def prove_now(ws: Workspace, ref: str, origin: str | None = None) -> dict[str, Any]:
    """The inclusion proof of a record against a checkpoint signed now."""
    note = checkpoint(ws, origin)
    return _proof(ws, ref, notes.Checkpoint.of(notes.parse(note).text), note)


def _proof(ws: Workspace, ref: str, tree: notes.Checkpoint | int | None, note: str | None) -> dict[str, Any]:
    store = ws.log.store(create=False)
    record = store.get(ref)
    size = tree.size if isinstance(tree, notes.Checkpoint) else tree
    proof = store.inclusion(record["seq"], size)
    if isinstance(tree, notes.Checkpoint) and proof.root != tree.root:
        raise AuditError(f"the audit log at {store.shown} does not hold the checkpoint's tree: it was rewritten")
    return {
        "schema": INCLUSION_SCHEMA,
        "record": {"seq": record["seq"], "id": record["id"], "hash": proof.record_hash},
        "leaf_index": proof.seq - 1,
        "tree_size": proof.size,
        "root_hash": b64(proof.root),
        "hashes": [b64(h) for h in proof.path],
        "checkpoint": note,
    }


def check_inclusion(proof: dict[str, Any], tree: notes.Checkpoint) -> None:
    """That an inclusion proof (as `prove` writes it) holds against a checkpoint: ProofError if not."""
    try:
        leaf = bytes.fromhex(proof["record"]["hash"])
        path = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
        index, size = proof["leaf_index"], proof["tree_size"]
    except (KeyError, TypeError, ValueError) as exc:
        raise merkle.ProofError(f"not an inclusion proof `pml-policy audit prove` wrote ({exc})") from None
    if not isinstance(index, int) or size != tree.size or index != proof["record"].get("seq", 0) - 1:
        raise merkle.ProofError(f"the proof is for a tree of {size} records, the checkpoint's has {tree.size}")
    merkle.verify_inclusion(leaf, index, size, path, tree.root)


def consistency(ws: Workspace, old_file: str, new_file: str, public_key: str | None = None) -> dict[str, Any]:
    """The consistency proof between two checkpoints of the log, checked before it is printed."""
    old, new = _c2sp(old_file, public_key), _c2sp(new_file, public_key)
    if old.origin != new.origin:
        raise UsageError(f"{old_file} is a checkpoint of {old.origin}, {new_file} of {new.origin}: two logs")
    if old.size > new.size:
        raise UsageError(
            f"{old_file} has tree size {old.size}, more than {new_file} ({new.size})", "give the older checkpoint first"
        )
    store = ws.log.store(create=False)
    path = store.consistency(old.size, new.size).path if 0 < old.size <= new.size else []
    try:
        merkle.verify_consistency(old.size, new.size, old.root, new.root, path)
    except merkle.ProofError as exc:
        raise AuditError(f"the audit log at {store.shown} cannot join {old_file} to {new_file}: {exc}") from None
    return {
        "schema": CONSISTENCY_SCHEMA,
        "origin": old.origin,
        "old_size": old.size,
        "new_size": new.size,
        "old_root": b64(old.root),
        "new_root": b64(new.root),
        "hashes": [b64(h) for h in path],
    }


def _c2sp(path: str, public_key: str | None) -> notes.Checkpoint:
    found = read_checkpoint(path, PublicKey(public_key) if public_key else None)
    if isinstance(found, tuple):
        raise UsageError(
            f"{path} is a checkpoint of an earlier release (a record's hash, no tree): proofs need a C2SP checkpoint",
            "write one with `pml-policy audit checkpoint`",
        )
    return found


@dataclass
class Witnessed:
    """A witness's answer: the cosigned note, or why it refused (exit 1)."""

    note: str | None
    message: str

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.note is not None else EXIT_POLICY_FAILED


def witness(
    checkpoint_file: str,
    key_file: str,
    log_key_file: str,
    state_dir: str,
    *,
    proof_file: str | None = None,
    ws: Workspace | None = None,
    name: str | None = None,
    now: int | None = None,
) -> Witnessed:
    """Cosign a checkpoint after checking the log's signature and that it extends the last one this
    witness cosigned for that log (a consistency proof from `proof_file`, else asked of the log in
    `ws`). A fork or a rollback is refused; the state moves only when the cosignature is made."""
    key, log_key = keys.load_private(key_file, "--key"), PublicKey(log_key_file, "--log-key")
    name = notes.check_name(name or "pml-policy-witness/" + hashlib.sha256(keys.raw_public(key)).hexdigest()[:16])
    note, new = _signed_checkpoint(checkpoint_file, log_key)
    state = Path(state_dir) / (hashlib.sha256(new.origin.encode()).hexdigest()[:32] + ".checkpoint")
    old = _last_cosigned(state)
    if old is not None:
        refused = _refusal(old, new, proof_file, ws)
        if refused is not None:
            return Witnessed(None, f"REFUSED: {refused}")
    cosigned = note.with_signature(notes.cosign(note, name, key, int(time.time()) if now is None else now))
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--state {state_dir}: cannot create it ({exc.strerror or exc})") from None
    write_atomic(state, new.text())
    since = f"consistent with tree size {old.size}" if old else "the first checkpoint this witness saw of this log"
    return Witnessed(cosigned.render(), f"cosigned {new.origin} at tree size {new.size} ({since}) as {name}")


def _signed_checkpoint(path: str, log_key: PublicKey) -> tuple[notes.Note, notes.Checkpoint]:
    try:
        note = notes.parse(notes.read(path))
        tree = notes.Checkpoint.of(note.text)
        signed = notes.signed_by(note, log_key.key, tree.origin)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except notes.NoteError as exc:
        raise AuditError(f"{path}: not a signed checkpoint ({exc})") from None
    if signed is None:
        raise AuditError(f"{path}: not signed by --log-key as log {tree.origin}")
    return note, tree


def _last_cosigned(state: Path) -> notes.Checkpoint | None:
    if not state.exists():
        return None
    try:
        return notes.Checkpoint.of(state.read_text(encoding="utf-8"))
    except (OSError, notes.NoteError) as exc:
        raise UsageError(f"witness state {state}: unreadable ({exc}): restore it; never edit it by hand") from None


def _refusal(old: notes.Checkpoint, new: notes.Checkpoint, proof_file: str | None, ws: Workspace | None) -> str | None:
    if new.size < old.size:
        return f"{new.origin} rolled back: tree size {new.size} after {old.size} was cosigned"
    if new.size == old.size:
        return None if new.root == old.root else f"{new.origin} forked: two roots for tree size {new.size}"
    path = _proof_path(old, new, proof_file, ws)
    try:
        merkle.verify_consistency(old.size, new.size, old.root, new.root, path)
    except merkle.ProofError as exc:
        return f"{new.origin} forked: tree size {new.size} does not extend tree size {old.size} ({exc})"
    return None


def _proof_path(
    old: notes.Checkpoint, new: notes.Checkpoint, proof_file: str | None, ws: Workspace | None
) -> list[bytes]:
    if proof_file is None:
        if ws is None:
            raise UsageError("the witness needs a consistency proof: --proof FILE, or --audit URL to ask the log")
        return ws.log.store(create=False).consistency(old.size, new.size).path
    try:
        doc = json.loads(read_head(proof_file, MAX_PROOF))
        if doc.get("schema") != CONSISTENCY_SCHEMA or (doc["old_size"], doc["new_size"]) != (old.size, new.size):
            raise ValueError(f"it joins tree sizes {doc.get('old_size')} and {doc.get('new_size')}")
        return [base64.b64decode(h, validate=True) for h in doc["hashes"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"--proof {proof_file}: not the consistency proof from tree size {old.size} to {new.size} ({exc})",
            "`pml-policy audit consistency OLD NEW` writes it",
        ) from None


def witnessed_by(path: str, witnesses: list[str]) -> list[str]:
    """The names under which each witness key cosigned the checkpoint note at `path`; AuditError
    when one did not (or its cosignature does not verify)."""
    try:
        note = notes.parse(notes.read(path))
    except (OSError, notes.NoteError) as exc:
        raise UsageError(
            f"--checkpoint {path}: witnesses cosign C2SP checkpoints, and this is none ({exc})",
            "write one with `pml-policy audit checkpoint`",
        ) from None
    names = []
    for file in witnesses:
        key = PublicKey(file, "--witness").key
        try:
            found = notes.cosigned_by(note, key)
        except notes.NoteError as exc:
            raise AuditError(f"--checkpoint {path}: {exc}") from None
        if found is None:
            raise AuditError(f"--checkpoint {path}: not cosigned by the witness key {file}")
        names.append(found[0])
    return names
