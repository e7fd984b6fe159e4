"""Write bench/README.md from the figures the benches saved (bench/results/*.json, `--record`)
and its template (bench/README.md.j2): every figure beside its anchor or floor and its target,
with the date, the machine and its load. `make bench` runs it after the benches.

    python bench/readme.py [--results bench/results] [--output bench/README.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jinja2
from measure import RESULTS, Figures

HERE = Path(__file__).resolve().parent


def markdown(text: str) -> str:
    """A cell's text, safe inside a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def section(results: Path, bench: str) -> str:
    """One bench's tables with when and where they were measured, or why there are none."""
    path = results / f"{bench}.json"
    if not path.exists():
        return f"_Not run yet: `python bench/{bench}.py --record {results}`._\n"
    figures = Figures.read(path)
    lines = [
        f"Run {figures.started} on {figures.machine}{' (quick sizes: not a measurement)' if figures.quick else ''}."
    ]
    for note in figures.notes:
        lines.append(f"{markdown(note)}.")
    for table, rows in figures.tables.items():
        lines += ["", f"**{markdown(table)}**", ""]
        lines += [
            "| measure | median (min-max over rounds) | beside it, same run | target | load |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            cells = (r.measure, r.figure, r.beside, r.target.replace("MISSED", "**missed**"), r.load)
            lines.append("| " + " | ".join(markdown(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render(results: Path) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), keep_trailing_newline=True, autoescape=False)
    return environment.get_template("README.md.j2").render(section=lambda bench: section(results, bench))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the benches saved their figures")
    parser.add_argument("--output", type=Path, default=HERE / "README.md")
    args = parser.parse_args()
    args.output.write_text(render(args.results))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
