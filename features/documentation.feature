Feature: Documentation
  Reviewers find a model card and an owning team next to every model. A gap is a
  warning to fix, not a reason to stop a release.

  Background:
    Given the policies in "policies/starter"
    And a candidate "credit-scorer" version 8 with
      | evidence   | value       |
      | tags.owner | risk-models |
    And the artifact "model_card.md" is archived

  Scenario: A documented model passes
    When the policy "documentation" is evaluated
    Then the decision is pass
    And the rule "model_card" passes
    And the rule "owner_tag" passes

  Scenario: A missing model card is a warning
    Given the artifact "model_card.md" is missing
    When the policy "documentation" is evaluated
    Then the decision is warn
    And the rule "model_card" fails
    And the message mentions 'artifact "model_card.md" is missing'

  Scenario: A model without an owner is a warning
    Given the candidate has no tag "owner"
    When the policy "documentation" is evaluated
    Then the decision is warn
    And the rule "owner_tag" fails
