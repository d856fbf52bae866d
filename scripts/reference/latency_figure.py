"""One picture and one table of success against latency for several agents' latency runs.

Each ``NAME=DIR`` is a ``gr-bench eval --latency-steps ...`` output folder (its ``latency.csv``);
the agents' curves share one axis, with their 95% Wilson intervals as bands.

    python scripts/reference/latency_figure.py oracle=runs/reference/latency/oracle \\
        gr3=runs/reference/latency/gr3 gr1=runs/reference/latency/gr1 --out docs/latency_references
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def read(folder: Path) -> list[dict]:
    path = folder / "latency.csv"
    if not path.exists():
        raise SystemExit(f"error: {path} not found: run gr-bench eval --latency-steps 0,2,4,8 --out {folder} first")
    with path.open() as f:
        return [row for row in csv.DictReader(f) if row["episodes"] == "all"]


def _cell(row: dict) -> str:
    rate, low, high = (100 * float(row[c]) for c in ("rate", "ci_low", "ci_high"))
    return f"{rate:.1f}% [{low:.0f}, {high:.0f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.png and OUT.md")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for spec in args.runs:
        name, _, folder = spec.partition("=")
        if not folder:
            raise SystemExit(f"error: {spec!r} is not NAME=DIR")
        curves[name] = read(Path(folder))
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    for name, rows in curves.items():
        k = [int(r["latency_steps"]) for r in rows]
        rate = [100 * float(r["rate"]) for r in rows]
        ax.plot(k, rate, marker="o", label=f"{name} (n={rows[0]['n']})")
        low, high = ([100 * float(r[c]) for r in rows] for c in ("ci_low", "ci_high"))
        ax.fill_between(k, low, high, alpha=0.15)
    ax.set_xlabel("latency K (control steps; 33 ms each on the tabletop)")
    ax.set_ylabel("success (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out.with_suffix(".png"))
    ks = sorted({int(r["latency_steps"]) for rows in curves.values() for r in rows})
    lines = ["| agent | " + " | ".join(f"K={k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for name, rows in curves.items():
        by_k = {int(r["latency_steps"]): r for r in rows}
        cells = [_cell(by_k[k]) if k in by_k else "-" for k in ks]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out.with_suffix('.png')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
