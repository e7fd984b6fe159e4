"""Write into the docs what their console examples print now: `python scripts/docs_examples.py [PAGE...]`.

The test suite (tests/e2e/test_docs.py) runs every example and compares; this refreshes the shown
output after a deliberate change. Review the diff before committing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.docs_examples import PAGES, blocks, services, updated  # noqa: E402
from tests.support.docs_services import started  # noqa: E402


def main(argv: list[str]) -> int:
    pages = [Path(p).resolve() for p in argv] or PAGES
    for page in pages:
        if blocks(page.read_text()):
            with started(services(page)) as env:
                page.write_text(updated(page, env))
            print(f"updated {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
