"""robosuite's Lift beside our tabletop env step, run by the peer's own venv (``gr-bench perf run
--peer robosuite``); it imports robosuite and numpy, never gr-bench.

It mirrors ``test_tabletop_step``: the same random relative actions (uniform in [-0.3, 0.3],
seeded), a reset before every round (untimed), two cameras at our resolutions (agentview 200x200
for our static camera, robot0_eye_in_hand 84x84 for our gripper camera) or none. Lift runs at
robosuite's default 20 Hz control. ``pair`` names our figure each is compared with.
"""

from __future__ import annotations

import numpy as np
import pytest

robosuite = pytest.importorskip("robosuite")

ACTION_SCALE = 0.3
CAMERAS = {"agentview": 200, "robot0_eye_in_hand": 84}  # pixels, as gr-bench's static and gripper cameras


@pytest.mark.parametrize(("cameras", "steps"), [(False, 100), (True, 10)], ids=["no_cameras", "two_cameras"])
def test_lift_step(figure, cameras, steps):
    names = list(CAMERAS) if cameras else []
    env = robosuite.make(
        "Lift",
        robots="Panda",
        has_renderer=False,
        has_offscreen_renderer=cameras,
        use_camera_obs=cameras,
        camera_names=names,
        camera_heights=[CAMERAS[n] for n in names],
        camera_widths=[CAMERAS[n] for n in names],
    )
    low, _ = env.action_spec
    actions = np.random.default_rng(0).uniform(-ACTION_SCALE, ACTION_SCALE, size=(steps, len(low)))

    def setup():
        env.reset()

    def run():
        for action in actions:
            env.step(action)

    pair = f"test_tabletop_step[{'two_cameras' if cameras else 'no_cameras'}]"
    figure(run, setup, group="peer robosuite", calls=steps, unit="env steps", pair=pair)
    env.close()
