"""Unseen-scene axes: each one shows in the static camera, a reset without variations undoes them,
the physics and the scripted expert are unaffected, values are plain JSON, bad names are refused."""

import json
import pickle

import numpy as np
import pytest
from conftest import SMALL, reset

from envs.tabletop.env import TabletopEnv
from envs.tabletop.expert import ScriptedExpert
from envs.tabletop.scenes import SCENES
from envs.tabletop.variations import AXES, distractor_slots, sample_variation
from envs.utils.axes import SPLITS

VISUAL_AXES = [a for a in AXES if a != "layout"]
# mean absolute difference (0-255 per channel) an unseen value makes to a 64x64 static image; small
# objects (distractors, blocks) cover few pixels. Without a variation the difference is exactly 0.
MIN_IMAGE_CHANGE = {"distractors": 0.1, "novel_object_appearance": 0.1}
DEFAULT_MIN_IMAGE_CHANGE = 5.0
EXPERT_TASKS = ["open_drawer", "lift_red_block_table", "push_blue_block_left"]
MAX_STEPS = 360


def _unseen(axis, seed=0):
    return sample_variation(axis, "unseen", np.random.default_rng(seed))


def _all_visual(seed=0):
    return {axis: _unseen(axis, seed) for axis in VISUAL_AXES}


def _same_obs(a, b):
    assert set(a) == set(b)
    for key in a:
        if key == "instruction":
            assert a[key] == b[key]
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def camera_env():
    env = TabletopEnv(cameras=("static",), resolution=SMALL)
    yield env
    env.close()


def test_axes_declare_ranges_and_sample_plain_json():
    for name, axis in AXES.items():
        assert axis.name == name and axis.description
        json.dumps([axis.train, axis.unseen])  # the ranges themselves can go into a report
        for split in SPLITS:
            value = axis.sample(split, np.random.default_rng(3))
            assert json.loads(json.dumps(value)) == value, (name, split)
            assert sample_variation(name, split, np.random.default_rng(3)) == value  # seeded


@pytest.mark.parametrize("axis", VISUAL_AXES)
def test_unseen_value_changes_the_static_image(camera_env, axis):
    base, _ = reset(camera_env, 0, task="lift_red_block_table", scene="A")
    obs, info = reset(camera_env, 0, task="lift_red_block_table", scene="A", variations={axis: _unseen(axis)})
    change = np.abs(obs["rgb_static"].astype(float) - base["rgb_static"]).mean()
    assert change > MIN_IMAGE_CHANGE.get(axis, DEFAULT_MIN_IMAGE_CHANGE), change
    assert info["variations"] == {axis: _unseen(axis)}
    json.dumps(info["variations"])
    # only the look changes
    np.testing.assert_array_equal(obs["scene_obs"], base["scene_obs"])
    np.testing.assert_array_equal(obs["robot_obs"], base["robot_obs"])


def test_repainted_desk_reaches_a_renderer_made_before(camera_env, small):
    # a renderer holds the textures it was made with; the repainted desk must still show
    variations = {"table_appearance": _unseen("table_appearance")}
    reset(camera_env, 1, task="open_drawer", scene="B")
    obs_a, _ = reset(camera_env, 1, task="open_drawer", scene="B", variations=variations)
    fresh = TabletopEnv(cameras=("static",), resolution=small)
    obs_b, _ = reset(fresh, 1, task="open_drawer", scene="B", variations=variations)
    fresh.close()
    _same_obs(obs_a, obs_b)


def test_layout_selects_the_held_out_scene(camera_env):
    base, _ = reset(camera_env, 0, task="lift_red_block_table", scene="A")
    obs, info = reset(camera_env, 0, task="lift_red_block_table", variations={"layout": _unseen("layout")})
    assert info["scene"] == "D" and info["variations"] == {"layout": "D"}
    assert np.abs(obs["rgb_static"].astype(float) - base["rgb_static"]).mean() > DEFAULT_MIN_IMAGE_CHANGE


def test_reset_without_variations_restores_the_scene(small):
    actions = np.random.default_rng(0).uniform(-1, 1, size=(5, 7))
    used = TabletopEnv(resolution=small)
    fresh = TabletopEnv(resolution=small)
    try:
        reset(used, 4, task="lift_red_block_table", scene="A", variations=_all_visual())
        reset(used, 4, task="lift_red_block_table", variations={"layout": "D"})
        reset(used, 4, task="lift_red_block_table", scene="A", variations=_all_visual(seed=1))
        for options in ({}, {"variations": {}}):
            obs_a, info_a = reset(used, 7, task="lift_red_block_table", scene="A", **options)
            obs_b, info_b = reset(fresh, 7, task="lift_red_block_table", scene="A")
            assert info_a == info_b and info_a["variations"] == {}
            _same_obs(obs_a, obs_b)
            for action in actions:
                _same_obs(used.step(action)[0], fresh.step(action)[0])
    finally:
        used.close()
        fresh.close()


def _expert_trace(env, task, seed=0, **options):
    obs, _ = reset(env, seed, task=task, **options)
    expert = ScriptedExpert(env)
    expert.reset()
    trace = [obs]
    for _ in range(MAX_STEPS):
        obs, _, terminated, _, _ = env.step(expert.act(obs))
        trace.append(obs)
        if terminated:
            break
    return trace, terminated


@pytest.mark.parametrize("task", EXPERT_TASKS)
@pytest.mark.parametrize("axis", list(AXES))
def test_expert_solves_under_unseen_values(env, axis, task):
    _, solved = _expert_trace(env, task, variations={axis: _unseen(axis)})
    assert solved


def test_visual_axes_leave_physics_exactly_alone(env):
    plain, _ = _expert_trace(env, "push_blue_block_left", scene="B")
    varied, _ = _expert_trace(env, "push_blue_block_left", scene="B", variations=_all_visual())
    assert len(plain) == len(varied)
    for a, b in zip(plain, varied, strict=True):
        _same_obs(a, b)


def test_pickled_env_keeps_its_variations(small):
    env = TabletopEnv(resolution=small)
    reset(env, 2, task="open_drawer", scene="C", variations=_all_visual())
    clone = pickle.loads(pickle.dumps(env))
    action = np.array([0.3, -0.2, 0.1, 0.0, 0.0, 0.0, 1.0])
    obs_a, _, _, _, info_a = env.step(action)
    obs_b, _, _, _, info_b = clone.step(action)
    _same_obs(obs_a, obs_b)
    assert info_a == info_b
    env.close()
    clone.close()


def test_distractors_have_room_in_every_scene():
    for scene in SCENES.values():
        assert len(distractor_slots(scene)) >= AXES["distractors"].unseen["count"][1], scene.name


def test_bad_variations_are_refused(env):
    with pytest.raises(ValueError, match="lighting"):
        reset(env, 0, task="open_drawer", variations={"lightning": {}})
    with pytest.raises(ValueError, match="intensity"):
        reset(env, 0, task="open_drawer", variations={"lighting": {"intensty": 0.5}})
    with pytest.raises(ValueError, match="rgb"):
        reset(env, 0, task="open_drawer", variations={"background": {"wall_rgb": [2.0, 0.0, 0.0]}})
    with pytest.raises(ValueError, match="kind"):
        reset(env, 0, task="open_drawer", variations={"distractors": [{"kind": "vase"}]})
    with pytest.raises(ValueError, match="layout"):
        reset(env, 0, task="open_drawer", scene="A", variations={"layout": "D"})
    with pytest.raises(ValueError, match="dict"):
        reset(env, 0, task="open_drawer", variations=["lighting"])
    with pytest.raises(ValueError, match="camera_pose"):
        sample_variation("camera_pos", "unseen", np.random.default_rng(0))
    with pytest.raises(ValueError, match="unseen"):
        sample_variation("lighting", "test", np.random.default_rng(0))
