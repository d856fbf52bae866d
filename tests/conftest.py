"""Shared fixtures. Headless rendering (EGL) unless the caller chose a backend."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # must precede any import of mujoco

import pytest  # noqa: E402

SMALL = {"static": 64, "gripper": 32}  # pixels: enough to exercise the image path, cheap to render
INSTRUCTION = "complete the task"  # explicit instruction: tests stay independent of the language bank


def reset(env, seed=0, **options):
    """Reset with an explicit instruction so that the language bank is not needed."""
    options.setdefault("instruction", INSTRUCTION)
    return env.reset(seed=seed, options=options)


def expert_episode(env, expert, obs) -> dict:
    """Step ``env`` with ``expert``'s actions (reset already) from ``obs`` until the episode ends;
    the last step's info."""
    info = {}
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        if terminated or truncated:
            break
    return info


@pytest.fixture
def small():
    return dict(SMALL)


@pytest.fixture
def env():
    """A camera-less environment (physics and oracles only)."""
    from envs.tabletop.env import TabletopEnv

    env = TabletopEnv(cameras=())
    yield env
    env.close()
