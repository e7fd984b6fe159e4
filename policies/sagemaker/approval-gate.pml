# A starter gate for SageMaker Model Registry: `check sagemaker:GROUP/VERSION` in the training
# pipeline, then `govern sagemaker:GROUP --apply` to approve the best passing package (the newest
# Approved package is the champion a deployment pipeline ships). Metrics come from the reports a
# package's ModelMetrics point to: Model Monitor's model quality statistics (`metrics.auc`) and
# Clarify's bias report (`metrics["bias.FACET.DPPL"]`). Adjust names and thresholds to your use case.
policy "sagemaker-approval-gate" version "1.0.0" {
  title "Approve the best validated package of a model package group"
  applies to model "*"

  rule quality_floor "AUC is at least 0.80 (model quality statistics)" {
    enforce hard
    require metrics.auc >= 0.80
  }

  rule no_regression "No worse than the approved champion by more than half a point" {
    enforce soft
    when champion exists
    require metrics.auc >= champion.metrics.auc - 0.005
  }

  rule parity "Demographic parity gap in predictions at most 5 points for every facet (Clarify DPPL)" {
    enforce soft
    when tags.use_case in ["credit", "hiring", "insurance"]
    require all metrics matching "bias.*.DPPL" <= 5%
  }

  rule traceable "The package records its git commit" {
    enforce hard
    require run.git_commit matches "^[0-9a-f]{7,40}$"
  }

  rank by metrics.auc desc

  on pass {
    set alias "champion"
    set tag "governance.status" = "approved"
  }

  on fail {
    set tag "governance.status" = "rejected"
  }
}
