"""docs/cloth_bytemini.png: ByteMini folding the square in half with both hands, as its head camera
sees it (start, both corners carried, folded), and the left wrist camera at the pinch.

    python scripts/cloth_bytemini_picture.py [--seed 0] [--out docs/cloth_bytemini.png]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/cloth_bytemini.png"))
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from envs.cloth_bytemini.env import ClothByteMiniEnv
    from envs.cloth_bytemini.expert import ClothByteMiniExpert
    from envs.cloth_bytemini.sim import TABLE_Z
    from envs.robots.bytemini import SIDES

    env = ClothByteMiniEnv(resolution={"head": 320, "left_wrist": 160, "right_wrist": 160})
    obs, _ = env.reset(seed=args.seed, options={"task": "fold_in_half", "scene": "square"})
    expert = ClothByteMiniExpert(env)
    expert.reset()
    frames = {"start": obs["rgb_head"]}
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        both = all(info["held"][s] > 0 for s in SIDES)
        if both and "pinch" not in frames:
            frames["pinch"] = obs["rgb_left_wrist"]
        if both and env.sim.particles()[:, 2].max() > TABLE_Z + 0.1 and "carried" not in frames:
            frames["carried"] = obs["rgb_head"]
        if terminated or truncated:
            break
    frames["folded" if info["success"] else "end (not folded)"] = obs["rgb_head"]
    env.close()
    titles = {
        "start": "head camera: the square",
        "pinch": "left wrist camera: the pinch",
        "carried": "both corners carried",
        "folded": f"folded in half ({info['score']['landing'] * 100:.1f} cm)",
    }
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 3.4))
    for ax, (name, image) in zip(axes, frames.items(), strict=True):
        ax.imshow(image)
        ax.set_title(titles.get(name, name), fontsize=9)
        ax.axis("off")
    fig.suptitle("GRBench/ClothByteMini-v0: fold_in_half with both hands (scripted expert)", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
