"""The public API a platform team embeds, as the README shows it."""

from __future__ import annotations

import pml_policy

from .helpers import ROOT


def test_load_fetch_evaluate():
    policies = pml_policy.load([ROOT / "policies" / "starter"])
    subject = pml_policy.fetch(str(ROOT / "examples" / "credit-fail"))
    decision = pml_policy.evaluate(
        policies, subject, champion=pml_policy.fetch(str(ROOT / "examples" / "credit-champion"))
    )
    assert isinstance(decision, pml_policy.Decision) and isinstance(subject, pml_policy.Subject)
    assert decision.outcome == "fail"
    assert ("auc_floor", "fail", "metrics.val_auc = 0.781, required >= 0.80") in [
        (r.rule, r.outcome, r.message) for r in decision.rules
    ]
    assert pml_policy.__version__ == "0.1.0"
