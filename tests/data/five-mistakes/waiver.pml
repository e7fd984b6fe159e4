waiver "RISK-9" {
  policy "names" rule auc_flor
  model "credit-scorer" version 3
  reason "known issue"
  approved by "cro@example.com"
  expires 2027-01-31
}
