# A human control (EU AI Act Art. 14, SR 11-7): a high-risk model is promoted only after model
# risk has signed off the very evidence it was decided on. `pml-policy approve REF --role
# model-risk --reason "…"` records a sign-off; new or changed evidence voids it, and whoever
# trained the model cannot approve it. Use with the starter pack:
#   pml-policy check RUN -p policies/starter -p policies/signoff
# Replace the members with your committee; roles are reviewed like policies.
role "model-risk" {
  members ["cro@bank.example", "risk-officer@bank.example"]
}

policy "model-risk-signoff" version "1.0.0" {
  title "High-risk models are signed off by model risk"
  owner "model-risk@bank.example"

  fact high_risk = lower(tags.use_case) in ["credit", "hiring", "insurance"]

  rule signoff "Model risk has signed off this version's evidence" {
    when high_risk
    require approved by "model-risk"
  }

  on pending {
    set tag "governance.status" = "awaiting-approval"
  }
}
