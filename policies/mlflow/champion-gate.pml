# A starter gate for models trained with MLflow: `check models:/NAME@challenger` (or a run,
# `check runs:/RUN_ID`) in the training pipeline's CI, then `govern NAME --apply` to promote the best
# passing version. It applies to every subject: a registered model of any name, and a run.
# Adjust the metric names and thresholds to your use case; keep the version up to date.
policy "mlflow-champion-gate" version "1.1.0" {
  title "Promote the best validated version of a registered model"

  rule quality_floor "Validation AUC is at least 0.80" {
    enforce hard
    require metrics.val_auc >= 0.80
  }

  rule no_regression "No worse than the champion by more than half a point" {
    enforce soft
    when champion exists
    require metrics.val_auc >= champion.metrics.val_auc - 0.005
  }

  rule traceable "The training run records its git commit" {
    enforce hard
    require run.git_commit matches "^[0-9a-f]{7,40}$"
  }

  rule model_card "A model card is archived with the run" {
    enforce advisory
    require artifact "model_card.md" exists
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
