"""Binds features/ for plain pytest (the step library is a pytest plugin); `pml-policy test` needs no such file.
It lives here, not in features/, so that features/ holds only what `pml-policy init` ships."""

from pytest_bdd import scenarios

scenarios("../../features")
