"""The README's results tables, from finished runs: per suite, per unseen-scene axis (with each
agent's drop from `seen`) and per instruction category, every agent side by side with 95% Wilson
intervals. Tabletop numbers come from each run's tabletop part (GR-1 drives the tabletop arm
only); the tidying room and the cloth table have their own rows, and the cloth table its own axes
table. Missing runs show as "not run".

    python scripts/reference/results_table.py \\
        --agent gr1=runs/reference/gr1-tiny/eval/{suite}+runs/v4/gr1-cloth-{suite} \\
        --agent gr3=runs/v4/gr3-{suite} \\
        --agent oracle=runs/v4/oracle-{suite} --agent random=runs/v4/random-{suite} \\
        [--readme README.md]   # rewrites the part between <!-- results --> and <!-- /results -->

From the boards' submissions (what the README shows; S=leaderboards/submissions, R=gr-bench-reference):

    python scripts/reference/results_table.py \\
        --agent gr1=$S/{suite}/v3/tabletop/gr1-tiny-$R.json+$S/{suite}/v4/cloth/gr1-tiny-$R.json \\
        --agent gr2=$S/{suite}/v4/tabletop/gr2-tiny-$R.json \\
        --agent gr3=$S/{suite}/v4/gr3-tiny-$R.json \\
        --agent oracle=$S/{suite}/v4/oracle-$R.json \\
        --agent random=$S/{suite}/v4/random-$R.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SUITES = ("seen", "unseen", "ood-instruction", "long-horizon")
TABLETOP, TIDY, CLOTH = "GRBench/Tabletop-v0", "GRBench/Tidy-v0", "GRBench/Cloth-v0"
CLOTH_BYTEMINI = "GRBench/ClothByteMini-v0"
ENVS = ((TABLETOP, "tabletop"), (TIDY, "tidy"), (CLOTH, "cloth"), (CLOTH_BYTEMINI, "cloth, ByteMini"))
BEGIN, END = "<!-- results -->", "<!-- /results -->"


def load(pattern: str, suite: str) -> dict | None:
    """The run of ``pattern`` for ``suite``: a run folder, a results file or a board submission
    (``.json``); with several patterns joined by ``+`` (an agent's runs of separate tracks), their
    environments' parts and chains merged, the first run's where two ran the same environment."""
    runs = []
    for one in pattern.split("+"):
        path = Path(one.format(suite=suite))
        if path.suffix != ".json":
            path = path / "results.json"
        if path.is_file():
            data = json.loads(path.read_text())
            runs.append(data.get("results", data))  # a submission wraps its results
    if len(runs) <= 1:
        return runs[0] if runs else None
    per_env: dict = {}
    chains: dict = {}
    for run in runs:
        for env, part in run["aggregates"].get("per_env", {}).items():
            per_env.setdefault(env, part)
        for axis, stats in run["aggregates"].get("chains_per_axis", {}).items():
            chains.setdefault(axis, stats)
    return {**runs[0], "aggregates": {**runs[0]["aggregates"], "per_env": per_env, "chains_per_axis": chains}}


def cell(rate: dict | None) -> str:
    if not rate or not rate.get("n"):
        return "not run"
    lo, hi = rate["ci95"]
    return f"{rate['rate']:.1%} [{lo:.0%}, {hi:.0%}]"


def env_part(results: dict | None, env: str) -> dict | None:
    return None if results is None else results["aggregates"].get("per_env", {}).get(env)


def cloth_chain(runs: dict) -> tuple[str, ...]:
    """The tasks of the cloth table's long-horizon chains in these runs (v4: flatten, fold; v5:
    flatten, fold, hang), from the first record of one; () where no run has one."""
    for suites in runs.values():
        for record in (suites["long-horizon"] or {}).get("episodes", []):
            if record.get("env_id") == CLOTH:
                return tuple(record["tasks"])
    return ()


def tables(agents: dict[str, str]) -> str:
    runs = {name: {suite: load(pattern, suite) for suite in SUITES} for name, pattern in agents.items()}
    names = list(agents)
    head = "| | " + " | ".join(f"`{n}`" for n in names) + " |\n|---|" + "---|" * len(names)
    cloth_tasks = cloth_chain(runs)
    out = [
        "**Per suite** (success, 95% Wilson interval; `long-horizon`: tasks done per chain, of 5 on the "
        f"tabletop, of {len(cloth_tasks) or 2} on the cloth table)",
        "",
        head,
    ]
    for suite in SUITES[:3]:
        for env, label in ENVS:
            row = [cell((env_part(runs[n][suite], env) or {}).get("overall")) for n in names]
            if env != TABLETOP and all(c == "not run" for c in row):
                continue
            out.append(f"| `{suite}` {label} | " + " | ".join(row) + " |")
    cloth_label = "cloth, " + ", ".join(t if t in ("flatten", "hang") else "fold" for t in cloth_tasks)
    chain_rows = (
        ("ABC-D", "ABC-D (headline)"),
        ("ABCD-D", "ABCD-D"),
        ("cloth", cloth_label),
        ("cloth_bytemini", cloth_label.replace("cloth, ", "cloth with ByteMini, ")),
    )
    for axis, label in chain_rows:
        row = []
        for n in names:
            chains = (runs[n]["long-horizon"] or {}).get("aggregates", {}).get("chains_per_axis", {})
            stats = chains.get(f"long_horizon_{axis}")
            row.append(f"{stats['avg_len']:.2f} (n={stats['n']})" if stats else "not run")
        if axis.startswith("cloth") and all(c == "not run" for c in row):
            continue
        out.append(f"| `long-horizon` {label} | " + " | ".join(row) + " |")

    seen = {n: (env_part(runs[n]["seen"], TABLETOP) or {}).get("overall") for n in names}
    out += _axes_table(runs, names, head, TABLETOP, "tabletop", seen)
    cloth_seen = {n: (env_part(runs[n]["seen"], CLOTH) or {}).get("overall") for n in names}
    out += _axes_table(runs, names, head, CLOTH, "cloth", cloth_seen)
    bytemini_seen = {n: (env_part(runs[n]["seen"], CLOTH_BYTEMINI) or {}).get("overall") for n in names}
    out += _axes_table(runs, names, head, CLOTH_BYTEMINI, "cloth, ByteMini", bytemini_seen)
    categories = sorted(
        {c for n in names for c in (env_part(runs[n]["ood-instruction"], TABLETOP) or {}).get("per_category", {})}
    )
    if categories:
        out += ["", "**Instruction categories** (`ood-instruction`, tabletop)", "", head]
        for category in categories:
            row = [
                cell((env_part(runs[n]["ood-instruction"], TABLETOP) or {}).get("per_category", {}).get(category))
                for n in names
            ]
            out.append(f"| {category} | " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def _axes_table(runs: dict, names: list[str], head: str, env: str, label: str, seen: dict) -> list[str]:
    """Per unseen axis of ``env``, each agent's rate and its drop from its ``seen`` rate there."""
    axes = sorted({a for n in names for a in (env_part(runs[n]["unseen"], env) or {}).get("per_axis", {})})
    if not axes:
        return []
    out = ["", f"**Unseen-scene axes** ({label}; in brackets: the drop from the agent's `seen` {label} rate)", "", head]
    for axis in axes:
        row = []
        for n in names:
            rate = (env_part(runs[n]["unseen"], env) or {}).get("per_axis", {}).get(axis)
            text = cell(rate)
            if rate and seen[n]:
                text += f" ({(rate['rate'] - seen[n]['rate']) * 100:+.0f} pts)"
            row.append(text)
        out.append(f"| {axis} | " + " | ".join(row) + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", action="append", required=True, metavar="NAME=PATTERN", help="{suite} in PATTERN")
    parser.add_argument("--readme", type=Path, help="rewrite the results part of this file")
    args = parser.parse_args()
    agents = dict(item.split("=", 1) for item in args.agent)
    text = tables(agents)
    if args.readme:
        page = args.readme.read_text()
        if BEGIN not in page or END not in page:
            raise SystemExit(f"{args.readme} has no {BEGIN} ... {END} part")
        before, rest = page.split(BEGIN, 1)
        _, after = rest.split(END, 1)
        args.readme.write_text(f"{before}{BEGIN}\n{text}{END}{after}")
    print(text)


if __name__ == "__main__":
    main()
