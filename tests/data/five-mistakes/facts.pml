policy "facts" version "1.0.0" {
  fact strict = high_risk and tags.tier == "1"
  fact high_risk = strict or tags.use_case == "credit"

  rule gap {
    when high_risk
    require metrics.dp_gap <= 5%
  }
}
