# Production: the champion keeps holding while it serves. `pml-policy recheck MODEL` evaluates it
# with the newest monitoring report (MLflow: a run tagged pml.monitors = NAME/VERSION that logged
# monitoring.json, e.g. an Evidently DataDriftPreset snapshot), on a schedule with
# `pml-policy serve --recheck CRON`. A champion that no longer holds is reverted to the most recent
# earlier champion that still passes on its own evidence, and tagged; with none it keeps the alias
# and its tag says failing. A monitoring run may watch the version (pml.monitors = NAME/VERSION) or
# the slot (pml.monitors = NAME@champion): a report on the slot counts for the version promoted to it.
# The columns whose drift matters most, per use case, come from --data (monitored_columns:
# {credit: [income, age]}); adjust the numbers to your models.
policy "champion-health" version "1.1.0" {
  title "The model in production still holds on its monitoring evidence"
  owner "ml-platform@example.com"
  applies to alias "champion"

  # A champion governance promoted less than 2 days ago may have no report yet: awaiting
  # monitoring, not failing. Any other champion without one fails (fail closed).
  rule fresh_monitoring "A monitoring report at most 7 days old (2 days of grace after a promotion)" {
    enforce hard
    when monitoring exists or not model.promoted_at exists or age(model.promoted_at) > 2d
    require age(monitoring.computed_at) <= 7d
  }

  rule drift_share "Less than 30% of the columns drifted" {
    enforce hard
    when monitoring exists
    require monitoring.drift.share < 30%
  }

  rule key_columns "No drift on the columns the use case names in data.monitored_columns" {
    enforce hard
    when monitoring exists and pick(data.monitored_columns, tags.use_case) exists
    require drifted(monitoring.columns, pick(data.monitored_columns, tags.use_case)) == []
  }

  rule decision_age "The champion was trained within the last 180 days" {
    enforce advisory  # a warning to retrain: reverting to an older model would not help
    require age(run.start_time) <= 180d
  }

  on fail {
    revert alias "champion"
    set tag "governance.status" = "reverted"
  }
}
