policy "duplicates" version "1.0.0" {
  rule auc { require metrics.val_auc >= 0.8 }
  rule auc { require metrics.val_auc >= 0.85 }
}
