"""python -m pml_policy.cli: the pml-policy command."""

from pml_policy.cli import main

main()
