"""docs/cloth_bytemini.png: ByteMini folding the square in half with both hands, as its head camera
sees it (start, both corners carried, folded) and the left wrist camera at the pinch; and hanging
the towel over the rack with its left hand (start; the left wrist camera across the bar and at the
end; the head camera at the end: the drape hangs at the left edge of its view).

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
    expert = ClothByteMiniExpert(env)

    # fold in half: both corners at once
    obs, _ = env.reset(seed=args.seed, options={"task": "fold_in_half", "scene": "square"})
    expert.reset()
    fold = {"head camera: the square": obs["rgb_head"]}
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        both = all(info["held"][s] > 0 for s in SIDES)
        if both and len(fold) == 1:
            fold["left wrist camera: the pinch"] = obs["rgb_left_wrist"]
        if both and env.sim.particles()[:, 2].max() > TABLE_Z + 0.1 and len(fold) == 2:
            fold["both corners carried"] = obs["rgb_head"]
        if terminated or truncated:
            break
    done = f"folded in half ({info['score']['landing'] * 100:.1f} cm)" if info["success"] else "end (not folded)"
    fold[done] = obs["rgb_head"]

    # hang: the left hand carries the garment over the rack's bar
    obs, _ = env.reset(seed=args.seed, options={"task": "hang", "scene": "towel"})
    expert.reset()
    hang = {"head: the towel, the rack at the left": obs["rgb_head"]}
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        if info["score"]["over_bar"] and len(hang) == 1:
            hang["left wrist: across the bar"] = obs["rgb_left_wrist"]
        if terminated or truncated:
            break
    low = (env.sim.particles()[:, 2].min() - TABLE_Z) * 100
    done = f"hung, {low:.0f} cm clear of the table" if info["success"] else "end (not hung)"
    hang[f"left wrist: {done}"] = obs["rgb_left_wrist"]
    hang["head: the drape at the left edge"] = obs["rgb_head"]
    env.close()

    rows = [fold, hang]
    fig, axes = plt.subplots(len(rows), 4, figsize=(12.8, 3.4 * len(rows)))
    for row_axes, frames in zip(axes, rows, strict=True):
        for ax, (title, image) in zip(row_axes, frames.items(), strict=False):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
        for ax in row_axes:
            ax.axis("off")
    fig.suptitle("GRBench/ClothByteMini-v0, scripted expert: fold_in_half with both hands; hang", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
