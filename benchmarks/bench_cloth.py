"""The cloth env's speed (issue 17's targets: a 20 x 20 garment on one core, at least 60 env steps
per CPU second with both cameras and 300 physics-only): env steps of the ``square`` (400
vertices) under the scripted expert's fold, with and without cameras, and raw ``mj_step``.

Derived in ``gr-bench perf run``'s summary: the rates against the targets and the real-time factor.
"""

from __future__ import annotations

import pytest
from conftest import SEED

OPTIONS = {"task": "fold_in_half", "scene": "square"}
STEPS = 60  # the expert's first 60 steps: reach, pinch, lift a corner


@pytest.fixture(scope="module")
def cloth_actions():
    """The cloth expert's first actions of a fold: the arm moves and the sheet is carried."""
    from envs.cloth.env import ClothEnv
    from envs.cloth.expert import ClothExpert

    env = ClothEnv(cameras=())
    expert = ClothExpert(env)
    obs, _ = env.reset(seed=SEED, options=OPTIONS)
    expert.reset()
    actions = []
    for _ in range(STEPS):
        actions.append(expert.act(obs))
        obs, *_ = env.step(actions[-1])
    env.close()
    return actions


@pytest.mark.parametrize("cameras", [(), ("static", "gripper")], ids=["no_cameras", "two_cameras"])
def test_cloth_step(figure, cloth_actions, cameras):
    """env.step of the cloth env (20 x 20 square) replaying the expert, physics only or with both
    cameras (200x200 and 84x84)."""
    from envs.cloth.env import ClothEnv

    env = ClothEnv(cameras=cameras)

    def setup():
        env.reset(seed=SEED, options=OPTIONS)

    def run():
        for action in cloth_actions:
            env.step(action)

    figure(run, setup, group="cloth", calls=len(cloth_actions), unit="env steps")
    env.close()


def test_cloth_mj_step(figure):
    """Raw mj_step of the cloth model (square, arm at home, sheet flat): no gr-bench code."""
    import mujoco

    from envs.cloth.env import ClothEnv

    env = ClothEnv(cameras=())
    env.reset(seed=SEED, options=OPTIONS)
    model, state = env.sim.model, env.sim.data
    data, steps = mujoco.MjData(model), 200

    def setup():
        mujoco.mj_resetData(model, data)
        data.qpos[:], data.ctrl[:] = state.qpos, state.ctrl

    figure(lambda: mujoco.mj_step(model, data, nstep=steps), setup, group="cloth", calls=steps, unit="mj_steps")
    env.close()
