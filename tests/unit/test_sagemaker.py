"""SageMaker references and the reports a package points to, read without a server: references
parsed or refused, Model Monitor and Clarify reports mapped to metrics, any other shape refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..helpers import run_cli
from ..support.sagemaker import GATE

_SECTIONS = ["dataset", "item_count", "binary_classification_metrics", "auc", "value", "standard_deviation"]
_SECTIONS += ["post_training_bias_metrics", "pre_training_bias_metrics", "facets", "age", "value_or_threshold"]
_SECTIONS += ["metrics", "name"]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("sagemaker:credit-scorer/3", ("credit-scorer", "3", "")),
        ("sagemaker:credit-scorer/03", ("credit-scorer", "3", "")),
        ("sagemaker:credit-scorer@champion", ("credit-scorer", "", "champion")),
        ("arn:aws:sagemaker:eu-west-1:123456789012:model-package/credit-scorer/12", ("credit-scorer", "12", "")),
    ],
)
def test_references_are_parsed(ref, expected):
    from pml_policy.adapters.sagemaker import Ref

    r = Ref.parse(ref)
    assert (r.group, r.version, r.alias) == expected


@pytest.mark.parametrize(
    "ref", ["sagemaker:", "sagemaker:credit/", "sagemaker:credit/x", "sagemaker:bad_name/1", "sagemaker:@champion"]
)
def test_a_reference_the_adapter_cannot_read_is_a_usage_error(ref):
    result = run_cli("check", ref, "-p", GATE)
    assert result.exit_code == 2
    assert "not a SageMaker reference" in result.stderr and "sagemaker:GROUP/VERSION" in result.stderr


def test_model_monitor_and_clarify_reports_map_to_metrics():
    from pml_policy.adapters.sagemaker.reports import metrics_of
    from pml_policy.base.errors import EvidenceError

    quality = {
        "dataset": {"item_count": 100},
        "regression_metrics": {"rmse": {"value": 1.5, "standard_deviation": 0.1}, "r2": {"value": 0.7}},
        "binary_classification_metrics": {"confusion_matrix": {"0": {"0": 1}}, "auc": {"value": None}},
    }
    assert metrics_of("ModelQuality.Statistics", quality, "q") == {
        "item_count": 100,
        "rmse": 1.5,
        "rmse_std": 0.1,
        "r2": 0.7,
    }  # a metric Clarify or Monitor could not compute (null) is not there: a rule reading it errors
    bias = {
        "pre_training_bias_metrics": {
            "facets": {"age": [{"value_or_threshold": "60", "metrics": [{"name": "CI", "value": 0.2}]}]}
        },
        "post_training_bias_metrics": {
            "facets": {
                "sex": [
                    {"value_or_threshold": "f", "metrics": [{"name": "DPPL", "value": 0.03}]},
                    {"value_or_threshold": "m", "metrics": [{"name": "DPPL", "value": -0.03}]},
                ]
            }
        },
    }
    assert metrics_of("Bias.Report", bias, "b") == {
        "pre_training_bias.age.CI": 0.2,
        "bias.sex.f.DPPL": 0.03,
        "bias.sex.m.DPPL": -0.03,
    }
    with pytest.raises(EvidenceError, match="facets.sex must be a list"):
        metrics_of("Bias.Report", {"post_training_bias_metrics": {"facets": {"sex": 1}}}, "b")
    with pytest.raises(EvidenceError, match="must be a JSON object"):
        metrics_of("ModelQuality.Statistics", [1], "q")


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=4),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_SECTIONS), inner, max_size=4),
        max_leaves=30,
    ),
    st.sampled_from(["ModelQuality.Statistics", "Bias.Report"]),
)
def test_a_report_of_any_shape_maps_or_is_refused_never_a_crash(document, slot):
    from pml_policy.adapters.sagemaker.reports import metrics_of
    from pml_policy.base.errors import EvidenceError

    try:
        metrics = metrics_of(slot, document, "s3://b/report.json")
    except EvidenceError:
        return
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
