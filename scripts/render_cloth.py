"""Pictures of the cloth family for docs/cloth.md: every task's start on every garment it has, and
the square under a training and an unseen value of every variation axis.

python scripts/render_cloth.py [--size 200] [--seed 1]   # writes docs/cloth_tasks.png and docs/cloth_axes.png
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from envs.cloth.env import GARMENTS, ClothEnv  # noqa: E402
from envs.cloth.expert import ClothExpert  # noqa: E402
from envs.cloth.tasks import TASKS  # noqa: E402
from envs.cloth.variations import AXES, DRAWN_AXES  # noqa: E402


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    tile = Image.fromarray(image)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, tile.width, 14), fill=(255, 255, 255))
    draw.text((3, 2), text, fill=(0, 0, 0))
    return np.asarray(tile)


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    blank = np.full_like(tiles[0], 255)
    rows = [tiles[i : i + columns] for i in range(0, len(tiles), columns)]
    return np.concatenate([np.concatenate(r + [blank] * (columns - len(r)), axis=1) for r in rows], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    env = ClothEnv(cameras=("static",), resolution={"static": args.size})
    tiles = []
    for task in ("flatten", "fold_in_half", "fold_diagonally", "hang"):
        for scene, garment in GARMENTS.items():
            if TASKS[task].feasible(garment):
                obs, _ = env.reset(seed=args.seed, options={"task": task, "scene": scene})
                tiles.append(labelled(obs["rgb_static"], f"{task} / {scene}"))
    # and how a hang ends (the scripted expert's), on the towel and on the largest unseen square
    expert = ClothExpert(env)
    for scene, variations, label in (("towel", {}, "towel"), ("square", {"garment_size": 1.4}, "square 1.4x")):
        obs, _ = env.reset(seed=args.seed, options={"task": "hang", "scene": scene, "variations": variations})
        expert.reset()
        for _ in range(env.max_steps):
            obs, _, terminated, truncated, _ = env.step(expert.act(obs))
            if terminated or truncated:
                break
        tiles.append(labelled(obs["rgb_static"], f"hang / {label}: done (expert)"))
    Image.fromarray(grid(tiles, 4)).save("docs/cloth_tasks.png")
    rng = np.random.default_rng(args.seed)
    tiles = []
    for axis in DRAWN_AXES:  # the held-out T-shirt is in the tasks picture
        for split in ("train", "unseen"):
            task = "flatten" if axis == "crumple" else "fold_in_half"
            value = AXES[axis].sample(split, rng)
            obs, _ = env.reset(seed=args.seed, options={"task": task, "variations": {axis: value}})
            tiles.append(labelled(obs["rgb_static"], f"{axis}: {split}"))
    Image.fromarray(grid(tiles, 4)).save("docs/cloth_axes.png")
    env.close()
    print("wrote docs/cloth_tasks.png and docs/cloth_axes.png")


if __name__ == "__main__":
    main()
