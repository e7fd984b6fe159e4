Feature: Model risk signs off high-risk models
  A person on the model risk committee approves a high-risk model version, and the approval
  holds only for the evidence they saw: a retrained model with new metrics waits for a new one.

  Background:
    Given the policies in "policies/signoff"
    And a candidate "credit-scorer" version 8 with
      | evidence      | value  |
      | tags.use_case | credit |
      | run.user      | ana    |
      | metrics.auc   | 0.86   |

  Scenario: Without a sign-off the decision waits
    When all policies are evaluated
    Then the decision is pending
    And the rule "signoff" is pending
    And the message mentions 'awaiting approval by "model-risk" (0 of 1)'
    And the action 'set tag "governance.status" = "awaiting-approval"' is planned

  Scenario: A member's sign-off lets it pass
    Given "cro@bank.example" approved it as "model-risk"
    When all policies are evaluated
    Then the decision is pass
    And the rule "signoff" passes
    And no action is planned

  Scenario: New evidence voids the sign-off
    Given "cro@bank.example" approved it as "model-risk"
    And the candidate has metrics
      | metric | value |
      | auc    | 0.87  |
    When all policies are evaluated
    Then the decision is pending
    And the message mentions "cro@bank.example (evidence changed since)"

  Scenario: Someone outside the role does not count
    Given "intern@bank.example" approved it as "model-risk"
    When all policies are evaluated
    Then the decision is pending
    And the message mentions 'not a member of "model-risk"'

  Scenario: Whoever trained the model cannot sign it off
    Given the candidate has metrics
      | metric | value |
      | auc    | 0.86  |
    And a candidate "credit-scorer" version 9 with
      | evidence      | value            |
      | tags.use_case | credit           |
      | run.user      | cro@bank.example |
    And "cro@bank.example" approved it as "model-risk"
    When all policies are evaluated
    Then the decision is pending
    And the message mentions "cro@bank.example (trained the model)"

  Scenario: An expired sign-off does not count
    Given today is 2027-03-01
    And "cro@bank.example" approved it as "model-risk" until 2027-02-28
    When all policies are evaluated
    Then the decision is pending
    And the message mentions "expired 2027-02-28"

  Scenario: A low-risk model needs no sign-off
    Given the candidate has tags
      | tag      | value     |
      | use_case | marketing |
    When all policies are evaluated
    Then the decision is pass
    And the rule "signoff" is skipped
