# policies/credit/promotion.pml
policy "credit-promotion" version "2.1.0" {
  title "Promotion gate for credit-scoring models"
  owner "model-risk@bank.example"
  applies to model "credit-*"                  # glob on the model name; may repeat; default: every model

  # derived facts
  fact high_risk = tags["use_case"] in ["credit", "hiring"]

  rule auc_floor "Validation AUC is at least 0.80" {
    enforce hard                               # advisory | soft | hard (default hard)
    require metrics.val_auc >= 0.80
  }

  rule no_regression "No AUC regression against the champion" {
    enforce soft
    when champion exists                       # false -> the rule is skipped, and says why
    require metrics.val_auc >= champion.metrics.val_auc - 0.005
  }

  rule fairness "Demographic parity gap at most 5 points" {
    when high_risk
    require metrics.dp_gap <= 5%
  }

  rule slices "Every slice keeps its AUC above 0.75" {
    require all metrics matching "val_auc_slice_*" >= 0.75
  }

  rule model_card "The model card is archived with the model" {
    enforce advisory
    require artifact "model_card.md" exists and not (model.name matches "^x") and len(model.aliases) >= -1 * 2
  }

  rank by metrics.val_auc desc                 # ties go to newer

  on pass {
    set alias "champion"
    set tag "governance.status" = "approved"
  }
  on fail {
    set tag "governance.status" = "rejected"
  }
  # footer
}

waiver "RISK-1432" {
  policy "credit-promotion" rule fairness
  model "credit-scorer" version 7              # version "*" for every version
  reason "Parity gap from a known label delay; remediation tracked in RISK-1432"
  approved by "cro@bank.example"
  expires 2027-01-31
}
