"""Render the ByteMini at the tidying table into docs/bytemini_cameras.png: an overview from behind
the robot, then one frame from each of its cameras (head, left wrist, right wrist), all taken at the
moment the scripted expert's hand comes down on its first object.

python scripts/render_bytemini.py [--out docs/bytemini_cameras.png] [--size 256] [--seed 0]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import imageio.v2 as imageio  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from envs.tidy.env import CAMERAS, TidyEnv  # noqa: E402
from envs.tidy.expert import TidyExpert  # noqa: E402
from gr_bench.video import side_by_side  # noqa: E402

STEPS_BEFORE_GRASP = 3  # control steps before the fingers close: the hand is just above the object


class Overview:
    """The room seen from behind the robot's right shoulder."""

    def __init__(self, env: TidyEnv, height: int, width: int):
        model = env.sim.model
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self.env = env
        self.renderer = mujoco.Renderer(model, height, width)
        self.camera = mujoco.MjvCamera()
        self.camera.lookat[:] = [0.3, -0.15, 0.65]
        self.camera.distance, self.camera.azimuth, self.camera.elevation = 1.9, 30.0, -30.0

    def render(self) -> np.ndarray:
        self.renderer.update_scene(self.env.sim.data, self.camera)
        return self.renderer.render()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/bytemini_cameras.png")
    parser.add_argument("--size", type=int, default=256, help="pixels of each robot camera's square frame")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = TidyEnv(resolution={c: args.size for c in CAMERAS})
    expert = TidyExpert(env)
    obs, info = env.reset(seed=args.seed, options={"task": "clear_table"})
    expert.reset()
    view = Overview(env, args.size, args.size * len(CAMERAS))
    recent = [(obs, view.render())]
    while all(g > 0 for g in env.sim.last_gripper_action.values()):
        obs, *_ = env.step(expert.act(obs))
        recent = (recent + [(obs, view.render())])[-STEPS_BEFORE_GRASP - 1 :]
    frame, top = recent[0]
    image = np.concatenate([top, side_by_side([frame[f"rgb_{c}"] for c in CAMERAS])], axis=0)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    imageio.imwrite(args.out, np.ascontiguousarray(image))
    print(f'wrote {args.out}: overview, then {", ".join(CAMERAS)} cameras; "{info["instruction"]}", scene A')


if __name__ == "__main__":
    main()
