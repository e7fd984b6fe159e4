# Reproducibility: a model can be rebuilt from what was recorded.
policy "reproducibility" version "1.0.0" {
  title "The training run can be reproduced"
  owner "ml-platform@example.com"

  rule git_commit "The code version (git commit) is recorded" {
    enforce hard
    require run.git_commit matches "^[0-9a-f]{7,40}$"
  }

  rule data_version "The training data version is recorded" {
    enforce hard
    require tags["data.version"] exists or params.data_version exists
  }
}
