policy "names" version "1.0.0" {
  rule auc_floor {
    require metric.val_auc >= 0.8
  }
}
