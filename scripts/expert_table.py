"""The scripted expert's success rate on every task in every scene.

    python scripts/expert_table.py                      # 34 tasks x scenes A-D x 50 seeds
    python scripts/expert_table.py --seeds 10 --scenes AD --tasks open_drawer,stack_block
    python scripts/expert_table.py --env GRBench/TabletopBullet-v0   # the PyBullet twin

Each episode starts from a random initial state where the task's precondition holds (seeded by
the episode index) and runs up to 360 steps without cameras.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("MUJOCO_GL", "egl")

from tqdm import tqdm  # noqa: E402

MAX_STEPS = 360


def run_cell(job: tuple[str, str, int, str]) -> tuple[str, str, int, int]:
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.tabletop.expert import ScriptedExpert

    task, scene, seeds, env_id = job
    env = gym.make(env_id, cameras=()).unwrapped
    expert = ScriptedExpert(env)
    successes = 0
    for seed in range(seeds):
        obs, info = env.reset(seed=seed, options={"task": task, "scene": scene})
        expert.reset(obs["instruction"])
        for _ in range(MAX_STEPS):
            obs, _, terminated, _, info = env.step(expert.act(obs))
            if terminated:
                break
        successes += info["success"]
    return task, scene, successes, seeds


def main() -> int:
    from envs.tabletop.tasks import TASKS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--scenes", default="ABCD")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--env", default="GRBench/Tabletop-v0", help="the tabletop or its PyBullet twin")
    parser.add_argument("--min-rate", type=float, default=0.95, help="exit non-zero if any cell is below this")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    jobs = [(t, s, args.seeds, args.env) for t in tasks for s in args.scenes]
    results = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for task, scene, ok, n in tqdm(pool.map(run_cell, jobs), total=len(jobs), desc="task x scene"):
            results[task, scene] = ok / n
    header = f"| {'task':28s} | " + " | ".join(f"{s:>5s}" for s in args.scenes) + " |"
    print(header)
    print("|" + "-" * 30 + "|" + "|".join("-------" for _ in args.scenes) + "|")
    for task in tasks:
        print(f"| {task:28s} | " + " | ".join(f"{results[task, s]:5.0%}" for s in args.scenes) + " |")
    rates = list(results.values())
    print(f"\nmean {sum(rates) / len(rates):.1%}, min {min(rates):.0%} over {args.seeds} seeds per cell")
    return 0 if min(rates) >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
