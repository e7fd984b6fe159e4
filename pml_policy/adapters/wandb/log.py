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
from typing import BinaryIO

from pml_policy.base.errors import EvidenceError
from pml_policy.base.mappings import LIMITS

MAGIC = b":W&B" + struct.pack("<H", 0xBEE1)
HEADER_LEN = 7  # both the file header and each record header
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


def read_chunks(path: Path, largest: int = LIMITS.document_bytes) -> Iterator[bytes]:
    """Every whole record's bytes, in order, read a block at a time (a log of any size in the memory
    of one block and one record, at most `largest` bytes); EvidenceError on a bad header, checksum,
    record size or tail."""
    with _opened(path) as log:
        block = log.read(BLOCK)
        if len(block) < HEADER_LEN or block[:6] != MAGIC:
            raise EvidenceError(
                f"{path}: not a W&B run log (no :W&B header)",
                "point at the run folder (wandb/offline-run-…) or its run-ID.wandb file",
            )
        if block[6] != 0:
            raise EvidenceError(
                f"{path}: W&B log version {block[6]}, this reader knows version 0", "upgrade pml-policy"
            )
        pending, in_record, offset, pos = bytearray(), False, 0, HEADER_LEN
        while block:
            for kind, chunk, at in _chunks(path, block, offset, pos):
                if kind in (FULL, FIRST):
                    if in_record:
                        raise EvidenceError(
                            f"{path}: corrupt W&B log: a record starts at byte {at} before the previous one ended"
                        )
                    pending, in_record = bytearray(chunk), kind == FIRST
                else:
                    if not in_record:
                        raise EvidenceError(
                            f"{path}: corrupt W&B log: a record continues at byte {at} without its start"
                        )
                    pending += chunk
                    in_record = kind == MIDDLE
                if len(pending) > largest:
                    raise EvidenceError(
                        f"{path}: a W&B log record of more than {largest:,} bytes at byte {at}",
                        "no run record is that large: the file is damaged, or not a run's log",
                    )
                if not in_record:
                    yield bytes(pending)
            offset += len(block)
            block, pos = log.read(BLOCK), 0
        if in_record and offset % BLOCK != 0:
            raise _truncated(path, offset)
    # A record left open at a block boundary is a run that died: wandb writes whole blocks, and the
    # block holding the rest never reached the disk. Its records so far stand; it has no exit
    # record, so the run reads as crashed.


def _chunks(path: Path, block: bytes, offset: int, pos: int) -> Iterator[tuple[int, bytes, int]]:
    """The (kind, bytes, file offset) of each chunk in one block: a chunk never crosses a block's end."""
    while pos < len(block):
        if BLOCK - pos < HEADER_LEN:  # block trailer: zero padding
            return
        if len(block) - pos < HEADER_LEN:
            raise _truncated(path, offset + pos)
        checksum, length, kind = struct.unpack_from("<IHB", block, pos)
        if kind == 0 and length == 0 and checksum == 0:  # zeros to the end of a block (preallocated space)
            return
        start, end = pos + HEADER_LEN, pos + HEADER_LEN + length
        if end > len(block):
            raise _truncated(path, offset + pos)
        chunk = block[start:end]
        if kind not in _TYPE_CRC or zlib.crc32(chunk, _TYPE_CRC[kind]) != checksum:
            raise EvidenceError(
                f"{path}: corrupt W&B log: bad checksum in the record at byte {offset + pos}",
                "the file was damaged after the run wrote it; re-sync it from the training machine",
            )
        yield kind, chunk, offset + pos
        pos = end


def _opened(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot be read: {exc.strerror or exc}") from None


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
