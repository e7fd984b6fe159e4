policy "tautologies" version "1.0.0" {
  rule either "A number is either at least 0 or below it" {
    require metrics.ece >= 0 or metrics.ece < 0
  }
  rule guarded "Skipped unless present, then always true" {
    when tags.team exists or tags.team missing
    require tags.team exists or tags.team missing
  }
  rule never "Never applies" {
    when tags.use_case == "credit" and tags.use_case == "hiring"
    require metrics.dp_gap <= 0.05
  }
}
