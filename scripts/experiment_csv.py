"""Per-task successes of an experiment's evaluation runs, as the CSV files kept in docs/.

    python scripts/experiment_csv.py gr2-experiment runs/reference/gr2-experiment > docs/gr2_experiment.csv

Every run folder under WORKDIR with a results.json becomes one row per task: successes, episodes,
the suite and version, and the first 16 hex digits of the checkpoint's sha256 (empty for an agent
without one). Rows are sorted by run and task, so a rerun changes only what changed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path


def rows(experiment: str, workdir: Path) -> list[list]:
    out = []
    for results_file in sorted(workdir.glob("*/results.json")):
        results = json.loads(results_file.read_text(encoding="utf-8"))
        wins, total = Counter(), Counter()
        for episode in results["episodes"]:
            task = episode["tasks"][0]
            total[task] += 1
            wins[task] += bool(episode["success"])
        suite = f"{results['suite']['name']} v{results['suite']['version']}"
        sha = (results["agent"].get("checkpoint_sha256") or "")[:16]
        for task in sorted(total):
            out.append([experiment, results_file.parent.name, task, wins[task], total[task], suite, sha])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", help="the experiment's name, the CSV's first column")
    parser.add_argument("workdir", type=Path, help="the folder holding the experiment's evaluation runs")
    args = parser.parse_args()
    if not args.workdir.is_dir():
        sys.exit(f"experiment_csv: {args.workdir} is not a folder")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["experiment", "run", "task", "successes", "episodes", "suite", "checkpoint_sha256"])
    writer.writerows(rows(args.experiment, args.workdir))


if __name__ == "__main__":
    main()
