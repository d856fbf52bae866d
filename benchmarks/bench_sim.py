"""The simulation's speed: env steps with and without cameras, raw physics, renders, an expert
episode, for the tabletop (and its PyBullet twin's env step) and the tidy environment.

Derived in ``gr-bench perf run``'s summary: an env step's physics against its raw ``mj_step``
substeps, and what the cameras cost on top of the physics.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEED, TASK, reset_tabletop

ACTION_SCALE = 0.3  # random relative actions in [-0.3, 0.3]: the arm moves without flailing
MAX_EPISODE_STEPS = 360  # as the registered tabletop env truncates
EXPERT_EPISODES = 4  # per round: an episode is short (about 40 steps)
# six objects on the table: contacts, grasps and base motion
TIDY_OPTIONS = {"task": "clear_table", "instruction": "clean up the table"}


@pytest.mark.parametrize(
    ("cameras", "steps"), [((), 150), (("static", "gripper"), 40)], ids=["no_cameras", "two_cameras"]
)
def test_tabletop_step(figure, tabletop, cameras, steps):
    """env.step of the tabletop, physics only or with both cameras (200x200 and 84x84)."""
    env = tabletop(cameras)
    actions = np.random.default_rng(SEED).uniform(-ACTION_SCALE, ACTION_SCALE, size=(steps, 7))

    def setup():
        reset_tabletop(env)  # the same actions from the same state: the same work every round

    def run():
        for action in actions:
            env.step(action)

    figure(run, setup, group="tabletop", calls=steps, unit="env steps")


@pytest.mark.parametrize(
    ("cameras", "steps"), [((), 60), (("static", "gripper"), 20)], ids=["no_cameras", "two_cameras"]
)
def test_tabletop_bullet_step(figure, cameras, steps):
    """env.step of the tabletop's PyBullet twin, physics only or with both cameras (200x200, 84x84):
    the same actions from the same start as test_tabletop_step."""
    pytest.importorskip("pybullet")
    from envs.tabletop_bullet.env import TabletopBulletEnv

    env = TabletopBulletEnv(cameras=cameras)
    actions = np.random.default_rng(SEED).uniform(-ACTION_SCALE, ACTION_SCALE, size=(steps, 7))

    def setup():
        reset_tabletop(env)

    def run():
        for action in actions:
            env.step(action)

    figure(run, setup, group="tabletop", calls=steps, unit="env steps")
    env.close()


def test_tabletop_mj_step(figure, tabletop):
    """Raw mj_step on the tabletop model from the benchmark episode's start (no gr-bench code)."""
    import mujoco

    sim = tabletop(()).sim
    model, start_qpos, ctrl = sim.model, sim.data.qpos.copy(), sim.data.ctrl.copy()
    data, steps = mujoco.MjData(model), 4000

    def setup():
        mujoco.mj_resetData(model, data)
        data.qpos[:], data.ctrl[:] = start_qpos, ctrl

    figure(lambda: mujoco.mj_step(model, data, nstep=steps), setup, group="tabletop", calls=steps, unit="mj_steps")


@pytest.mark.parametrize(("camera", "frames"), [("static", 60), ("gripper", 150)], ids=["static", "gripper"])
def test_tabletop_render(figure, tabletop, camera, frames):
    """One camera frame of the tabletop at its default resolution."""
    import mujoco

    env = tabletop((camera,))
    renderer = mujoco.Renderer(env.sim.model, *env.resolution[camera])

    def run():
        for _ in range(frames):
            renderer.update_scene(env.sim.data, camera)
            renderer.render()

    figure(run, group="tabletop", calls=frames, unit="frames")
    renderer.close()


def test_tabletop_expert_episode(figure, tabletop):
    """Scripted-expert episodes of the tabletop's open_drawer from its reset, physics only."""
    from envs.tabletop.expert import ScriptedExpert

    env = tabletop(())
    expert = ScriptedExpert(env)

    def run():
        for _ in range(EXPERT_EPISODES):
            obs = reset_tabletop(env)
            expert.reset(obs["instruction"])
            for _ in range(MAX_EPISODE_STEPS):
                obs, _, terminated, _, _ = env.step(expert.act(obs))
                if terminated:
                    break

    figure(run, group="tabletop", calls=EXPERT_EPISODES, unit=f"{TASK} episodes")


@pytest.fixture(scope="module")
def tidy_actions():
    """The tidy expert's joint actions for the first 30 steps of a clear_table episode."""
    from envs.tidy.env import TidyEnv
    from envs.tidy.expert import TidyExpert

    env = TidyEnv(cameras=())
    expert = TidyExpert(env)
    obs, _ = env.reset(seed=SEED, options=TIDY_OPTIONS)
    expert.reset()
    actions = []
    for _ in range(30):
        actions.append(expert.act(obs))
        obs, *_ = env.step(actions[-1])
    env.close()
    return actions


@pytest.mark.parametrize("cameras", [(), ("head", "left_wrist", "right_wrist")], ids=["no_cameras", "three_cameras"])
def test_tidy_step(figure, tidy_actions, cameras):
    """env.step of the tidy env (ByteMini, joint actions) replaying the expert, physics only or
    with its three cameras (head 224x224, wrists 128x128)."""
    from envs.tidy.env import TidyEnv

    env = TidyEnv(cameras=cameras)
    actions = tidy_actions if cameras else tidy_actions * 4

    def setup():
        env.reset(seed=SEED, options=TIDY_OPTIONS)

    def run():
        for action in actions:
            env.step(action)

    figure(run, setup, group="tidy", calls=len(actions), unit="env steps")
    env.close()
