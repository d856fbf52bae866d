"""The scripted whole-body expert on the tidying table: success and progress over many seeds.

    python scripts/tidy_expert_table.py                       # 50 seeds per row -> docs/tidy_expert_table.md
    python scripts/tidy_expert_table.py --seeds 5 --out /tmp/t.md --rows clear_table_A,one_object

Rows: the whole job (``clear_table``, six objects) in scenes A and B, with eight or nine objects
(the unseen ``object_count``), under every unseen axis at once, and each instruction category
(its tasks from ``tasks_in_category`` in turn, scenes alternating). Each episode starts from the
seed's random table, runs without cameras in GR-3's joint action mode (the expert's end-effector
commands turned into joint targets) until success or the step limit. Success is every object of the
task placed where it should be; progress the fraction placed (GR-3's average task progress).
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

# name -> (description, reset options without the seed; "category" rows cycle through its tasks)
ROWS = {
    "clear_table_A": ("clear_table, scene A, 6 objects", {"task": "clear_table", "scene": "A"}),
    "clear_table_B": ("clear_table, scene B, 6 objects", {"task": "clear_table", "scene": "B"}),
    "clear_table_more": (
        "clear_table, 8-9 objects (unseen object_count)",
        {"task": "clear_table", "axes": ["object_count"]},
    ),
    "clear_table_unseen": (
        "clear_table, every unseen axis at once",
        {
            "task": "clear_table",
            "axes": ["object_set", "object_count", "clutter", "table_appearance", "lighting", "background"],
        },
    ),
    "one_object": ("one object to one destination", {"category": "one_object"}),
    "several_objects": ("several objects, one destination", {"category": "several_objects"}),
    "several_destinations": ("several destinations", {"category": "several_destinations"}),
    "unseen_destination": ("onto the tray (unseen destination)", {"category": "unseen_destination"}),
    "invalid": ("invalid request: touch nothing", {"category": "invalid"}),
}
DEFAULT_ROW = "clear_table_A"


def run_row(job: tuple[str, list[int]]) -> tuple[str, list[tuple[bool, float, int, int]]]:
    """Episodes of one row: (success, progress, steps, objects moved) per seed."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from envs.tidy.env import TidyEnv
    from envs.tidy.expert import TidyExpert
    from envs.tidy.tasks import tasks_in_category
    from envs.tidy.variations import sample_variation

    name, seeds = job
    spec = dict(ROWS[name][1])
    env = TidyEnv(cameras=(), action_mode="joint")
    expert = TidyExpert(env)
    results = []
    for seed in seeds:
        options = {"scene": spec.get("scene", "AB"[seed % 2])}
        if "category" in spec:
            tasks = tasks_in_category(spec["category"])
            options["task"] = tasks[seed % len(tasks)]
        else:
            options["task"] = spec["task"]
        if "axes" in spec:
            rng = np.random.default_rng([seed, 1])
            options["variations"] = {axis: sample_variation(axis, "unseen", rng) for axis in spec["axes"]}
        obs, info = env.reset(seed=seed, options=options)
        expert.reset(obs["instruction"])
        steps = 0
        while True:
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            steps += 1
            if terminated or truncated:
                break
        moved = 0 if info["category"] == "invalid" else len(info["subtasks"])
        results.append((info["success"], info["progress"], steps, moved))
    return name, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50, help="episodes per row (seeds 0..N-1)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", default="docs/tidy_expert_table.md")
    parser.add_argument("--min-rate", type=float, default=0.9, help=f"exit non-zero if {DEFAULT_ROW} is below this")
    args = parser.parse_args()
    rows = args.rows.split(",")
    for row in rows:
        if row not in ROWS:
            parser.error(f"unknown row {row!r}; rows: {', '.join(ROWS)}")
    # chunks of ten seeds balance the workers; results do not depend on how they are split
    jobs = [
        (row, list(range(start, min(start + 10, args.seeds)))) for row in rows for start in range(0, args.seeds, 10)
    ]
    results: dict[str, list] = {row: [] for row in rows}
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        for row, episodes in pool.map(run_row, jobs):
            results[row] += episodes
            print(f"{row}: {len(results[row])}/{args.seeds}", flush=True)
    lines = [
        "# Scripted expert on GRBench/Tidy-v0",
        "",
        f"`python scripts/tidy_expert_table.py --seeds {args.seeds}`: seeds 0-{args.seeds - 1} per row, "
        "GR-3's joint action mode, no cameras. Success: every object of the task placed where the task "
        "says; progress: the fraction placed (GR-3's average task progress); steps at 20 Hz.",
        "",
        "| episodes | objects moved | success | progress | steps (mean / max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        success, progress, steps, moved = (np.array(v, dtype=float) for v in zip(*results[row], strict=True))
        lines.append(
            f"| {ROWS[row][0]} | {moved.min():.0f}-{moved.max():.0f} | {success.mean():.0%} | {progress.mean():.3f} "
            f"| {steps.mean():.0f} / {steps.max():.0f} |"
        )
    lines += [
        "",
        "Invalid requests move no object (subtask: leave everything where it is); their episodes run to the",
        "200-step limit. Categories cycle through `envs.tidy.tasks.tasks_in_category` over the training kinds.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}")
    if DEFAULT_ROW in results:
        rate = float(np.mean([r[0] for r in results[DEFAULT_ROW]]))
        return 0 if rate >= args.min_rate else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
