"""Episodes per wall-clock minute, the local backend against Ray with the same number of CPUs.

    python scripts/ray_vs_local.py [--agent oracle] [--episodes 50] [--workers 2] [--repeats 2]

Runs the same deterministic subsample of ``unseen`` (every family's episodes, evenly spaced) with
``--workers N`` local worker processes and with N Ray actors on a local Ray instance of N CPUs,
alternately, ``--repeats`` times each; start-up (worker spawn, Ray start) is included, as a user
pays it. Prints one line per run and the medians; the records of both backends are compared
(timing fields aside) and must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TIMING = ("seconds", "agent_seconds", "env_seconds")


def _records(out: Path) -> list[dict]:
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    for r in records:
        for key in TIMING:
            r.pop(key)
    return sorted(records, key=lambda r: r["episode_id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent", default="oracle")
    parser.add_argument("--suite", default="unseen")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    suite = get_suite(args.suite).select(episodes=args.episodes)
    rates: dict[str, list[float]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for backend in ("local", "ray"):
                out = Path(tmp) / f"{backend}-{repeat}"
                start = time.perf_counter()
                evaluate(suite, args.agent, out, workers=args.workers, backend=backend, progress=False)
                wall = time.perf_counter() - start
                rates[backend].append(60 * len(suite.episodes) / wall)
                print(
                    f"{backend:5s} run {repeat}: {len(suite.episodes)} episodes in {wall:.1f} s, "
                    f"{rates[backend][-1]:.1f} episodes/min",
                    flush=True,
                )
        same = _records(Path(tmp) / "local-0") == _records(Path(tmp) / "ray-0")
    local, ray = statistics.median(rates["local"]), statistics.median(rates["ray"])
    print(
        f"{args.agent} on {len(suite.episodes)} {args.suite} episodes, {args.workers} CPUs: local {local:.1f}, "
        f"Ray {ray:.1f} episodes/min (median of {args.repeats}; Ray/local {ray / local:.2f}); records equal: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
