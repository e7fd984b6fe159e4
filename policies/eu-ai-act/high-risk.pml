# EU AI Act (Regulation (EU) 2024/1689) and NIST AI RMF 1.0: the requirements for high-risk AI
# systems that a training run's evidence can show. The model card archived with the model
# (model_card.md front matter, or a CycloneDX modelCard) says the system's risk category, purpose,
# limitations, oversight and data; the run's metrics and metadata show the rest. Each rule's title
# names its article and RMF function. This is not legal advice, and not the whole Act:
# docs/eu-ai-act.md says what each rule reads and what the pack does not cover.
# Replace the members of "ai-oversight" with the people who oversee your high-risk systems.
role "ai-oversight" {
  members ["ai-oversight@example.com"]
}

policy "eu-ai-act-high-risk" version "1.0.0" {
  title "EU AI Act high-risk requirements that training evidence can show (with NIST AI RMF)"
  owner "ai-governance@example.com"

  fact high_risk = card.risk_category == "high"

  rule risk_classified "Art. 6 & 9, RMF MAP 1.5: the card classifies the system's risk" {
    require card.risk_category in ["minimal", "limited", "high"]
  }

  rule technical_documentation "Art. 11 & Annex IV, RMF MAP 2.1: purpose, limitations and oversight are documented" {
    when high_risk
    require card.intended_purpose exists and card.limitations exists and card.human_oversight exists
  }

  rule data_lineage "Art. 10(2), RMF MAP 4.1: the training data's sources and version are recorded" {
    when high_risk
    require len(card.datasets) >= 1 and tags["data.version"] exists
  }

  rule accuracy_declared "Art. 15(1-3), RMF MEASURE 2.3: accuracy metrics are declared and measured" {
    when high_risk
    require len(card.metrics) >= 1 and any metrics matching "val_*" >= 0
  }

  # Adapt the metric family and the margin to your use case.
  rule robustness "Art. 15(1) & 15(4), RMF MEASURE 2.5: every data slice performs within 10 points" {
    when high_risk
    require all metrics matching "val_auc_slice_*" >= metrics.val_auc - 0.10
  }

  rule fairness_measured "Art. 10(2)(f-g), RMF MEASURE 2.11: bias is measured across groups" {
    when high_risk
    require metrics.dp_gap exists and metrics.eo_gap exists
  }

  rule record_keeping "Art. 12, RMF GOVERN 1.4: the run is traceable (run, start time, code version)" {
    when high_risk
    require run.id exists and run.start_time exists and run.git_commit exists
  }

  # A human control: the decision waits for a person, it is not read from the evidence.
  rule human_oversight "Art. 14, RMF GOVERN 3.2 (human control): an overseer has signed off this evidence" {
    when high_risk
    require approved by "ai-oversight"
  }
}
