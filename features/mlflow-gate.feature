Feature: The MLflow champion gate
  The best validated version of a registered model is promoted: good enough on validation data,
  no worse than the champion, traceable to its code, documented.

  Background:
    Given the policies in "policies/mlflow"
    And a candidate "credit-scorer" version 4 with
      | evidence        | value        |
      | metrics.val_auc | 0.86         |
      | run.git_commit  | 3e1d0c9f77ab |
    And the artifact "model_card.md" is archived
    And a champion with metrics
      | metric  | value |
      | val_auc | 0.85  |

  Scenario: A better version is promoted
    When all policies are evaluated
    Then the decision is pass
    And the rule "quality_floor" passes
    And the rule "no_regression" passes
    And the rule "traceable" passes
    And the rule "model_card" passes
    And the action 'set alias "champion"' is planned

  Scenario: Below the floor, it is rejected
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.78  |
    When all policies are evaluated
    Then the decision is fail
    And the rule "quality_floor" fails
    And the rule "no_regression" fails
    And the action 'set tag "governance.status" = "rejected"' is planned

  Scenario: Without a champion there is nothing to regress from
    Given there is no champion
    When all policies are evaluated
    Then the rule "no_regression" is skipped
    And the decision is pass

  Scenario: A run that does not record its commit cannot be traced
    Given a candidate "credit-scorer" version 5 with
      | evidence        | value   |
      | metrics.val_auc | 0.86    |
      | run.git_commit  | unknown |
    When all policies are evaluated
    Then the rule "traceable" fails

  Scenario: A missing model card only warns
    Given the artifact "model_card.md" is missing
    When all policies are evaluated
    Then the rule "model_card" warns
    And the decision is warn
