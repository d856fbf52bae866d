"""How much the perf gate's ratios wobble between runs on this machine.

Give it reports of the same code from separate `gr-bench perf run`s; for each figure it prints
each run's ratio relative to the median of the runs, and the largest deviation. The gate's
tolerance (0.25) should sit well above that largest deviation, or the gate flakes.

    for i in 1 2 3; do gr-bench perf run --out runs/perf/wobble$i.json; done
    python benchmarks/perf_wobble.py runs/perf/wobble*.json
"""

from __future__ import annotations

import argparse
import statistics

from gr_bench.perf.compare import read_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+")
    args = parser.parse_args()
    reports = [read_report(path) for path in args.reports]
    names = [n for n in reports[0]["figures"] if all(n in r["figures"] for r in reports)]
    print(f"{'figure':26s} " + " ".join(f"{'run ' + str(i + 1):>8s}" for i in range(len(reports))) + "  largest")
    worst = 0.0
    for name in names:
        ratios = [r["figures"][name]["ratio"] for r in reports]
        middle = statistics.median(ratios)
        deviations = [ratio / middle - 1 for ratio in ratios]
        largest = max(abs(d) for d in deviations)
        worst = max(worst, largest)
        print(f"{name:26s} " + " ".join(f"{d:+8.1%}" for d in deviations) + f"  {largest:7.1%}")
    loads = ", ".join(f"{r['machine']['load_average_before'][0]:.1f}" for r in reports)
    print(f"largest deviation from the median run: {worst:.1%} (1-minute load average at the start: {loads})")


if __name__ == "__main__":
    main()
