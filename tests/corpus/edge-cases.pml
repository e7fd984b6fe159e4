# Policies that exercise every construct, for the differential test of the two backends.
policy "edge-cases" version "1.0.0" {
  fact high_risk = lower(tags.use_case) in ["credit", "hiring"]
  fact floor = 0.75 + 0.05

  rule arithmetic { enforce soft require metrics.val_auc * 100 - 1 >= floor * 100 - 1 }
  rule negated { require not (metrics.val_auc < 0.8 or metrics.val_ece > 5%) }
  rule strings { enforce advisory require upper(tags.use_case) != "ADS" and tags.owner >= "a" }
  rule dates { require run.start_time >= 2026-01-01 and run.start_time < 2027-01-01 }
  rule params_as_numbers { enforce soft when params.learning_rate exists require params.learning_rate <= 0.1 }
  rule versions { require model.version >= 2 and model.version != 99 }
  rule aliases { enforce advisory require "challenger" in model.aliases or len(model.aliases) == 0 }
  rule champion_delta { enforce soft when champion exists require abs(metrics.val_auc - champion.metrics.val_auc) <= 0.05 }
  rule any_slice { require any metrics matching "val_auc_slice_*" > 0.8 }
  rule matches_commit { require run.git_commit matches "^[0-9a-f]+$" and not run.git_commit missing }
  rule when_fact { enforce soft when high_risk and floor > 0.5 require metrics.dp_gap <= round(0.051, 2) }
  rule equality_of_lists { enforce advisory require model.aliases == ["challenger"] or model.aliases != ["x"] }
  rule min_max { require max(metrics.val_auc, 0.5) > min(0.9, metrics.val_ece * 10) }
}
