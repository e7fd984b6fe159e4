"""Runs features/check.feature with pytest-bdd."""

from pytest_bdd import scenarios

scenarios("check.feature")
