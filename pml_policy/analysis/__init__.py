"""Policy analysis with an SMT solver (z3, `pml-policy[analyze]`): what a policy can decide over
every possible subject, not only over the evidence seen so far.

- symbolic.py: the language's values and operators as z3 terms, errors included (fail closed);
- encoding.py: expressions, rules and policies over a universe of evidence slots;
- regexes.py: globs and the RE2 subset of `matches` as z3 regular expressions;
- witnesses.py: a solver model as an evidence folder, checked by the real engine before it is shown;
- findings.py (`analyze`) and semantic.py (`diff`): the questions asked of the solver.

Imported only by the commands that need it: z3 is heavy and optional.
"""
