"""The README's cross-simulator table, from finished `cross-sim` runs: each agent's success on the
same episodes in MuJoCo and in the PyBullet twin, per unseen axis (``seen``: no axis) and per task,
with 95% Wilson intervals, the change and McNemar's exact p on the paired episodes.

    python scripts/reference/cross_sim_table.py \\
        --agent oracle=runs/cross-sim-oracle \\
        --agent gr1=runs/reference/gr1-tiny/eval/cross-sim --agent gr3=runs/reference/gr3-tiny/eval/cross-sim \\
        [--readme README.md]   # rewrites the part between <!-- cross-sim --> and <!-- /cross-sim -->
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gr_bench.paired import across_envs

BEGIN, END = "<!-- cross-sim -->", "<!-- /cross-sim -->"


def cell(c: dict | None) -> str:
    if c is None:
        return "not run"
    (alo, ahi), (blo, bhi) = c["a"]["ci95"], c["b"]["ci95"]
    return (
        f"{c['a']['rate']:.0%} [{alo:.0%}, {ahi:.0%}] → {c['b']['rate']:.0%} [{blo:.0%}, {bhi:.0%}]"
        f" ({100 * (c['b']['rate'] - c['a']['rate']):+.0f} pts, p {c['p']:.2g})"
    )


def table(title: str, rows: list[tuple[str, str, str]], paired: dict[str, dict]) -> list[str]:
    """Rows of (label, section, key): ``section`` "overall", "per_axis" or "per_task"."""
    names = list(paired)
    out = [f"| {title} | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, section, key in rows:
        parts = [p["overall"] if section == "overall" else p[section].get(key) for p in paired.values()]
        out.append(f"| {label} | " + " | ".join(cell(part) for part in parts) + " |")
    return out


def tables(runs: dict[str, Path]) -> str:
    paired = {}
    for name, run in runs.items():
        results = json.loads((run / "results.json").read_text(encoding="utf-8"))
        if results["suite"]["name"] != "cross-sim":
            raise SystemExit(f"{run} is a run of {results['suite']['name']!r}, not of cross-sim")
        pairs = across_envs(results["episodes"])
        if pairs is None:
            raise SystemExit(f"{run}: its episodes do not pair up across two simulators (an unfinished run?)")
        paired[name] = pairs
    axes = sorted({a for p in paired.values() for a in p["per_axis"]}, key=lambda a: (a != "none", a))
    tasks = sorted({t for p in paired.values() for t in p["per_task"]})
    axis_rows = [("seen (no axis)" if a == "none" else f"axis: {a}", "per_axis", a) for a in axes]
    first = next(iter(paired.values()))
    envs = " → ".join(first["envs"])
    n = first["overall"]["pairs"]
    out = [
        f"Success in MuJoCo → in the PyBullet twin ({envs}), on the same {n} headline episodes of "
        "`cross-sim` v1 (the tabletop's released `seen` and `unseen` episodes, run in both); "
        "95% Wilson intervals; p: McNemar's exact test on the episodes only one simulator solved.",
        "",
        *table("episodes", [("**all**", "overall", ""), *axis_rows], paired),
        "",
        "<details><summary>Per task</summary>",
        "",
        *table("task", [(t, "per_task", t) for t in tasks], paired),
        "",
        "</details>",
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", action="append", required=True, metavar="NAME=RUN", help="a finished cross-sim run")
    parser.add_argument("--readme", type=Path, help=f"rewrite the part between {BEGIN} and {END} of this file")
    args = parser.parse_args()
    runs = {}
    for spec in args.agent:
        name, _, run = spec.partition("=")
        if not run or not (Path(run) / "results.json").is_file():
            print(f"--agent {spec!r}: give NAME=RUN, RUN a folder with results.json", file=sys.stderr)
            return 2
        runs[name] = Path(run)
    text = tables(runs)
    if args.readme:
        readme = args.readme.read_text(encoding="utf-8")
        if BEGIN not in readme or END not in readme:
            print(f"{args.readme} has no {BEGIN} ... {END} part to rewrite", file=sys.stderr)
            return 2
        head, rest = readme.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        args.readme.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
