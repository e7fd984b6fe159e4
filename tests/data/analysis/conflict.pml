# Two teams' policies, each reasonable alone: for credit-scorer they cannot both pass.
policy "credit-quality" version "1.0.0" {
  applies to model "credit-*"
  rule auc_floor "AUC at least 0.80" {
    require metrics.val_auc >= 0.80
  }
  rule documented "A model card" {
    require artifact "model_card.md" exists
  }
}

policy "credit-simplicity" version "1.0.0" {
  applies to model "credit-scorer"
  rule small "Simple models only: AUC at most 0.75 (a proxy for depth, badly chosen)" {
    enforce soft
    require metrics.val_auc <= 0.75
  }
  on pass { set alias "champion" }
}

policy "churn-quality" version "1.0.0" {
  applies to model "churn-*"
  rule auc_floor "AUC at most 0.6: never applies with credit models" {
    require metrics.val_auc <= 0.6
  }
}
