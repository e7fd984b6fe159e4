"""Compliance reports rendered from the audit log (Jinja2 templates)."""
