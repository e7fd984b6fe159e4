policy "credit-gate" version "1.0.0" {
  applies to model "credit-*"
  rule floor "AUC at least 0.80" {
    require metrics.val_auc >= 0.80
  }
  rule parity "Parity gap at most 5 points" {
    enforce soft
    require metrics.dp_gap <= 0.05
  }
}

waiver "RISK-1" {
  policy "credit-gate" rule parity
  model "churn-model" version "*"
  reason "names a model the policy never applies to"
  approved by "cro@bank.example"
  expires 2030-01-31
}

waiver "RISK-2" {
  policy "credit-gate" rule floor
  model "credit-scorer" version 7
  reason "a hard rule"
  approved by "cro@bank.example"
  expires 2030-01-31
}

waiver "RISK-3" {
  policy "credit-gate" rule parity
  model "credit-scorer" version 7
  reason "a sound waiver"
  approved by "cro@bank.example"
  expires 2030-01-31
}
