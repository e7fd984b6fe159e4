Feature: The check gate
  As a platform engineer I gate a CI job on `pml-policy check`,
  so that only a model that meets the policies can be promoted,
  and everyone can read why a model was stopped.

  Background:
    Given the starter policies
    And the champion "examples/credit-champion"

  Scenario: A candidate that meets every policy passes
    When I check "examples/credit-pass"
    Then the exit code is 0
    And the decision is "pass"
    And the rule "promotion-gate/auc_floor" is "pass" with "metrics.val_auc = 0.861, required >= 0.80"
    And the planned actions include 'set alias "champion"'

  Scenario: A missing model card is only a warning
    When I check "examples/credit-warn"
    Then the exit code is 0
    And the decision is "warn"
    And the rule "documentation/model_card" is "fail" with 'artifact "model_card.md" is missing'

  Scenario: Teams that block on warnings
    When I check "examples/credit-warn" with "--fail-on warn"
    Then the exit code is 1

  Scenario: A candidate below the bar fails and says why
    When I check "examples/credit-fail"
    Then the exit code is 1
    And the decision is "fail"
    And the rule "promotion-gate/auc_floor" is "fail" with "metrics.val_auc = 0.781, required >= 0.80"
    And the rule "fairness-high-risk/parity_gap" is "fail" with "metrics.dp_gap = 0.07, required <= 5%"
    And the planned actions include 'set tag "governance.status" = "rejected"'

  Scenario: Missing evidence never passes
    Given a run of "credit-scorer" with metrics
      | metric  | value |
      | val_auc | 0.9   |
    When I check that run
    Then the exit code is 1
    And the rule "promotion-gate/slices" is "error" with 'metrics matching "val_auc_slice_*" is absent'
    And the rule "fairness-high-risk/parity_gap" is "error" with "tags.use_case is absent"

  Scenario: A model that no policy covers is refused, not passed
    Given policies that only cover models named "fraud-*"
    When I check "examples/credit-pass"
    Then the exit code is 2
    And the error says "no policy applies to examples/credit-pass"

  Scenario: Unreadable evidence stops the gate
    When I check "examples/no-such-run"
    Then the exit code is 3
    And the error says "evidence folder does not exist"

  Scenario Outline: Every output format carries the verdict
    When I check "examples/credit-fail" with "--format <format>"
    Then the exit code is 1
    And the output contains "<marker>"

    Examples:
      | format   | marker                           |
      | json     | "outcome": "fail"                |
      | junit    | <failure message="metrics.val_auc |
      | sarif    | "ruleId": "promotion-gate/auc_floor" |
      | github   | ::error file=policies/starter/promotion.pml |
      | markdown | ### ❌ FAIL                       |
