Feature: Reproducibility
  A model can be rebuilt only from a known code version and a known data version.

  Background:
    Given the policies in "policies/starter"
    And a candidate "credit-scorer" version 8 with
      | evidence          | value        |
      | run.git_commit    | 3e1d0c9f77ab |
      | tags.data.version | 2026-10      |

  Scenario: A run with its commit and data version recorded passes
    When the policy "reproducibility" is evaluated
    Then the decision is pass
    And the rule "git_commit" passes
    And the rule "data_version" passes

  Scenario: A branch name is not a code version
    Given a candidate "credit-scorer" version 8 with
      | evidence          | value   |
      | run.git_commit    | main    |
      | tags.data.version | 2026-10 |
    When the policy "reproducibility" is evaluated
    Then the decision is fail
    And the rule "git_commit" fails

  Scenario: A run that recorded no commit at all fails closed
    Given a candidate "credit-scorer" version 8 with
      | evidence          | value   |
      | tags.data.version | 2026-10 |
    When the policy "reproducibility" is evaluated
    Then the decision is fail
    And the rule "git_commit" errors

  Scenario: The data version may be recorded as a parameter instead
    Given the candidate has no tag "data.version"
    And the candidate has params
      | param        | value   |
      | data_version | 2026-10 |
    When the policy "reproducibility" is evaluated
    Then the rule "data_version" passes

  Scenario: A model trained on unknown data is rejected
    Given the candidate has no tag "data.version"
    When the policy "reproducibility" is evaluated
    Then the decision is fail
    And the rule "data_version" fails
