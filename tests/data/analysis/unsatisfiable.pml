# A floor and a ceiling that no AUC meets: no credit model can pass, ever.
policy "credit-gate" version "1.0.0" {
  applies to model "credit-*"
  rule band "AUC in the approved band" {
    require metrics.val_auc >= 0.80 and metrics.val_auc < 0.70
  }
  rule fresh "Trained in the last month, and over two months ago" {
    enforce advisory
    require age(run.start_time) <= 30d and age(run.start_time) > 60d
  }
  rule commit "A full git commit" {
    require run.git_commit matches "^[0-9a-f]{7,40}$" and run.git_commit matches "^[g-z]+$"
  }
  rule slices "Slices both above 0.9 and one below 0.5" {
    require all metrics matching "slice_*" >= 0.9 and any metrics matching "slice_*" < 0.5
  }
  rule ok "A satisfiable rule" {
    require metrics.val_auc >= 0.5
  }
}
