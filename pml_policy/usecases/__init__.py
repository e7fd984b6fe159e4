"""The operations the fronts (CLI, service) run: each takes a workspace and returns a typed result."""
