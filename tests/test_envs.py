"""Every registered environment: Gymnasium's checker, seeded determinism, pickling, spaces."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from conftest import INSTRUCTION, SMALL, reset
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the environments)

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("GRBench/"))
# per environment: small camera resolutions and a short task to reset to
SMALL_RESOLUTION = {
    "GRBench/Tabletop-v0": SMALL,
    "GRBench/Tidy-v0": {"head": 64, "left_wrist": 32, "right_wrist": 32},
    "GRBench/Cloth-v0": SMALL,
    "GRBench/ClothByteMini-v0": {"head": 64, "left_wrist": 32, "right_wrist": 32},
    "GRBench/TabletopBullet-v0": SMALL,
}
QUICK_TASK = {
    "GRBench/Tabletop-v0": "open_drawer",
    "GRBench/Tidy-v0": "put_cup_in_tub",
    "GRBench/Cloth-v0": "fold_diagonally",
    "GRBench/ClothByteMini-v0": "fold_diagonally",
    "GRBench/TabletopBullet-v0": "open_drawer",
}


def test_tabletop_is_registered():
    assert "GRBench/Tabletop-v0" in ENV_IDS


def test_every_environment_has_a_test_case():
    assert set(ENV_IDS) == set(SMALL_RESOLUTION) == set(QUICK_TASK)


def _actions(env, n, seed):
    """``n`` seeded random actions from the environment's own action space."""
    space = env.action_space
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def _image_keys(env):
    return [key for key in env.observation_space.spaces if key.startswith("rgb_")]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id, resolution=SMALL_RESOLUTION[env_id])
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def _rollout(env, seed, actions, task=None):
    options = {"task": task} if task else {}
    obs, info = reset(env, seed, **options)
    trace = [obs]
    for action in actions:
        obs, *_ = env.step(action)
        trace.append(obs)
    return trace, info


def _assert_same_obs(a, b, where=""):
    assert set(a) == set(b), where
    for key in a:
        if key == "instruction":
            assert a[key] == b[key], where
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{where} {key}")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_determinism(env_id):
    a = gym.make(env_id, resolution=SMALL_RESOLUTION[env_id])
    b = gym.make(env_id, resolution=SMALL_RESOLUTION[env_id])
    actions = _actions(a, 20, seed=0)
    try:
        trace_a, info_a = _rollout(a, 7, actions)
        trace_b, info_b = _rollout(b, 7, actions)
        assert info_a["task"] == info_b["task"] and info_a["initial_state"] == info_b["initial_state"]
        assert _image_keys(a) and all(key in trace_a[0] for key in _image_keys(a))
        for t, (obs_a, obs_b) in enumerate(zip(trace_a, trace_b, strict=True)):
            _assert_same_obs(obs_a, obs_b, where=f"step {t}")
        # the same env re-seeded replays the episode; another seed gives another initial state
        trace_again, _ = _rollout(a, 7, actions[:3])
        for obs_a, obs_b in zip(trace_again, trace_a[:4], strict=True):
            _assert_same_obs(obs_a, obs_b, where="replay")
        other, _ = _rollout(a, 8, [])
        assert not np.array_equal(other[0]["scene_obs"], trace_a[0]["scene_obs"])
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_mid_episode(env_id):
    env = gym.make(env_id, resolution=SMALL_RESOLUTION[env_id]).unwrapped
    actions = _actions(env, 14, seed=1)
    reset(env, 3)
    for action in actions[:6]:
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for t, action in enumerate(actions[6:]):
        obs_a, rew_a, term_a, trunc_a, info_a = env.step(action)
        obs_b, rew_b, term_b, trunc_b, info_b = clone.step(action)
        _assert_same_obs(obs_a, obs_b, where=f"step {t} after unpickling")
        assert _image_keys(env) and all(k in obs_a for k in _image_keys(env))
        assert (rew_a, term_a, trunc_a, info_a) == (rew_b, term_b, trunc_b, info_b)
    env.close()
    clone.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_before_reset(env_id):
    env = gym.make(env_id, cameras=()).unwrapped
    clone = pickle.loads(pickle.dumps(env))
    obs_a, _ = reset(env, 5, task=QUICK_TASK[env_id])
    obs_b, _ = reset(clone, 5, task=QUICK_TASK[env_id])
    _assert_same_obs(obs_a, obs_b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_action_spec(env_id):
    env = gym.make(env_id, cameras=())
    spec = env.unwrapped.action_spec
    assert spec["shape"] == env.action_space.shape
    assert len(spec["layout"]) == spec["shape"][0] and spec["layout"][-1].endswith("gripper")
    assert spec["gripper"].startswith("+1 open")
    assert spec["mode"] == env.unwrapped.action_mode


def test_tabletop_action_spec():
    spec = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped.action_spec
    assert spec["shape"] == (7,) and spec["layout"][-1] == "gripper" and spec["mode"] == "relative"


def test_default_observation_layout():
    env = gym.make("GRBench/Tabletop-v0")
    obs, info = reset(env, 0)
    assert obs["rgb_static"].shape == (200, 200, 3) and obs["rgb_static"].dtype == np.uint8
    assert obs["rgb_gripper"].shape == (84, 84, 3) and obs["rgb_gripper"].dtype == np.uint8
    assert obs["robot_obs"].shape == (15,) and obs["robot_obs"].dtype == np.float32
    assert obs["scene_obs"].shape == (24,) and obs["scene_obs"].dtype == np.float32
    assert obs["instruction"] == INSTRUCTION == info["instruction"]
    assert {"success", "task", "scene", "instruction", "initial_state"} <= set(info)
    assert env.observation_space.contains(obs)
    # the images show something, not a blank frame
    assert obs["rgb_static"].std() > 10 and obs["rgb_gripper"].std() > 1
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    env.close()


def test_resolution_override(small):
    env = gym.make("GRBench/Tabletop-v0", resolution={"static": small["static"], "gripper": (40, 60)})
    obs, _ = reset(env, 0)
    assert obs["rgb_static"].shape == (small["static"], small["static"], 3)
    assert obs["rgb_gripper"].shape == (40, 60, 3)
    assert env.observation_space["rgb_gripper"].shape == (40, 60, 3)
    env.close()


def test_camera_subset_and_none():
    env = gym.make("GRBench/Tabletop-v0", cameras=("gripper",), resolution={"gripper": 32})
    obs, _ = reset(env, 0)
    assert "rgb_static" not in obs and obs["rgb_gripper"].shape == (32, 32, 3)
    assert "rgb_static" not in env.observation_space.spaces
    no_cam = gym.make("GRBench/Tabletop-v0", cameras=())
    obs, _ = reset(no_cam, 0)
    assert not any(k.startswith("rgb_") for k in obs)
    assert not any(k.startswith("rgb_") for k in no_cam.observation_space.spaces)
    assert obs["robot_obs"].shape == (15,) and obs["scene_obs"].shape == (24,)
    obs, *_ = no_cam.step(np.zeros(7))
    assert no_cam.observation_space.contains(obs)


def test_truncated_after_360_steps():
    env = gym.make("GRBench/Tabletop-v0", cameras=())
    reset(env, 0, task="open_drawer")
    for t in range(360):
        _, _, terminated, truncated, _ = env.step(np.zeros(7))
        assert not terminated
        assert truncated == (t == 359), t
    env.close()


def test_robot_obs_tracks_relative_action(env):
    reset(env, 0, task="open_drawer")
    start = env.sim.robot_obs()[:3]
    for _ in range(10):
        obs, *_ = env.step(np.array([1.0, 0, 0, 0, 0, 0, 1]))
    moved = obs["robot_obs"][:3] - start
    assert 0.08 < moved[0] < 0.25 and abs(moved[1]) < 0.03 and abs(moved[2]) < 0.03


def test_gripper_closes_on_minus_one(env):
    reset(env, 0, task="open_drawer")
    for _ in range(10):
        obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, -1.0]))
    assert obs["robot_obs"][6] < 0.01 and obs["robot_obs"][14] == -1
    for _ in range(10):
        obs, *_ = env.step(np.array([0, 0, 0, 0, 0, 0, 1.0]))
    assert obs["robot_obs"][6] > 0.07 and obs["robot_obs"][14] == 1


def test_scenes_differ():
    from envs.tabletop.scenes import SCENES

    env = gym.make("GRBench/Tabletop-v0", cameras=("static",), resolution={"static": 64})
    images = [reset(env, 0, scene=s, task="open_drawer")[0]["rgb_static"] for s in sorted(SCENES)]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i].astype(int) - images[j]).mean() > 3, (i, j)
    env.close()


def test_absolute_action_mode_reaches_the_target():
    from envs.tabletop.env import TabletopEnv

    env = TabletopEnv(cameras=(), action_mode="absolute")
    obs, _ = reset(env, 0, task="open_drawer")
    target = obs["robot_obs"][:6].copy()
    target[:3] += [0.05, 0.03, -0.08]
    for _ in range(40):
        obs, *_ = env.step(np.r_[target, 1.0])
    np.testing.assert_allclose(obs["robot_obs"][:3], target[:3], atol=0.01)
    assert env.action_spec["mode"] == "absolute"
