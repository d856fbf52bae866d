"""Two runs on the same episodes, compared episode by episode (McNemar's exact test).

    python scripts/reference/paired.py runs/a runs/b

Two checkpoints evaluated on one episode list (same ids, same seeds) differ by sampling noise far
less than two independent draws: only the episodes where exactly one of them succeeds count.
Headline episodes only (a run's ``beside_headline`` tasks are left out, as its headline rate does).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gr_bench.paired import mcnemar_exact


def load(run: Path) -> tuple[dict[str, bool], set[str]]:
    """episode id -> success (key: id and seed), and the tasks scored beside the headline."""
    records = {}
    for line in (run / "episodes.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            records[f"{r['episode_id']}@{r['seed']}"] = (bool(r["success"]), r["tasks"][0])
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    beside = set(results["aggregates"].get("beside_headline", {}).get("per_task", {}))
    return {k: ok for k, (ok, task) in records.items() if task not in beside}, beside


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="a run folder (episodes.jsonl, results.json)")
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    (a, _), (b, _) = load(args.a), load(args.b)
    shared = sorted(a.keys() & b.keys())
    if not shared:
        print("the two runs share no episode (same id and seed): nothing to pair", file=sys.stderr)
        return 2
    both = sum(a[k] and b[k] for k in shared)
    only_a = sum(a[k] and not b[k] for k in shared)
    only_b = sum(b[k] and not a[k] for k in shared)
    n = len(shared)
    print(f"{n} shared headline episodes")
    print(f"  {args.a}: {both + only_a}/{n} ({(both + only_a) / n:.1%})")
    print(f"  {args.b}: {both + only_b}/{n} ({(both + only_b) / n:.1%})")
    print(f"  both {both}, only the first {only_a}, only the second {only_b}; "
          f"McNemar exact p = {mcnemar_exact(only_a, only_b):.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
