"""`audit export`: every record in chain order, streamed (constant memory for any size of log)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import TextIO

from pml_policy.base.escaping import csv_cell

from .workspace import Workspace

EXPORT_COLUMNS = (
    "seq",
    "id",
    "time",
    "actor",
    "model",
    "version",
    "outcome",
    "engine",
    "subject_ref",
    "subject_digest",
    "prev_hash",
    "hash",
    "signature",
)


def export(ws: Workspace, fmt: str, out: TextIO) -> None:
    """jsonl: one record a line, with the decision, its evidence and the chain hashes, as stored.
    csv: one record a line, the columns an auditor filters on."""
    store = ws.log.store(create=False)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in store.stream():
            writer.writerow([csv_cell(v) for v in _columns(row)])
        return
    for row in store.stream():
        fields = ",".join(f'"{c}":{json.dumps(v, ensure_ascii=False)}' for c, v in zip(EXPORT_COLUMNS, _columns(row)))
        # The stored JSON goes out as it is: no re-parsing, and the bytes the hash covers.
        out.write("{" + fields + f',"ci":{row["ci"]},"decision":{row["body"]},"evidence":{row["evidence"]}' + "}\n")


def _columns(row: Mapping[str, object]) -> list[object]:
    return [row[c] for c in EXPORT_COLUMNS]
