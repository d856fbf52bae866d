"""Speed of the tabletop environment, measured in one run so the ratios are meaningful.

Reports env steps/s with both cameras at default resolution, physics-only env steps/s (cameras
off), raw ``mj_step`` throughput on the same model, and the ratio of an env step's physics to the
same number of raw substeps. Pin to one core with ``taskset -c 0`` for the one-core figure.

    python benchmarks/env_speed.py [--steps 600] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from envs.tabletop.env import TabletopEnv  # noqa: E402
from envs.tabletop.sim import N_SUBSTEPS  # noqa: E402


def _rollout_rate(env: TabletopEnv, steps: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    env.reset(seed=seed, options={"task": "open_drawer", "instruction": "open the drawer"})
    actions = rng.uniform(-0.3, 0.3, size=(steps, 7))
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, _, _ = env.step(action)
        if terminated:
            env.reset(seed=seed, options={"task": "open_drawer", "instruction": "open the drawer"})
    return steps / (time.perf_counter() - start)


def _raw_mj_step_rate(env: TabletopEnv, steps: int) -> float:
    model, data = env.sim.model, env.sim.data
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    with_cameras = TabletopEnv()
    physics_only = TabletopEnv(cameras=())
    rate_cameras = _rollout_rate(with_cameras, args.steps)
    rate_physics = _rollout_rate(physics_only, args.steps)
    raw = _raw_mj_step_rate(physics_only, args.steps * N_SUBSTEPS)
    figures = {
        "env_steps_per_s_two_cameras": rate_cameras,
        "env_steps_per_s_no_cameras": rate_physics,
        "raw_mj_steps_per_s": raw,
        "raw_env_equivalent_steps_per_s": raw / N_SUBSTEPS,
        "physics_overhead_ratio": (raw / N_SUBSTEPS) / rate_physics,
        "camera_cost_ratio": rate_physics / rate_cameras,
    }
    for name, value in figures.items():
        print(f"{name:34s} {value:10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
