# Any two of these can pass together; the three cannot: no pair shows it.
policy "floor" version "1.0.0" {
  rule auc "AUC at least 0.80" { require metrics.auc >= 0.80 }
}
policy "ceiling" version "1.0.0" {
  rule auc "AUC at most 0.85" { enforce soft require metrics.auc <= 0.85 }
}
policy "band" version "1.0.0" {
  rule auc "Outside the contested band" { require metrics.auc > 0.85 or metrics.auc < 0.80 }
}
