"""Binds features/ for plain pytest (the step library is a pytest plugin); `pml-policy test` needs no such file."""

from pytest_bdd import scenarios

scenarios(".")
