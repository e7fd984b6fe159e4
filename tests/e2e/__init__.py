"""End-to-end tests: the CLI and the service as processes, the way users run them."""
