# Fairness for high-risk use cases. Every model must declare tags.use_case: a model without one
# cannot be classified, so its fairness rules error (fail closed) instead of passing silently.
policy "fairness-high-risk" version "1.0.0" {
  title "Fairness gaps for credit, hiring and insurance models"
  owner "model-risk@example.com"

  fact high_risk = lower(tags.use_case) in ["credit", "hiring", "insurance"]

  rule parity_gap "Demographic parity gap at most 5 points" {
    enforce soft  # a documented, approved waiver may cover a known, tracked gap
    when high_risk
    require metrics.dp_gap <= 5%
  }

  rule opportunity_gap "Equal opportunity gap at most 5 points" {
    enforce soft
    when high_risk
    require metrics.eo_gap <= 5%
  }
}
