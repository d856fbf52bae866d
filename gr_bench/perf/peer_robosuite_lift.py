"""The env-step benchmark on robosuite's Lift, run by the peer's own interpreter (its venv).

It imports only robosuite and numpy, never gr_bench, and writes its figures as JSON to --out.
It mirrors gr-bench's env-step figures: the same random relative actions (uniform in
[-0.3, 0.3], seeded), a reset before every sample that is not timed, two cameras at our
resolutions (agentview 200x200 for our static camera, robot0_eye_in_hand 84x84 for our gripper
camera) or none, and the median over repetitions, per wall-clock and per CPU second. Lift runs at
robosuite's default 20 Hz control.

    python peer_robosuite_lift.py --out peer.json [--steps 20] [--repetitions 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import robosuite  # noqa: E402

ACTION_SCALE = 0.3
CAMERAS = {"agentview": 200, "robot0_eye_in_hand": 84}  # pixels, as gr-bench's static and gripper cameras


def make_lift(cameras: bool):
    return robosuite.make(
        "Lift",
        robots="Panda",
        has_renderer=False,
        has_offscreen_renderer=cameras,
        use_camera_obs=cameras,
        camera_names=list(CAMERAS) if cameras else [],
        camera_heights=list(CAMERAS.values()) if cameras else [],
        camera_widths=list(CAMERAS.values()) if cameras else [],
    )


def steps_per_second(env, steps: int, repetitions: int) -> tuple[list[float], list[float]]:
    """Steps per wall-clock second and per CPU second (all threads of this process), per sample."""
    low, _ = env.action_spec
    rates, cpu_rates = [], []
    for _ in range(repetitions + 1):  # the first sample warms up the renderer and is dropped
        actions = np.random.default_rng(0).uniform(-ACTION_SCALE, ACTION_SCALE, size=(steps, len(low)))
        env.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        for action in actions:
            env.step(action)
        rates.append(steps / (time.perf_counter() - wall))
        cpu_rates.append(steps / (time.process_time() - cpu))
    return rates[1:], cpu_rates[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=20, help="env steps per sample with cameras (5x without)")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()

    import mujoco

    figures = {}
    for name, cameras, steps in (
        ("env_step_two_cameras", True, args.steps),
        ("env_step_no_cameras", False, 5 * args.steps),
    ):
        env = make_lift(cameras)
        rates, cpu_rates = steps_per_second(env, steps, args.repetitions)
        env.close()
        figures[name] = {
            "rate": statistics.median(rates),
            "cpu_rate": statistics.median(cpu_rates),
            "rates": rates,
            "cpu_rates": cpu_rates,
            "steps_per_sample": steps,
        }
    report = {
        "env": "Lift",
        "robot": "Panda",
        "control_hz": 20,
        "cameras": CAMERAS,
        "versions": {"robosuite": robosuite.__version__, "mujoco": mujoco.__version__},
        "figures": figures,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
