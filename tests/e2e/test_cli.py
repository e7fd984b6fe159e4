"""The CI gate's cold start, as a process: `check` imports no heavy module, and exactly the modules
its list names."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from ..helpers import ROOT, run_cli

# What `check` on a folder may import, beyond the standard library: the cold start is these and no
# more (a new dependency on this path must be added here, on purpose).
CHECK_IMPORTS = {
    "annotated_types",
    "click",
    "pydantic",
    "re2",  # `matches` in linear time (4 ms to import)
    "pydantic_core",
    "typing_extensions",
    "typing_inspection",
    "yaml",
}


CHECK_MODULES = {  # ours: the check command, its use case, the engine, the local adapter, the audit write path
    "cli",
    "cli.attest",  # --attest-dir's option (the attesting use case loads only when asked for)
    "cli.changes",
    "cli.check",
    "cli.configfile",  # pml-policy.toml: looked for by every command (tomllib, only where there is one)
    "cli.options",
    "base",
    "usecases",
    "usecases.approving",
    "usecases.checking",
    "base.config",
    "base.dates",
    "base.identities",
    "base.errors",
    "base.escaping",
    "base.links",
    "base.secrets",
    "base.waiting",
    "base.files",
    "base.mappings",
    "usecases.plan",
    "usecases.recording",
    "usecases.workspace",
    "adapters",
    "adapters.base",
    "adapters.cards",
    "adapters.local",
    "adapters.lookup",
    "adapters.wandb",
    "adapters.wandb.adapter",
    "adapters.wandb.log",
    "audit",
    "audit.aggregates",
    "audit.counts",
    "audit.chain",
    "audit.context",
    "audit.database",
    "audit.queries",
    "audit.registered",  # a policy version keeps its digest: checked by the append
    "audit.rows",
    "audit.schema",
    "audit.signing",
    "audit.store",
    "audit.proofs",  # the head, read under the append's lock
    "audit.tree",  # the Merkle tree's nodes, written with each append
    "transparency",
    "transparency.keys",
    "transparency.merkle",
    "transparency.notes",
    "outputs",
    "outputs.text",
    "engine",
    "engine.ast",
    "engine.backends",
    "engine.checker",
    "engine.compiler",
    "engine.decision",
    "engine.diagnostics",
    "engine.environment",
    "engine.formatter",
    "engine.functions",
    "engine.loader",
    "engine.names",
    "engine.parse_cache",  # the policies were parsed by the check before: lark and the parser are not imported
    "engine.reading",
    "engine.paths",
    "engine.patterns",
    "engine.python_backend",
    "engine.rules",
    "engine.signoffs",
    "adapters.monitoring",
    "engine.subject",
    "engine.values",
    "engine.waivers",
}


@pytest.mark.parametrize("audit", [["--no-audit"], []])
def test_the_check_path_imports_no_heavy_modules(audit):
    """Not even SQLAlchemy once the SQLite log exists: appends go through sqlite3 itself."""
    absent = ("mlflow", "wandb", "sqlalchemy", "sqlmodel", "durable")
    assert run_cli("check", "examples/credit-pass", "-p", "policies/starter").exit_code == 0  # the log now exists
    code = (
        f"import sys; sys.argv = ['pml-policy', 'check', 'examples/credit-pass', '-p', 'policies/starter', *{audit!r}];"
        "from pml_policy.cli import main\n"
        "try: main()\nexcept SystemExit as e: code = e.code\n"
        f"print('HEAVY', [m for m in {absent!r} if m in sys.modules], 'EXIT', code)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("HEAVY [] EXIT 0"), out


def test_check_on_a_folder_imports_exactly_its_list():
    """The import graph of the CI gate, listed: a heavy module creeping in fails here, not in a stopwatch."""
    assert run_cli("check", "examples/credit-pass", "-p", "policies/starter").exit_code == 0  # the log now exists
    code = (
        "import sys; sys.argv = ['pml-policy', 'check', 'examples/credit-pass', '-p', 'policies/starter'];"
        "from pml_policy.cli import main\n"
        "try: main()\nexcept SystemExit as e: code = e.code\n"
        "tops = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)\n"
        "skip = ('cython_runtime', 'pml_policy')\n"
        "import json; print(json.dumps(sorted(m for m in tops if not m.startswith('_') and m not in skip)))\n"
        "print(json.dumps(sorted(m[len('pml_policy.'):] for m in sys.modules if m.startswith('pml_policy.'))))"
    )
    third, ours = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-2:]
    # lark imports `regex`, its optional accelerator, whenever it is installed (evidently's nltk brings it
    # into the test environment); it is not ours to import or to avoid.
    optional = {"regex"} if importlib.util.find_spec("regex") else set()
    assert set(json.loads(third)) - optional == CHECK_IMPORTS
    assert set(json.loads(ours)) == CHECK_MODULES
