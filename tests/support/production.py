"""What the production tests of several tiers share."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from ..helpers import ROOT

PRODUCTION = ROOT / "policies" / "production"


def evidently_report(drifted: bool, when: dt.datetime) -> tuple[str, str]:
    """(full snapshot, json()) of a DataDriftPreset report the real library computes on small data
    (income shifted by two standard deviations when `drifted`)."""
    pytest.importorskip("evidently")
    os.environ.setdefault("ITERATIVE_DO_NOT_TRACK", "1")
    import numpy as np
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"income": rng.normal(50, 10, 400), "age": rng.normal(40, 8, 400)})
    current = pd.DataFrame({"income": rng.normal(70 if drifted else 50, 10, 300), "age": rng.normal(40, 8, 300)})
    run = Report([DataDriftPreset()], include_tests=True).run(
        current_data=current, reference_data=reference, timestamp=when.replace(tzinfo=None)
    )
    return run.dumps(), run.json()
