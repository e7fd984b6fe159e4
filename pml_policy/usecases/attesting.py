"""A decision that leaves the database as an attestation a deploy step verifies offline.

`attest` writes a DSSE envelope holding an in-toto Statement v1 with a SLSA Verification Summary:
the subjects are the model's files, the verdict is the record's, and the predicate's `pml` field
carries the record itself (its hashed columns), its RFC 9162 inclusion proof and the signed
checkpoint the proof holds against. `verify_attestation` needs no database and no network: the
envelope's signature, the record's hash recomputed, the proof against the checkpoint (cosigned by
the witnesses asked for), the verdict, the policy, and the files on disk against the subjects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pml_policy import __version__
from pml_policy.audit import chain
from pml_policy.audit.queries import Record
from pml_policy.audit.signing import PublicKey, read_checkpoint
from pml_policy.base.errors import EXIT_PASS, EXIT_POLICY_FAILED, UsageError
from pml_policy.base.files import read_head, write_atomic
from pml_policy.transparency import attestations, merkle, notes

from . import proving
from .workspace import Workspace


class CannotAttest(UsageError):
    """A record that cannot be attested as it is: not a decision, or no digests of its model's files."""


PASSING = ("pass", "warn")  # what `check` lets through by default (--fail-on error)
ATTESTED_KINDS = ("decision", "recheck")


def attest(
    ws: Workspace,
    ref: str,
    *,
    model_dir: str | None = None,
    checkpoint_file: str | None = None,
    origin: str | None = None,
    from_disk: bool = True,
) -> dict[str, Any]:
    """The DSSE envelope attesting a recorded decision (appends nothing to the log). from_disk=False
    (the service): the subjects are the artifacts the decision recorded, no folder is read."""
    signer = ws.log.signer
    if signer is None:
        raise UsageError("an attestation is signed: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    store = ws.log.store(create=False)
    record = store.get(ref)
    if record["kind"] not in ATTESTED_KINDS:
        raise CannotAttest(
            f"record #{record['seq']} is a {record['kind']}, not a decision: only decisions are attested"
        )
    if checkpoint_file:
        tree = read_checkpoint(checkpoint_file, PublicKey.of(signer.key.public_key()))  # read, checked, bounded
        if isinstance(tree, tuple):
            raise UsageError(f"--checkpoint {checkpoint_file}: a checkpoint of an earlier release (no tree)")
        note_text = notes.read(checkpoint_file).decode("utf-8")
    else:
        note_text = proving.checkpoint(ws, origin)
        tree = notes.Checkpoint.of(notes.parse(note_text).text)
    proof = store.inclusion(record["seq"], tree.size)
    if proof.root != tree.root:
        raise UsageError(f"the audit log at {store.shown} does not hold the checkpoint's tree: it was rewritten")
    statement = {
        "_type": attestations.STATEMENT_TYPE,
        "subject": attestations.subjects(_model_files(record, model_dir, from_disk)),
        "predicateType": attestations.VSA_TYPE,
        "predicate": _summary(record, tree.origin, proof, note_text),
    }
    return attestations.envelope(statement, signer.key)


def attest_all(
    ws: Workspace, seqs: list[int], out_dir: str, model_dir: str | None = None, origin: str | None = None
) -> list[Path]:
    """An attestation file in `out_dir` for each decision among the records `seqs` (plans and
    changes are not verdicts: skipped), all proved against one checkpoint signed now."""
    if ws.log.signer is None:
        raise UsageError("--attest-dir signs attestations: give --signing-key FILE or set PML_AUDIT_SIGNING_KEY")
    store = ws.log.store(create=False)
    records = [store.get(f"#{seq}") for seq in seqs]
    chosen = [r for r in records if r["kind"] in ATTESTED_KINDS]
    if not chosen:
        return []
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--attest-dir {out_dir}: cannot create it ({exc.strerror or exc})") from None
    note = proving.checkpoint(ws, origin)
    with tempfile.NamedTemporaryFile("w", suffix=".checkpoint", encoding="utf-8", delete=False) as fh:
        fh.write(note)
    written = []
    try:
        for record in chosen:
            envelope = attest(ws, f"#{record['seq']}", model_dir=model_dir, checkpoint_file=fh.name)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{record['model'] or Path(record['subject_ref']).name}")
            path = folder / f"{name}-{record['version'] or 'local'}-{record['seq']}.intoto.json"
            write_atomic(path, json.dumps(envelope, indent=2) + "\n")
            written.append(path)
    finally:
        Path(fh.name).unlink(missing_ok=True)
    return written


def _summary(record: Record, origin: str, proof: Any, note_text: str) -> dict[str, Any]:
    """The Verification Summary predicate (every field VSA v1 requires), and the record and its proof."""
    passed = record["outcome"] in PASSING
    policies = policy_set(record)
    names = ",".join(f"{p['name']}@{p['version']}" for p in policies)
    return {
        "verifier": {"id": f"urn:pml-policy:{origin}", "version": {"pml-policy": __version__}},
        "timeVerified": record["time"],
        "resourceUri": resource_uri(record["subject_ref"]),
        "policy": {
            "uri": f"urn:pml-policy:policies:{names}",
            "digest": {"sha256": hashlib.sha256(chain.canonical(policies).encode()).hexdigest()},
            "annotations": {"policies": policies},
        },
        "verificationResult": "PASSED" if passed else "FAILED",
        # No SLSA build track is verified: level 0 says so; a failed decision is FAILED.
        "verifiedLevels": ["SLSA_BUILD_LEVEL_0"] if passed else ["FAILED"],
        "slsaVersion": "1.0",
        "pml": {
            "outcome": record["outcome"],
            "record": {key: record[key] for key in (*chain.HASHED, "hash")},  # type: ignore[literal-required]
            "inclusion_proof": {
                "leaf_index": proof.seq - 1,
                "tree_size": proof.size,
                "hashes": [proving.b64(h) for h in proof.path],
            },
            "checkpoint": note_text,
        },
    }


def policy_set(record: Any) -> list[dict[str, str]]:
    """The policies a decision evaluated: name, version and digest, by name."""
    used = json.loads(record["body"]).get("policies", [])
    return sorted(({k: p[k] for k in ("name", "version", "digest")} for p in used), key=lambda p: p["name"])


def resource_uri(subject_ref: str) -> str:
    return Path(subject_ref).as_uri() if subject_ref.startswith("/") else subject_ref


def _model_files(record: Record, model_dir: str | None, from_disk: bool = True) -> dict[str, str]:
    """The model's files and their sha256: the folder given, else the local evidence folder's
    model/, else the artifacts the decision recorded with their digests (a registry reference)."""
    if model_dir is not None:
        return _folder(Path(model_dir), "--model")
    local = Path(record["subject_ref"])
    if from_disk and local.is_dir():
        if not (local / "model").is_dir():
            raise UsageError(
                f"{local} has no model/ folder: which files are the model?", "give --model DIR (the files you deploy)"
            )
        return _folder(local / "model", "model folder")
    recorded = json.loads(record["evidence"]).get("subject", {}).get("artifacts") or []
    digests = {a["path"]: a["sha256"] for a in recorded if a.get("sha256")}
    if not digests:
        raise CannotAttest(
            f"decision {record['id']} recorded no artifact digests of {record['subject_ref']}",
            "give --model DIR (the model files as deployed), or decide with artifact hashing on",
        )
    return digests


def _folder(folder: Path, what: str) -> dict[str, str]:
    try:
        found = attestations.file_digests(folder)
    except (OSError, attestations.AttestationError) as exc:
        raise UsageError(f"{what} {folder}: {exc}") from None
    if not found:
        raise UsageError(f"{what} {folder} holds no file to attest")
    return found


@dataclass
class Checked:
    """verify-attestation's answer: one line, and whether the attestation holds."""

    ok: bool
    line: str

    @property
    def exit_code(self) -> int:
        return EXIT_PASS if self.ok else EXIT_POLICY_FAILED


def verify_attestation(
    file: str,
    public_key: str,
    *,
    model_dir: str | None = None,
    policy: str | None = None,
    checkpoint_file: str | None = None,
    witnesses: tuple[str, ...] = (),
) -> Checked:
    """Check an attestation offline; bad input (a file that cannot be read, a key that is not one)
    is a UsageError, anything that does not hold is a Checked that is not ok."""
    key = PublicKey(public_key)
    try:
        data = read_head(file, attestations.MAX_ENVELOPE + 1)
    except OSError as exc:
        raise UsageError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    try:
        return Checked(True, "VERIFIED: " + _verified(data, key, model_dir, policy, checkpoint_file, witnesses))
    except (attestations.AttestationError, merkle.ProofError, notes.NoteError) as exc:
        return Checked(False, f"FAILED: {exc}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # signed, yet not the shape `attest` writes
        return Checked(False, f"FAILED: the attestation is not one `pml-policy attest` wrote ({type(exc).__name__})")


def _verified(
    data: bytes,
    key: PublicKey,
    model_dir: str | None,
    policy: str | None,
    checkpoint_file: str | None,
    witnesses: tuple[str, ...],
) -> str:
    statement = attestations.opened(data, key.key)
    predicate = statement["predicate"]
    try:
        pml, record = predicate["pml"], predicate["pml"]["record"]
        leaf, proof = record["hash"], predicate["pml"]["inclusion_proof"]
        recomputed = chain.record_hash(record)
        path = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
        note = notes.parse(pml["checkpoint"])
    except (KeyError, TypeError, ValueError) as exc:
        raise attestations.AttestationError(
            f"the predicate lacks the record, its proof or its checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    if recomputed != leaf:
        raise attestations.AttestationError("the embedded record does not hash to its recorded hash: it was altered")
    tree = _trusted_tree(note, key, checkpoint_file, witnesses)
    if proof.get("tree_size") != tree.size or proof.get("leaf_index") != record["seq"] - 1:
        raise merkle.ProofError(f"the inclusion proof is not for record #{record['seq']} in a tree of {tree.size}")
    merkle.verify_inclusion(bytes.fromhex(leaf), record["seq"] - 1, tree.size, path, tree.root)
    _same_decision(predicate, record)
    if predicate["verificationResult"] != "PASSED":
        raise attestations.AttestationError(
            f"{predicate['resourceUri']} did not pass: the decision's outcome is {record['outcome']}"
        )
    used = predicate["policy"]["annotations"]["policies"]
    if policy is not None and not any(policy in (p["name"], f"{p['name']}@{p['version']}") for p in used):
        names = ", ".join(f"{p['name']}@{p['version']}" for p in used)
        raise attestations.AttestationError(f"the decision was not made under policy {policy} (it used {names})")
    files = "model files not checked (no --model)"
    if model_dir is not None:
        try:
            actual = attestations.file_digests(Path(model_dir))
        except OSError as exc:
            raise attestations.AttestationError(f"--model {model_dir}: {exc}") from None
        differs = attestations.compare_files(attestations.subject_digests(statement), actual)
        if differs is not None:
            raise attestations.AttestationError(differs)
        files = f"{len(actual)} model files match"
    witnessed = f", cosigned by {', '.join(witnesses)}" if witnesses else ""
    return (
        f"{predicate['resourceUri']} PASSED ({record['outcome']}) under {', '.join(p['name'] for p in used)}; "
        f"record #{record['seq']} in {tree.origin} at tree size {tree.size}{witnessed}; {files}"
    )


def _trusted_tree(
    note: notes.Note, key: PublicKey, checkpoint_file: str | None, witnesses: tuple[str, ...]
) -> notes.Checkpoint:
    """The embedded checkpoint, signed by the log's key; a --checkpoint given must be that tree, and
    the witnesses' cosignatures are looked for on it (else on the embedded one)."""
    tree = notes.Checkpoint.of(note.text)
    if notes.signed_by(note, key.key, tree.origin) is None:
        raise attestations.AttestationError(f"the embedded checkpoint is not signed by the public key as {tree.origin}")
    witnessed = note
    if checkpoint_file is not None:
        given = read_checkpoint(checkpoint_file, key)
        if given != tree:
            raise attestations.AttestationError(
                f"--checkpoint {checkpoint_file} is not the checkpoint the attestation holds"
            )
        witnessed = notes.parse(notes.read(checkpoint_file))
    for file in witnesses:
        if notes.cosigned_by(witnessed, PublicKey(file, "--witness").key) is None:
            raise attestations.AttestationError(f"the checkpoint is not cosigned by the witness key {file}")
    return tree


def _same_decision(predicate: dict[str, Any], record: dict[str, Any]) -> None:
    """The summary must say what the hashed record says: verdict, resource, policies."""
    passed = record["outcome"] in PASSING
    if (predicate.get("verificationResult") == "PASSED") != passed:
        raise attestations.AttestationError("the summary's verdict is not the recorded decision's outcome")
    if predicate.get("resourceUri") != resource_uri(record["subject_ref"]):
        raise attestations.AttestationError("the summary's resource is not the recorded decision's subject")
    if predicate.get("policy", {}).get("annotations", {}).get("policies") != policy_set(record):
        raise attestations.AttestationError("the summary's policies are not the recorded decision's")
