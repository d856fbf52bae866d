"""Speed of the tidying environment (GRBench/Tidy-v0), measured in one run so the ratios mean something.

Reports env steps/s with the three cameras on at default resolution (head 224x224, wrists
128x128), physics-only env steps/s (cameras off), raw ``mj_step`` throughput on the same model and
state, and the ratios between them; beside them, for scale, the tabletop env's steps/s with its two
cameras. The actions are the scripted expert's on ``clear_table`` (six objects), in GR-3's joint
action mode, so contacts, grasps and base motion are all exercised; the expert's own planning runs
outside the timed env steps. Rounds alternate between the envs and each figure is the median over
rounds. Pin to one core with ``taskset -c 0`` for a one-core figure.

    python benchmarks/tidy_speed.py [--steps 300] [--rounds 3] [--json out.json]
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
from envs.tidy.env import TidyEnv  # noqa: E402
from envs.tidy.expert import TidyExpert  # noqa: E402
from envs.tidy.sim import CONTROL_DT, N_SUBSTEPS  # noqa: E402

OPTIONS = {"task": "clear_table", "instruction": "clean up the table"}


def _expert_actions(steps: int, seed: int = 0) -> list[np.ndarray]:
    """The expert's joint actions for the first ``steps`` steps of an episode (episodes repeat)."""
    env = TidyEnv(cameras=())
    expert = TidyExpert(env)
    actions: list[np.ndarray] = []
    while len(actions) < steps:
        obs, _ = env.reset(seed=seed, options=OPTIONS)
        expert.reset()
        done = False
        while not done and len(actions) < steps:
            actions.append(expert.act(obs))
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
    env.close()
    return actions


def _rollout_rate(env: TidyEnv, actions: list[np.ndarray], seed: int = 0) -> float:
    """Env steps per second replaying ``actions`` from the same reset."""
    env.reset(seed=seed, options=OPTIONS)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset(seed=seed, options=OPTIONS)
    return len(actions) / (time.perf_counter() - start)


def _tabletop_rate(env: TabletopEnv, steps: int, seed: int = 0) -> float:
    options = {"task": "open_drawer", "instruction": "open the drawer"}
    env.reset(seed=seed, options=options)
    actions = np.random.default_rng(seed).uniform(-0.3, 0.3, size=(steps, 7))
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, _, _ = env.step(action)
        if terminated:
            env.reset(seed=seed, options=options)
    return steps / (time.perf_counter() - start)


def _raw_mj_step_rate(env: TidyEnv, steps: int) -> float:
    model, data = env.sim.model, env.sim.data
    start = time.perf_counter()
    mujoco.mj_step(model, data, nstep=steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="env steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    actions = _expert_actions(args.steps)
    with_cameras = TidyEnv()
    physics_only = TidyEnv(cameras=())
    tabletop = TabletopEnv()
    samples: dict[str, list[float]] = {"cameras": [], "physics": [], "raw": [], "tabletop": []}
    for _ in range(args.rounds):
        samples["tabletop"].append(_tabletop_rate(tabletop, args.steps))
        samples["cameras"].append(_rollout_rate(with_cameras, actions))
        samples["physics"].append(_rollout_rate(physics_only, actions))
        physics_only.reset(seed=0, options=OPTIONS)
        samples["raw"].append(_raw_mj_step_rate(physics_only, args.steps * N_SUBSTEPS))
    rate_cameras, rate_physics, raw, rate_tabletop = (
        float(np.median(samples[k])) for k in ("cameras", "physics", "raw", "tabletop")
    )
    figures = {
        "env_steps_per_s_three_cameras": rate_cameras,
        "env_steps_per_s_no_cameras": rate_physics,
        "raw_mj_steps_per_s": raw,
        "raw_env_equivalent_steps_per_s": raw / N_SUBSTEPS,
        "physics_overhead_ratio": (raw / N_SUBSTEPS) / rate_physics,
        "camera_cost_ratio": rate_physics / rate_cameras,
        "real_time_factor_three_cameras": rate_cameras * CONTROL_DT,
        "tabletop_env_steps_per_s_two_cameras": rate_tabletop,
        "tidy_to_tabletop_ratio": rate_cameras / rate_tabletop,
    }
    for name, value in figures.items():
        print(f"{name:34s} {value:10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    for env in (with_cameras, physics_only, tabletop):
        env.close()


if __name__ == "__main__":
    main()
