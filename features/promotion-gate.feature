Feature: Promotion gate
  A model replaces the champion only when it is good enough on validation data,
  on every data slice, calibrated, and no worse than the model in production.

  Background:
    Given the policies in "policies/starter"
    And a candidate "credit-scorer" version 8 with
      | evidence                     | value |
      | metrics.val_auc              | 0.86  |
      | metrics.val_auc_slice_young  | 0.82  |
      | metrics.val_auc_slice_senior | 0.81  |
      | metrics.val_ece              | 2.7%  |
    And a champion with metrics
      | metric  | value |
      | val_auc | 0.85  |

  Scenario: A better model than the champion is promoted
    When the policy "promotion-gate" is evaluated
    Then the decision is pass
    And the rule "auc_floor" passes
    And the rule "no_regression" passes
    And the rule "slices" passes
    And the rule "calibration" passes
    And the action 'set alias "champion"' is planned
    And the action 'set tag "governance.status" = "approved"' is planned

  Scenario: A model below the AUC floor is rejected, whatever else it does well
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.79  |
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "auc_floor" fails
    And the message mentions "metrics.val_auc = 0.79, required >= 0.80"
    And the action 'set tag "governance.status" = "rejected"' is planned
    And the action 'set alias "champion"' is not planned

  Scenario: A drop of more than half a point against the champion blocks promotion
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.842 |
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "no_regression" fails
    And the rule "auc_floor" passes

  Scenario: A dip within the half-point tolerance is accepted
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.846 |
    When the policy "promotion-gate" is evaluated
    Then the decision is pass
    And the rule "no_regression" passes

  Scenario: The first model of a use case has no champion to beat
    Given there is no champion
    When the policy "promotion-gate" is evaluated
    Then the decision is pass
    And the rule "no_regression" is skipped

  Scenario: One weak data slice is enough to fail
    Given the candidate has metrics
      | metric               | value |
      | val_auc_slice_senior | 0.74  |
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "slices" fails
    And the message mentions "metrics.val_auc_slice_senior = 0.74"

  Scenario: A model without slice metrics cannot be promoted
    Given the candidate has no metric "val_auc_slice_young"
    And the candidate has no metric "val_auc_slice_senior"
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "slices" errors

  Scenario: A poorly calibrated model is rejected
    Given the candidate has metrics
      | metric  | value |
      | val_ece | 6%    |
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "calibration" fails
    And the message mentions "required <= 5%"

  Scenario: A risk officer's waiver lets a calibration gap through, with a warning
    Given the candidate has metrics
      | metric  | value |
      | val_ece | 6%    |
    And a waiver "RISK-2001" for the rule "promotion-gate/calibration"
      | field       | value                                   |
      | reason      | Recalibration scheduled for the Q1 run  |
      | approved by | cro@bank.example                        |
      | expires     | 2027-03-31                              |
    And today is 2027-01-15
    When the policy "promotion-gate" is evaluated
    Then the decision is warn
    And the rule "calibration" is waived
    And the message mentions "waived by RISK-2001"

  Scenario: An expired waiver is reported, not applied
    Given the candidate has metrics
      | metric  | value |
      | val_ece | 6%    |
    And a waiver "RISK-2001" for the rule "promotion-gate/calibration"
      | field       | value                                   |
      | reason      | Recalibration scheduled for the Q1 run  |
      | approved by | cro@bank.example                        |
      | expires     | 2027-03-31                              |
    And today is 2027-04-01
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "calibration" fails
    And the message mentions "expired waiver RISK-2001 not applied"

  Scenario: No waiver can lift the AUC floor
    Given the candidate has metrics
      | metric  | value |
      | val_auc | 0.79  |
    And a waiver "RISK-2002" for the rule "promotion-gate/auc_floor"
      | field       | value              |
      | reason      | Business pressure  |
      | approved by | cro@bank.example   |
      | expires     | 2099-12-31         |
    When the policy "promotion-gate" is evaluated
    Then the decision is fail
    And the rule "auc_floor" fails
    And the message mentions "cannot lift a hard rule"
