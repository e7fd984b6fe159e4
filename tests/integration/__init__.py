"""Integration tests: real servers and databases (MLflow, the SageMaker emulator, PostgreSQL,
Chromium, W&B's library)."""
