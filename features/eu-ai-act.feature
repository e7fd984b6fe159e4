Feature: EU AI Act high-risk requirements that training evidence can show
  A high-risk model (its card says so) is promoted only when its documentation, data lineage,
  accuracy, robustness, fairness and record-keeping are in the evidence, and when a person who
  oversees high-risk systems has signed off that evidence (Art. 14: a human control).

  Background:
    Given the policies in "policies/eu-ai-act"
    And a candidate "credit-scorer" version 11 with
      | evidence                    | value        |
      | metrics.val_auc             | 0.86         |
      | metrics.val_auc_slice_young | 0.82         |
      | metrics.dp_gap              | 0.024        |
      | metrics.eo_gap              | 0.031        |
      | tags.data.version           | 2026-11      |
      | run.id                      | 5d2e8a10     |
      | run.user                    | ana          |
      | run.git_commit              | 7ab3e1d0c9f7 |
      | run.start_time              | 2026-11-27   |
    And the model card
      | field            | value                                          |
      | risk_category    | high                                           |
      | intended_purpose | Pre-screening of retail credit applications   |
      | limitations      | Thin-file applicants are scored with low confidence |
      | human_oversight  | A credit officer reviews every decline         |
      | datasets         | [applications-2026-11]                         |
      | metrics          | [val_auc]                                      |

  Scenario: A documented high-risk model waits for its overseer
    When all policies are evaluated
    Then the decision is pending
    And the rule "risk_classified" passes
    And the rule "technical_documentation" passes
    And the rule "data_lineage" passes
    And the rule "accuracy_declared" passes
    And the rule "robustness" passes
    And the rule "fairness_measured" passes
    And the rule "record_keeping" passes
    And the rule "human_oversight" is pending

  Scenario: The overseer's sign-off completes it
    Given "ai-oversight@example.com" approved it as "ai-oversight"
    When all policies are evaluated
    Then the decision is pass
    And the rule "human_oversight" passes

  Scenario: A model whose card does not classify its risk is not promoted
    Given the model card
      | field         | value   |
      | risk_category | unknown |
    When all policies are evaluated
    Then the decision is fail
    And the rule "risk_classified" fails

  Scenario: Without a model card nothing can be shown
    Given the candidate has no card field "risk_category"
    When all policies are evaluated
    Then the decision is fail
    And the rule "risk_classified" errors
    And the rule "human_oversight" errors

  Scenario: A minimal-risk model needs only its classification
    Given the model card
      | field         | value   |
      | risk_category | minimal |
    When all policies are evaluated
    Then the decision is pass
    And the rule "technical_documentation" is skipped
    And the rule "human_oversight" is skipped

  Scenario: Undocumented limitations fail the technical documentation
    Given the candidate has no card field "limitations"
    When all policies are evaluated
    Then the decision is fail
    And the rule "technical_documentation" fails

  Scenario: A card that names no dataset fails data lineage
    Given the model card
      | field    | value |
      | datasets | []    |
    When all policies are evaluated
    Then the rule "data_lineage" fails

  Scenario: No declared accuracy metric
    Given the model card
      | field   | value |
      | metrics | []    |
    When all policies are evaluated
    Then the rule "accuracy_declared" fails

  Scenario: Performance never measured on a slice
    Given the candidate has no metric "val_auc_slice_young"
    When all policies are evaluated
    Then the rule "robustness" errors

  Scenario: Bias not measured across groups
    Given the candidate has no metric "eo_gap"
    When all policies are evaluated
    Then the rule "fairness_measured" fails

  Scenario: A slice far below the whole fails robustness
    Given the candidate has metrics
      | metric              | value |
      | val_auc_slice_young | 0.70  |
    When all policies are evaluated
    Then the rule "robustness" fails
    And the message mentions "0.7"

  Scenario: A run without its code version is not traceable
    Given a candidate "credit-scorer" version 12 with
      | evidence          | value    |
      | metrics.val_auc   | 0.86     |
      | tags.data.version | 2026-11  |
      | run.id            | 9f00c1de |
      | run.start_time    | 2026-11-28 |
    And the model card
      | field         | value |
      | risk_category | high  |
    When all policies are evaluated
    Then the rule "record_keeping" fails
