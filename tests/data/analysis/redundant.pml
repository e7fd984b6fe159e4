policy "quality" version "1.0.0" {
  rule floor "AUC at least 0.80" {
    require metrics.val_auc >= 0.80
  }
  rule loose "AUC at least 0.70" {
    enforce soft
    require metrics.val_auc >= 0.70
  }
  rule stricter_advisory "Advisory 0.85: not implied by the hard floor" {
    enforce advisory
    require metrics.val_auc >= 0.85
  }
}
