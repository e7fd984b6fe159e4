# Documentation: what a reviewer needs to find next to the model.
policy "documentation" version "1.0.0" {
  title "The model is documented"
  owner "ml-platform@example.com"

  rule model_card "The model card is archived with the model" {
    enforce advisory
    require artifact "model_card.md" exists
  }

  rule owner_tag "The owning team is recorded" {
    enforce advisory
    require tags.owner exists
  }
}
