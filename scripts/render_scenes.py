"""Render the four scenes from the static camera, and one gripper view, into docs/scenes.png.

python scripts/render_scenes.py [--out docs/scenes.png] [--size 240]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import imageio.v2 as imageio  # noqa: E402
import numpy as np  # noqa: E402

from envs.tabletop.env import TabletopEnv  # noqa: E402
from envs.tabletop.scenes import SCENES  # noqa: E402
from envs.tabletop.state import SymbolicState  # noqa: E402
from gr_bench.video import side_by_side  # noqa: E402

# one state that shows every fixture: a block in the open drawer, one in the cabinet, lights on
SHOWCASE = SymbolicState(
    slider="left", drawer="open", lightbulb=1, led=1, red="table", blue="drawer", pink="slider_right"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/scenes.png")
    parser.add_argument("--size", type=int, default=240)
    args = parser.parse_args()
    env = TabletopEnv(resolution={"static": args.size, "gripper": args.size})
    tiles = []
    for scene in SCENES:
        obs, _ = env.reset(seed=0, options={"scene": scene, "task": "lift_red_block_table", "initial_state": SHOWCASE})
        tiles.append(obs["rgb_static"])
    tiles.append(obs["rgb_gripper"])
    image = side_by_side(tiles)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    imageio.imwrite(args.out, np.ascontiguousarray(image))
    print(f"wrote {args.out}: scenes {', '.join(SCENES)} and scene D's gripper camera")


if __name__ == "__main__":
    main()
