Feature: The model in production keeps holding
  A champion that passed its gate can go wrong while it serves: its inputs drift and nobody
  looks. Re-checked on its latest monitoring report, it must show fresh monitoring, little
  drift overall, none on the columns its use case depends on, and a decision not too old.

  Background:
    Given the policies in "policies/production"
    And today is 2027-02-01
    And a candidate "credit-scorer" version 7 with
      | evidence       | value                |
      | tags.use_case  | credit               |
      | run.start_time | 2026-12-01T09:00:00Z |
    And the candidate holds the alias "champion"
    And the context data
      | key                      | value          |
      | monitored_columns.credit | [income, age]  |
    And the monitoring report
      | field                         | value                |
      | computed_at                   | 2027-01-30T06:00:00Z |
      | drift.share                   | 10%                  |
      | columns.income.drift_detected | false                |
      | columns.age.drift_detected    | false                |

  Scenario: A healthy champion keeps its place
    When all policies are evaluated
    Then the decision is pass
    And no action is planned

  Scenario: A stale monitoring report fails the champion, which is reverted
    Given the monitoring report
      | field       | value                |
      | computed_at | 2027-01-10T06:00:00Z |
    When all policies are evaluated
    Then the decision is fail
    And the rule "fresh_monitoring" fails
    And the message mentions "required <= 7d"
    And the action 'revert alias "champion"' is planned

  Scenario: No monitoring at all is missing evidence, never a pass
    Given a candidate "credit-scorer" version 7 with
      | evidence       | value                |
      | tags.use_case  | credit               |
      | run.start_time | 2026-12-01T09:00:00Z |
    And the candidate holds the alias "champion"
    When all policies are evaluated
    Then the decision is fail
    And the rule "fresh_monitoring" errors

  Scenario: Too many drifted columns
    Given the monitoring report
      | field       | value |
      | drift.share | 45%   |
    When all policies are evaluated
    Then the decision is fail
    And the rule "drift_share" fails

  Scenario: Drift on a column the use case names
    Given the monitoring report
      | field                         | value |
      | columns.income.drift_detected | true  |
    When all policies are evaluated
    Then the decision is fail
    And the rule "key_columns" fails
    And the message mentions '["income"]'

  Scenario: A column the report does not cover is missing evidence
    Given the context data
      | key                      | value                   |
      | monitored_columns.credit | [income, age, region]   |
    When all policies are evaluated
    Then the rule "key_columns" errors

  Scenario: A use case without named columns skips that rule
    Given the candidate has tags
      | tag      | value     |
      | use_case | marketing |
    When all policies are evaluated
    Then the rule "key_columns" is skipped
    And the decision is pass

  Scenario: A champion decided long ago is a warning to revisit, not a failure
    Given a candidate "credit-scorer" version 7 with
      | evidence       | value                |
      | tags.use_case  | credit               |
      | run.start_time | 2026-01-05T09:00:00Z |
    And the candidate holds the alias "champion"
    And the monitoring report
      | field                         | value                |
      | computed_at                   | 2027-01-30T06:00:00Z |
      | drift.share                   | 10%                  |
      | columns.income.drift_detected | false                |
      | columns.age.drift_detected    | false                |
    When all policies are evaluated
    Then the rule "decision_age" fails
    And the decision is warn
    And no action is planned
