"""A reader for W&B's transaction log, the `run-ID.wandb` file of an offline run.

Current wandb (0.18 and later) writes no wandb-summary.json or config.yaml for offline runs
(wandb/wandb#9646) and ships no Python reader: its Go core reads the log. The framing is LevelDB's
log format with a header of its own:

    header := ":W&B" (4 bytes), magic 0xBEE1 (uint16 LE), version (uint8)
    then 32 KiB blocks (the header counts toward the first), each a sequence of records:
    record := checksum uint32 LE, length uint16 LE, type uint8 (FULL 1, FIRST 2, MIDDLE 3, LAST 4), data
    fewer than 7 bytes left in a block are zero padding.

A log cut inside a record is refused (truncated), except at a block boundary: that is how a run
killed mid-write leaves it, and its whole records are read (the run then has no exit record).

The checksum is CRC-32 (IEEE, zlib's) over the type byte and the data, as wandb's writers compute
it (LevelDB itself uses CRC-32C; W&B kept IEEE for its older Python reader). Each whole record is a
`wandb.proto.wandb_internal_pb2.Record`, decoded with the wandb package's own classes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from pml_policy.base.errors import EvidenceError

MAGIC = b":W&B" + struct.pack("<H", 0xBEE1)
HEADER_LEN = 7  # both the file header and each record header
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


def read_chunks(path: Path) -> Iterator[bytes]:
    """Every whole record's bytes, in order; EvidenceError on a bad header, checksum or tail."""
    data = path.read_bytes()
    if len(data) < HEADER_LEN or data[:6] != MAGIC:
        raise EvidenceError(
            f"{path}: not a W&B run log (no :W&B header)",
            "point at the run folder (wandb/offline-run-…) or its run-ID.wandb file",
        )
    if data[6] != 0:
        raise EvidenceError(f"{path}: W&B log version {data[6]}, this reader knows version 0", "upgrade pml-policy")
    pos, pending = HEADER_LEN, bytearray()
    in_record = False
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER_LEN:  # block trailer: zero padding
            pos += left
            continue
        if len(data) - pos < HEADER_LEN:
            raise _truncated(path, pos)
        checksum, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0 and checksum == 0:  # zeros to the end of a block (preallocated space)
            pos += left
            continue
        start, end = pos + HEADER_LEN, pos + HEADER_LEN + length
        if end > len(data):
            raise _truncated(path, pos)
        chunk = data[start:end]
        if kind not in _TYPE_CRC or zlib.crc32(chunk, _TYPE_CRC[kind]) != checksum:
            raise EvidenceError(
                f"{path}: corrupt W&B log: bad checksum in the record at byte {pos}",
                "the file was damaged after the run wrote it; re-sync it from the training machine",
            )
        if kind in (FULL, FIRST):
            if in_record:
                raise EvidenceError(
                    f"{path}: corrupt W&B log: a record starts at byte {pos} before the previous one ended"
                )
            pending, in_record = bytearray(chunk), kind == FIRST
        else:
            if not in_record:
                raise EvidenceError(f"{path}: corrupt W&B log: a record continues at byte {pos} without its start")
            pending += chunk
            in_record = kind == MIDDLE
        if not in_record:
            yield bytes(pending)
        pos = end
    if in_record and len(data) % BLOCK != 0:
        raise _truncated(path, pos)
    # A record left open at a block boundary is a run that died: wandb writes whole blocks, and the
    # block holding the rest never reached the disk. Its records so far stand; it has no exit
    # record, so the run reads as crashed.


def read_records(path: Path) -> Iterator[object]:
    """The log's records as wandb's own protobuf Record messages."""
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise EvidenceError(
            f"{path}: reading W&B runs needs the wandb package", "pip install 'pml-policy[wandb]'"
        ) from None
    from google.protobuf.message import DecodeError

    for n, chunk in enumerate(read_chunks(path)):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(chunk)
        except DecodeError:
            raise EvidenceError(f"{path}: corrupt W&B log: record {n + 1} does not decode") from None
        yield record


def _truncated(path: Path, pos: int) -> EvidenceError:
    return EvidenceError(
        f"{path}: truncated W&B log: it ends inside the record at byte {pos}",
        "the copy is incomplete or the disk filled up; copy the run folder again from where it was written",
    )
