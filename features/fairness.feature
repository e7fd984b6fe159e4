Feature: Fairness for high-risk use cases
  Credit, hiring and insurance models may not treat groups differently by more than
  5 points, measured as the demographic parity gap and the equal opportunity gap.

  Background:
    Given the policies in "policies/starter"
    And a candidate "credit-scorer" version 8 with
      | evidence       | value  |
      | metrics.dp_gap | 2.4%   |
      | metrics.eo_gap | 3.1%   |
      | tags.use_case  | credit |

  Scenario: Small gaps on a credit model pass
    When the policy "fairness-high-risk" is evaluated
    Then the decision is pass
    And the rule "parity_gap" passes
    And the rule "opportunity_gap" passes

  Scenario Outline: A parity gap above 5 points fails every high-risk use case
    Given the candidate has tags
      | tag      | value      |
      | use_case | <use case> |
    And the candidate has metrics
      | metric | value |
      | dp_gap | 7%    |
    When the policy "fairness-high-risk" is evaluated
    Then the decision is fail
    And the rule "parity_gap" fails
    And the message mentions "metrics.dp_gap = 0.07, required <= 5%"

    Examples:
      | use case  |
      | credit    |
      | hiring    |
      | Insurance |

  Scenario: An equal opportunity gap above 5 points fails
    Given the candidate has metrics
      | metric | value |
      | eo_gap | 5.5%  |
    When the policy "fairness-high-risk" is evaluated
    Then the decision is fail
    And the rule "opportunity_gap" fails

  Scenario: Low-risk use cases are not held to these limits
    Given the candidate has tags
      | tag      | value     |
      | use_case | marketing |
    And the candidate has metrics
      | metric | value |
      | dp_gap | 9%    |
    When the policy "fairness-high-risk" is evaluated
    Then the decision is pass
    And the rule "parity_gap" is skipped

  Scenario: A model that does not declare its use case cannot pass
    Given the candidate has no tag "use_case"
    When the policy "fairness-high-risk" is evaluated
    Then the decision is fail
    And the rule "parity_gap" errors
    And the message mentions "tags.use_case is absent"

  Scenario: A waiver for a known, tracked gap covers this version only
    Given the candidate has metrics
      | metric | value |
      | dp_gap | 7%    |
    And a waiver "RISK-1432" for the rule "fairness-high-risk/parity_gap"
      | field       | value                                       |
      | reason      | Label delay on the senior segment, tracked  |
      | approved by | cro@bank.example                            |
      | expires     | 2027-01-31                                  |
      | version     | 8                                           |
    And today is 2026-12-01
    When the policy "fairness-high-risk" is evaluated
    Then the decision is warn
    And the rule "parity_gap" is waived

  Scenario: A waiver for another version does not apply
    Given the candidate has metrics
      | metric | value |
      | dp_gap | 7%    |
    And a waiver "RISK-1432" for the rule "fairness-high-risk/parity_gap"
      | field       | value                                       |
      | reason      | Label delay on the senior segment, tracked  |
      | approved by | cro@bank.example                            |
      | expires     | 2027-01-31                                  |
      | version     | 7                                           |
    And today is 2026-12-01
    When the policy "fairness-high-risk" is evaluated
    Then the decision is fail
    And the rule "parity_gap" fails
