"""`pml-policy impact` over audit logs of real recorded decisions: its time and peak memory, beside
the floor measured in the same run (the same re-evaluations in memory, with no log to read).

Each log holds decisions made by the starter policies on generated versions of 8 models (metrics
around the AUC floor, a champion for each), recorded through the audit log's own write path, so
every record carries the full evidence a replay reads. Then `pml-policy impact -p PROPOSED --format
json` runs as a user runs it (the AUC floor raised from 0.80 to 0.84), timed, with its peak memory
read by /usr/bin/time: memory should not grow with the log.

    python bench/impact.py [--sizes 2000,20000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import run_pml  # noqa: E402  (bench/, beside this script)


def subjects(count: int) -> list:
    from pml_policy.engine import Subject

    rng = random.Random(7)
    out = []
    for n in range(count):
        auc = round(rng.uniform(0.76, 0.9), 3)
        out.append(
            Subject(
                source="local",
                reference=f"runs/{n}",
                model={"name": f"model-{n % 8}", "version": str(n // 8 + 1)},
                run={"id": f"r{n}", "user": "ana", "git_commit": "3e1d0c9f77ab"},
                metrics={
                    "val_auc": auc,
                    "val_auc_slice_young": auc - 0.03,
                    "val_auc_slice_senior": auc - 0.04,
                    "val_ece": 0.03,
                    "dp_gap": 0.02,
                    "eo_gap": 0.03,
                },
                tags={"use_case": "credit", "owner": "risk", "data.version": "2026-11"},
                artifacts=[{"path": "model_card.md", "size": 100}],
            )
        )
    return out


def fill(url: str, policies: Path, count: int, batch: int = 500) -> float:
    from pml_policy.audit import AuditStore, Entry
    from pml_policy.engine import evaluate, load

    store, ps = AuditStore(url), load([policies])
    champion = subjects(1)[0]
    started, made = time.perf_counter(), subjects(count)
    for i in range(0, count, batch):
        entries = [Entry(evaluate(ps, s, champion), s, champion) for s in made[i : i + batch]]
        store.append(entries, "bench", {})
    store.close()
    return time.perf_counter() - started


def floor(policies: Path, count: int) -> float:
    """The re-evaluations alone: the same subjects under the proposed policies, in memory."""
    from pml_policy.engine import evaluate, load

    ps, made = load([policies]), subjects(count)
    champion = made[0]
    started = time.perf_counter()
    for s in made:
        evaluate(ps, s, champion)
    return time.perf_counter() - started


def impact(url: str, proposed: Path) -> tuple[float, float, dict]:
    elapsed, peak, out = run_pml("impact", "-p", str(proposed), "--format", "json", "--audit", url)
    return elapsed, peak, json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000")
    args = parser.parse_args()
    print(f"{'versions':>9} {'impact s':>9} {'floor s':>8} {'ratio':>6} {'peak MiB':>9}  summary")
    with tempfile.TemporaryDirectory() as tmp:
        current, proposed = Path(tmp) / "current", Path(tmp) / "proposed"
        shutil.copytree(ROOT / "policies" / "starter", current)
        shutil.copytree(current, proposed)
        gate = proposed / "promotion.pml"
        gate.write_text(gate.read_text().replace(">= 0.80", ">= 0.84"))
        for size in (int(s) for s in args.sizes.split(",")):
            url = f"sqlite:///{tmp}/audit-{size}.db"
            fill(url, current, size)
            took, peak, found = impact(url, proposed)
            assert found["replayed"] == size, found["replayed"]
            base = floor(proposed, size)
            print(
                f"{size:>9,} {took:9.2f} {base:8.2f} {took / base:5.1f}x {peak:9.0f}  {found['summary'][:60]}…",
                flush=True,
            )


if __name__ == "__main__":
    main()
