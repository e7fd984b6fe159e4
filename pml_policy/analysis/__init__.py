"""Policy analysis with an SMT solver (z3, `pml-policy[analyze]`): what a policy can decide over
every possible subject, not only over the evidence seen so far.

- symbolic.py: the language's values and operators as z3 terms, errors included (fail closed);
- universe.py: one evidence slot per path the policies read, as z3 variables;
- encoding.py: expressions, rules and policies as formulas over those slots (outcomes.py: what a
  rule and a policy decide);
- regexes.py: globs and the RE2 subset of `matches` as z3 regular expressions;
- solving.py: proofs (over every subject) and witnesses; witnesses.py writes a witness as an
  evidence folder, checked by the real engine before it is shown;
- analyzing.py (`analyze`: findings.py, rule_findings.py, set_findings.py) and semantic.py
  (`diff`); output.py renders both.

Imported only by the commands that need it: z3 is heavy and optional.
"""
