# Production: the champion keeps holding while it serves. `pml-policy recheck MODEL` evaluates it
# with the newest monitoring report (MLflow: a run tagged pml.monitors = NAME/VERSION that logged
# monitoring.json, e.g. an Evidently DataDriftPreset snapshot), on a schedule with
# `pml-policy serve --recheck CRON`. A champion that no longer holds is reverted to the most recent
# earlier champion whose latest decision passed, and tagged.
# The columns whose drift matters most, per use case, come from --data (monitored_columns:
# {credit: [income, age]}); adjust the numbers to your models.
policy "champion-health" version "1.0.0" {
  title "The model in production still holds on its monitoring evidence"
  owner "ml-platform@example.com"
  applies to alias "champion"

  rule fresh_monitoring "A monitoring report at most 7 days old" {
    enforce hard
    require age(monitoring.computed_at) <= 7d
  }

  rule drift_share "Less than 30% of the columns drifted" {
    enforce hard
    require monitoring.drift.share < 30%
  }

  rule key_columns "No drift on the columns the use case names in data.monitored_columns" {
    enforce hard
    when pick(data.monitored_columns, tags.use_case) exists
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
