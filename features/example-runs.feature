Feature: The example runs decide as the demo shows
  Real evidence: the run folders under examples/, read as `pml-policy check` reads them,
  against the model in production.

  Background:
    Given the policies in "policies/starter"
    And the champion is the local subject "examples/credit-champion"

  Scenario: The strong candidate passes every policy and is planned as the new champion
    Given the local subject "examples/credit-pass"
    When all policies are evaluated
    Then the decision is pass
    And the action 'set alias "champion"' is planned

  Scenario: The candidate without a model card passes with a warning
    Given the local subject "examples/credit-warn"
    When all policies are evaluated
    Then the decision is warn
    And the rule "documentation/model_card" fails

  Scenario: The weak candidate fails and says why
    Given the local subject "examples/credit-fail"
    When all policies are evaluated
    Then the decision is fail
    And the rule "promotion-gate/auc_floor" fails
    And the message mentions "metrics.val_auc = 0.781, required >= 0.80"
    And the rule "fairness-high-risk/parity_gap" fails
    And the action 'set alias "champion"' is not planned

  Scenario: What if the strong candidate had lost its model card?
    Given the local subject "examples/credit-pass"
    And the artifact "model_card.md" is missing
    When all policies are evaluated
    Then the decision is warn
