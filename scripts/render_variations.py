"""Render the static camera with no variation, then under one unseen sample of each unseen-scene
axis, side by side into docs/variations.png.

python scripts/render_variations.py [--out docs/variations.png] [--size 240] [--scene A] [--seed 2]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import imageio.v2 as imageio  # noqa: E402
import numpy as np  # noqa: E402

from envs.tabletop.env import TabletopEnv  # noqa: E402
from envs.tabletop.state import SymbolicState  # noqa: E402
from envs.tabletop.variations import AXES, sample_variation  # noqa: E402
from gr_bench.video import side_by_side  # noqa: E402

# one state that shows every fixture: a block in the open drawer, one in the cabinet, lights on
SHOWCASE = SymbolicState(
    slider="left", drawer="open", lightbulb=1, led=1, red="table", blue="drawer", pink="slider_right"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/variations.png")
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("--scene", default="A")
    # the default seed's distractors sample has all three objects
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    env = TabletopEnv(cameras=("static",), resolution={"static": args.size})
    options = {"task": "lift_red_block_table", "initial_state": SHOWCASE}
    obs, _ = env.reset(seed=args.seed, options={**options, "scene": args.scene})
    tiles = [obs["rgb_static"]]
    rng = np.random.default_rng(args.seed)
    for axis in AXES:
        variations = {axis: sample_variation(axis, "unseen", rng)}
        scene = {} if axis == "layout" else {"scene": args.scene}
        obs, info = env.reset(seed=args.seed, options={**options, **scene, "variations": variations})
        tiles.append(obs["rgb_static"])
        print(f"{axis}: {json.dumps(info['variations'][axis])}")
    env.close()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    imageio.imwrite(args.out, np.ascontiguousarray(side_by_side(tiles)))
    print(f"wrote {args.out}: scene {args.scene} as trained, then unseen {', '.join(AXES)}")


if __name__ == "__main__":
    main()
