# Promotion gate: the quality bar a model must clear to replace the champion.
policy "promotion-gate" version "1.0.0" {
  title "Promotion gate with a champion comparison"
  owner "ml-platform@example.com"

  rule auc_floor "Validation AUC is at least 0.80" {
    enforce hard
    require metrics.val_auc >= 0.80
  }

  rule no_regression "No AUC regression against the champion (0.5 point tolerance)" {
    enforce soft
    when champion exists  # the first model of a use case has no champion to beat
    require metrics.val_auc >= champion.metrics.val_auc - 0.005
  }

  rule slices "Every data slice keeps its AUC at 0.75 or above" {
    enforce hard
    require all metrics matching "val_auc_slice_*" >= 0.75
  }

  rule calibration "Calibration error is at most 5%" {
    enforce soft
    require metrics.val_ece <= 5%
  }

  rank by metrics.val_auc desc

  on pass {
    set alias "champion"
    set tag "governance.status" = "approved"
  }

  on fail {
    set tag "governance.status" = "rejected"
  }
}
