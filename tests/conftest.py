import os

os.environ.setdefault("MUJOCO_GL", "egl")

import pytest  # noqa: E402

SMALL = {"static": 48, "gripper": 32}  # pixels: enough to test the image path, cheap to render


@pytest.fixture
def env():
    from envs.tabletop.env import TabletopEnv

    env = TabletopEnv(cameras=())
    yield env
    env.close()
