"""Unit tests: no server, no subprocess; the whole tier runs in under a minute (make test-quick)."""
