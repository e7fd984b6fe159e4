Feature: The SageMaker approval gate
  The best validated package of a model package group is approved: its model quality report clears
  the floor, it is no worse than the approved champion, its predictions are fair across facets for
  high-risk uses, and it is traceable to its code.

  Background:
    Given the policies in "policies/sagemaker"
    And a candidate "credit-scorer" version 3 with
      | evidence                  | value        |
      | metrics.auc               | 0.86         |
      | metrics.bias.age.DPPL     | 0.02         |
      | metrics.bias.gender.DPPL  | 0.03         |
      | tags.use_case             | credit       |
      | run.git_commit            | 3e1d0c9f77ab |
    And a champion with metrics
      | metric | value |
      | auc    | 0.85  |

  Scenario: A better, fair package is approved
    When all policies are evaluated
    Then the decision is pass
    And the rule "quality_floor" passes
    And the rule "no_regression" passes
    And the rule "parity" passes
    And the rule "traceable" passes
    And the action 'set alias "champion"' is planned

  Scenario: Below the floor, it is rejected
    Given the candidate has metrics
      | metric | value |
      | auc    | 0.79  |
    When all policies are evaluated
    Then the decision is fail
    And the rule "quality_floor" fails
    And the rule "no_regression" fails

  Scenario: An unfair facet blocks a credit model
    Given the candidate has metrics
      | metric           | value |
      | bias.gender.DPPL | 0.07  |
    When all policies are evaluated
    Then the rule "parity" fails
    And the message mentions "bias.gender.DPPL"

  Scenario: A use case outside the high-risk ones skips the parity rule
    Given the candidate has tags
      | tag      | value     |
      | use_case | marketing |
    When all policies are evaluated
    Then the rule "parity" is skipped

  Scenario: A package whose commit is not a commit cannot be traced
    Given a candidate "credit-scorer" version 4 with
      | evidence       | value   |
      | metrics.auc    | 0.86    |
      | tags.use_case  | other   |
      | run.git_commit | unknown |
    When all policies are evaluated
    Then the rule "traceable" fails

  Scenario: A package that records no commit at all is missing evidence
    Given a candidate "credit-scorer" version 5 with
      | evidence      | value |
      | metrics.auc   | 0.86  |
      | tags.use_case | other |
    When all policies are evaluated
    Then the rule "traceable" errors
    And the decision is fail
