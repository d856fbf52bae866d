"""A GR-1 checkpoint's actions along fresh expert episodes (teacher forcing), with the frames as an
evaluation renders them and as the training data stores them (the dataset's H.264 round trip).

    python scripts/reference/teacher_forced.py --tasks lift_red_block_table,push_blue_block_left --episodes 2

Small errors here and failure in closed loop mean the model acts well on the expert's states and
drifts off them; a gap between the two frame columns would mean training and evaluation images differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")

SEED_BASE = 9_000_000  # far from suite and collection seeds


def main() -> int:
    import gymnasium as gym
    import torch

    import envs  # noqa: F401
    from agents.data.video_io import decode_video, encode_video
    from agents.gr1.agent import CAMERAS, GR1Agent
    from envs.tabletop.expert import ScriptedExpert

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=GR1Agent.DEFAULT_CHECKPOINT)
    parser.add_argument(
        "--tasks", default="lift_red_block_table,push_blue_block_left,rotate_pink_block_right,lift_pink_block_slider"
    )
    parser.add_argument("--episodes", type=int, default=2, help="per task")
    args = parser.parse_args()
    torch.set_num_threads(1)
    agent = GR1Agent(args.checkpoint)
    size = agent.config.image_size
    env = gym.make("GRBench/Tabletop-v0").unwrapped
    errors: dict[str, list[tuple[float, float]]] = {"raw": [], "video": []}
    for t, task in enumerate(args.tasks.split(",")):
        for k in range(args.episodes):
            obs, _ = env.reset(seed=SEED_BASE + 17 * t + k, options={"task": task})
            expert = ScriptedExpert(env)
            expert.reset(obs["instruction"])
            states, frames, actions = [], {c: [] for c in CAMERAS}, []
            for _ in range(360):
                action = np.asarray(expert.act(obs), dtype=np.float32)
                states.append(obs["robot_obs"])
                for c in CAMERAS:
                    frames[c].append(obs[c])
                actions.append(action)
                obs, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
            decoded = {}
            with tempfile.TemporaryDirectory() as folder:
                for c in CAMERAS:
                    path = encode_video(f"{folder}/{c}.mp4", np.stack(frames[c]), 30)
                    decoded[c] = decode_video(path, size=(size, size))[0].transpose(0, 2, 3, 1)
            for mode in errors:
                agent.reset(obs["instruction"])
                arm, grip = [], []
                for i, expert_action in enumerate(actions):
                    seen = {c: frames[c][i] if mode == "raw" else decoded[c][i] for c in CAMERAS}
                    predicted = agent.act({**seen, "robot_obs": states[i]})
                    arm.append(np.abs(predicted[:6] - expert_action[:6]).mean())
                    grip.append(np.sign(predicted[6]) == np.sign(expert_action[6]))
                errors[mode].append((float(np.mean(arm)), float(np.mean(grip))))
            print(f"{task} #{k}: {len(actions)} steps; " + ", ".join(
                f"{m}: arm error {e[-1][0]:.4f}, gripper {e[-1][1]:.1%}" for m, e in errors.items()
            ), flush=True)  # fmt: skip
    for mode, values in errors.items():
        arm, grip = np.mean(values, axis=0)
        print(f"{mode} frames: mean absolute arm error {arm:.4f} (action units), gripper right {grip:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
