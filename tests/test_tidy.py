"""GRBench/Tidy-v0 and the ByteMini: the robot model, observation and action layouts, the tidy
oracles (success, progress, per-subtask outcomes), task names and instruction categories, the
language bank, the variation axes, bad input, and the scripted whole-body expert.

The registry tests (checker, determinism, pickling, action spec) run on it in test_envs.py."""

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest
from conftest import reset

from envs.robots.bytemini import GRIPPER_OPEN, N_DOF
from envs.tidy.env import CAMERAS, DEFAULT_RESOLUTION, HOME_TCP, INVALID_STEPS, TidyEnv
from envs.tidy.expert import TidyExpert
from envs.tidy.language import instructions, language_bank
from envs.tidy.layout import HAND_HALF_SPAN, OBJECT_GAP
from envs.tidy.objects import ABSENT_THINGS, CLUTTER, KIND_INDEX, KINDS, TRAIN_KINDS, UNSEEN_KINDS
from envs.tidy.scenes import DESTINATIONS, SCENES, TABLE_TOP_Z
from envs.tidy.sim import MAX_OBJECTS, TidySnapshot
from envs.tidy.tasks import CATEGORIES, get_task, task_name, tasks_in_category
from envs.tidy.variations import AXES, COMPOSITION_AXES, DEFAULT_OBJECT_COUNT, sample_variation

SMALL = {"head": 64, "left_wrist": 32, "right_wrist": 32}
VISUAL_AXES = [a for a in AXES if a not in COMPOSITION_AXES]


@pytest.fixture(scope="module")
def env():
    """Camera-less, joint action mode (GR-3's)."""
    env = TidyEnv(cameras=())
    yield env
    env.close()


@pytest.fixture(scope="module")
def ee_env():
    env = TidyEnv(cameras=(), action_mode="ee")
    yield env
    env.close()


def _hold(env):
    """A joint action that keeps the robot where it is, grippers open."""
    return np.r_[np.zeros(3), _arm_joints(env), 1.0, 1.0]


def _arm_joints(env, field="qpos"):
    """The 14 arm joint positions (or servo targets, field="ctrl"), left arm first."""
    arms = env.sim.robot.arms.values()
    if field == "ctrl":
        return np.concatenate([env.sim.data.ctrl[arm.actuators] for arm in arms])
    return np.concatenate([arm.joint_positions(env.sim.data) for arm in arms])


def _settle(env, steps=6):
    for _ in range(steps):
        out = env.step(_hold(env))
    return out


def _put(env, kind, dest, offset=(0.0, 0.0)):
    """Teleport an object into a container, standing on its floor."""
    xy = env.sim.destination_xy(dest) + offset
    env.sim.set_object_pose(kind, np.array([*xy, DESTINATIONS[dest].floor_z + 0.002]), 0.0)


# --- the robot ------------------------------------------------------------------------------------
def test_bytemini_has_22_dof_three_cameras_and_no_meshes(env):
    reset(env, 0)
    model = env.sim.model
    robot = env.sim.robot
    joints = [model.joint(j).name for j in range(model.njnt) if model.jnt_bodyid[j] in robot.bodies]
    # each gripper's second finger follows the first through an equality constraint: one DoF
    coupled = [j for j in joints if j.endswith("_finger_b")]
    assert len(joints) - len(coupled) == N_DOF == 22
    assert {"base_x", "base_y", "base_yaw", "lift", "head_pan", "head_tilt"} <= set(joints)
    assert sum(j.startswith("left_j") for j in joints) == sum(j.startswith("right_j") for j in joints) == 7
    assert model.nu == 22  # one actuator per DoF
    for camera in CAMERAS:
        model.camera(camera)
    assert model.nmesh == 0 and model.vis.quality.shadowsize == 0 and not model.light_castshadow.any()


def test_default_observation_layout():
    env = gym.make("GRBench/Tidy-v0")
    obs, info = reset(env, 0)
    for camera in CAMERAS:
        image = obs[f"rgb_{camera}"]
        assert image.shape == (DEFAULT_RESOLUTION[camera],) * 2 + (3,) and image.dtype == np.uint8
        assert image.std() > 5  # shows something
    assert obs["robot_obs"].shape == (39,) and obs["robot_obs"].dtype == np.float32
    assert obs["scene_obs"].shape == (12 + 8 * MAX_OBJECTS,) and obs["scene_obs"].dtype == np.float32
    assert obs["instruction"] == "complete the task" == info["instruction"]
    keys = {"success", "progress", "subtasks", "task", "category", "scene", "objects", "max_steps", "initial_state"}
    assert keys | {"instruction", "variations"} <= set(info)
    assert info["task"] == "clear_table" and len(info["objects"]) == DEFAULT_OBJECT_COUNT
    assert info["progress"] == 0.0 and not info["success"]
    json.dumps(info)  # plain data: results files keep it
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    env.close()


def test_resolution_and_camera_subset():
    env = TidyEnv(cameras=("left_wrist",), resolution={"left_wrist": (40, 60)})
    obs, _ = reset(env, 0)
    assert obs["rgb_left_wrist"].shape == (40, 60, 3) and "rgb_head" not in obs
    assert set(env.observation_space.spaces) == {"rgb_left_wrist", "robot_obs", "scene_obs", "instruction"}
    env.close()


def test_robot_obs_layout(env):
    obs, info = reset(env, 2)
    robot = obs["robot_obs"]
    np.testing.assert_allclose(robot[0:3], info["initial_state"]["base"], atol=2e-3)
    np.testing.assert_allclose(robot[3:6], 0.0, atol=0.02)  # standing still
    assert robot[6] == pytest.approx(0.1, abs=2e-3)  # lift
    np.testing.assert_allclose(robot[7:9], [0.0, 0.85], atol=0.01)  # head
    np.testing.assert_allclose(robot[9:23], _arm_joints(env))
    np.testing.assert_allclose(robot[23:25], 2 * GRIPPER_OPEN, atol=2e-3)  # open grippers
    np.testing.assert_allclose(robot[25:28], HOME_TCP["left"], atol=0.01)  # tool centre points, base frame
    np.testing.assert_allclose(robot[31:34], HOME_TCP["right"], atol=0.01)
    np.testing.assert_array_equal(robot[37:39], [1.0, 1.0])


def test_scene_obs_layout(env):
    obs, info = reset(env, 1, task="put_cup_on_tray")
    scene = obs["scene_obs"].reshape(-1)
    destinations = scene[:12].reshape(3, 4)
    assert list(destinations[:, 0]) == [1.0, 1.0, 1.0]  # tub, bin and the tray out
    np.testing.assert_allclose(destinations[0, 1:3], SCENES["A"].place["tub"])
    slots = scene[12:].reshape(MAX_OBJECTS, 8)
    for i, kind in enumerate(info["objects"]):
        assert slots[i, 0] == 1.0 and slots[i, 1] == KIND_INDEX[kind]
        np.testing.assert_allclose(slots[i, 2:5], env.sim.object_com(kind), atol=1e-5)
    assert not slots[len(info["objects"]) :].any()
    obs, _ = reset(env, 1, task="put_cup_in_tub")
    assert obs["scene_obs"][8] == 0.0  # the tray is parked


# --- actions --------------------------------------------------------------------------------------
def test_action_spaces_and_specs(env, ee_env):
    joint, ee = env.action_spec, ee_env.action_spec
    assert env.action_space.shape == joint["shape"] == (19,) and joint["mode"] == "joint"
    assert joint["layout"][:3] == ["base_forward", "base_left", "base_yaw_rate"]
    assert joint["layout"][3:17] == [f"{s}_j{i}" for s in ("left", "right") for i in range(1, 8)]
    assert joint["layout"][17:] == ["left_gripper", "right_gripper"]
    np.testing.assert_allclose(env.action_space.high[:3], [0.5, 0.5, 1.0])
    assert ee_env.action_space.shape == ee["shape"] == (17,) and ee["mode"] == "ee"
    assert ee["layout"][3:9] == ["left_x", "left_y", "left_z", "left_euler_x", "left_euler_y", "left_euler_z"]
    for spec in (joint, ee):
        assert spec["gripper"].startswith("+1 open") and "m/s" in spec["base"]
        json.dumps(spec)


def test_gripper_polarity(env):
    reset(env, 0, task="put_cup_in_tub")
    action = _hold(env)
    action[17:] = -1.0
    for _ in range(8):
        obs, *_ = env.step(action)
    assert obs["robot_obs"][23] < 0.01 and obs["robot_obs"][24] < 0.01
    np.testing.assert_array_equal(obs["robot_obs"][37:39], [-1.0, -1.0])
    action[17:] = 1.0
    for _ in range(8):
        obs, *_ = env.step(action)
    assert obs["robot_obs"][23] > 0.12 and obs["robot_obs"][37] == 1.0


def test_base_velocity_is_in_the_robot_frame(env):
    reset(env, 0, task="put_cup_in_tub")
    start = env.sim.robot.base_pose(env.sim.data)
    action = _hold(env)
    action[:3] = [-0.2, 0.3, 0.0]  # backwards (the table is in front) and to the left
    for _ in range(10):  # half a second
        obs, *_ = env.step(action)
    moved = obs["robot_obs"][:3] - start
    assert -0.12 < moved[0] < -0.07 and 0.11 < moved[1] < 0.17 and abs(moved[2]) < 0.02
    np.testing.assert_allclose(obs["robot_obs"][3:5], [-0.2, 0.3], atol=0.03)
    action[:3] = [0.0, 0.0, 0.6]
    for _ in range(10):
        obs, *_ = env.step(action)
    assert 0.22 < obs["robot_obs"][2] - start[2] < 0.33
    # turned by about 0.3 rad, a leftward command now moves the base partly backwards in the world
    action[:3] = [0.0, 0.3, 0.0]
    before = obs["robot_obs"][:2].copy()
    for _ in range(10):
        obs, *_ = env.step(action)
    assert obs["robot_obs"][0] - before[0] < -0.02


def test_ee_action_moves_the_tool_in_the_base_frame(ee_env):
    obs, _ = reset(ee_env, 0, task="put_cup_in_tub")
    start = obs["robot_obs"][25:28].copy()
    right = obs["robot_obs"][31:34].copy()
    action = np.zeros(17)
    action[3] = 1.0  # left tool forward, 2 cm a step
    action[15:] = 1.0
    for _ in range(5):
        obs, *_ = ee_env.step(action)
    obs, *_ = ee_env.step(np.r_[np.zeros(15), 1.0, 1.0])
    moved = obs["robot_obs"][25:28] - start
    # relative to the measured pose each step, as CALVIN's: the servos' lag bends the path a little
    assert 0.08 < moved[0] < 0.12 and np.abs(moved[1:]).max() < 0.025
    np.testing.assert_allclose(obs["robot_obs"][31:34], right, atol=0.005)


def test_joint_action_is_tracked(env):
    reset(env, 0, task="put_cup_in_tub")
    action = _hold(env)
    action[3] -= 0.2  # left shoulder pitch: raise the arm
    action[10 + 3] -= 0.3  # right elbow
    for _ in range(20):
        obs, *_ = env.step(action)
    np.testing.assert_allclose(obs["robot_obs"][9:23], action[3:17], atol=0.02)


def test_joint_targets_turn_an_ee_action_into_joint_targets(ee_env):
    reset(ee_env, 0, task="put_cup_in_tub")
    ee = np.r_[np.zeros(3), [0.5, 0, -0.5, 0, 0, 0.3], [0, 0.5, 0, 0, 0, 0], 1.0, 1.0]
    targets = ee_env.joint_targets(ee)
    ee_env.step(ee)
    np.testing.assert_allclose(_arm_joints(ee_env, "ctrl"), targets)


def test_lift_and_head_are_held_where_configured():
    env = TidyEnv(cameras=(), lift=0.2, head=(0.3, 0.6))
    reset(env, 0, task="put_cup_in_tub")
    obs, *_ = _settle(env, 10)
    assert obs["robot_obs"][6] == pytest.approx(0.2, abs=2e-3)
    np.testing.assert_allclose(obs["robot_obs"][7:9], [0.3, 0.6], atol=0.02)
    assert "0.2 m" in env.action_spec["held"]


# --- oracles --------------------------------------------------------------------------------------
def test_one_object_in_its_container_succeeds(env):
    reset(env, 3, task="put_cup_in_tub")
    _put(env, "cup", "tub")
    _, reward, terminated, truncated, info = _settle(env)
    assert info["success"] and terminated and not truncated and reward == 1.0
    assert info["progress"] == 1.0 and info["subtasks"] == [{"object": "cup", "destination": "tub", "done": True}]


def test_the_wrong_container_does_not_count(env):
    reset(env, 3, task="put_cup_in_tub")
    _put(env, "cup", "bin")
    *_, info = _settle(env, 12)
    assert not info["success"] and info["progress"] == 0.0
    assert env.sim.snapshot().placed_in("cup") == "bin"


def test_clear_table_progress_is_the_fraction_placed(env):
    _, info = reset(env, 4)
    kinds = info["objects"]
    tub = [k for k in kinds if KINDS[k].destination == "tub"]
    bin_ = [k for k in kinds if KINDS[k].destination == "bin"]
    _put(env, tub[0], "tub", (-0.07, 0.0))
    _put(env, bin_[0], "bin", (-0.07, -0.07))
    # one in the wrong container
    if len(tub) > 1:
        _put(env, tub[1], "bin", (0.07, 0.07))
    else:
        _put(env, bin_[1], "tub", (0.07, 0.0))
    *_, info = _settle(env, 12)
    assert info["progress"] == pytest.approx(2 / len(kinds)) and not info["success"]
    done = {s["object"] for s in info["subtasks"] if s["done"]}
    assert done == {tub[0], bin_[0]} and len(info["subtasks"]) == len(kinds)


def test_a_held_object_is_not_placed():
    snapshot = TidySnapshot(
        com={"cup": np.zeros(3)},
        mat={"cup": np.eye(3)},
        touching={"cup": frozenset({"gripper"})},
        inside={"cup": "tub"},
    )
    assert snapshot.held("cup") and snapshot.placed_in("cup") is None


def test_invalid_request_succeeds_while_nothing_moves(env):
    _, info = reset(env, 5, task="put_teapot_in_bin")
    assert info["category"] == "invalid" and "teapot" not in info["objects"]
    *_, terminated, truncated, info = _settle(env)
    assert info["success"] and info["progress"] == 1.0 and not terminated
    kind = info["objects"][0]
    pos, _ = env.sim.object_pose(kind)
    env.sim.set_object_pose(kind, pos + [0.05, 0.0, 0.0], 0.0)
    *_, info = _settle(env, 2)
    assert not info["success"] and info["progress"] == 0.0


def test_invalid_request_is_truncated(env):
    reset(env, 0, task="put_laptop_in_tub")
    hold = _hold(env)
    for t in range(INVALID_STEPS):
        _, _, terminated, truncated, info = env.step(hold)
        assert not terminated and truncated == (t == INVALID_STEPS - 1)
    assert info["success"] and info["max_steps"] == INVALID_STEPS


# --- tasks and instruction categories -------------------------------------------------------------
@pytest.mark.parametrize(
    "name, category",
    [
        ("clear_table", "whole_table"),
        ("put_cup_in_tub", "one_object"),
        ("put_apple_in_tub", "one_object"),
        ("put_cup_and_bowl_in_tub", "several_objects"),
        ("put_paper_ball_and_juice_box_in_bin", "several_objects"),
        ("put_cup_in_tub_and_can_in_bin", "several_destinations"),
        ("put_apple_on_tray", "unseen_destination"),
        ("put_teapot_in_bin", "invalid"),
    ],
)
def test_task_names_say_their_category(name, category):
    task = get_task(name)
    assert task.category == category
    if category not in ("whole_table", "invalid"):
        assert task_name(task.goals) == name


@pytest.mark.parametrize(
    "name, match",
    [
        ("put_cupp_in_tub", "cup"),
        ("put_cup_in_tubb", "tub"),
        ("put_cup_on_tub", "in_tub"),
        ("put_cup_in_tub_and_bowl_in_tub", "put_cup_and_bowl_in_tub"),
        ("put_cup_and_cup_in_tub", "twice"),
        ("put_teapot_and_cup_in_tub", "absent"),
        ("tidy", "clear_table"),
    ],
)
def test_bad_task_names_are_explained(name, match):
    with pytest.raises(ValueError, match=match):
        get_task(name)


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("kinds", [TRAIN_KINDS, UNSEEN_KINDS])
def test_every_category_lists_its_tasks(category, kinds):
    tasks = tasks_in_category(category, kinds)
    assert tasks and all(get_task(t).category == category for t in tasks)
    if category not in ("whole_table", "invalid"):
        assert {k for t in tasks for k in get_task(t).named_kinds} <= set(kinds)


def test_named_objects_are_on_the_table_and_the_tray_comes_out_when_asked(env):
    for task in (
        "put_mug_in_tub",
        "put_bottle_and_orange_in_bin",
        "put_knife_on_tray",
        "put_cup_in_tub_and_can_in_bin",
    ):
        _, info = reset(env, 0, task=task)
        assert set(get_task(task).named_kinds) <= set(info["objects"])
        assert env.sim.tray_out == task.endswith("tray")
        assert [(s["object"], s["destination"]) for s in info["subtasks"]] == list(get_task(task).goals)


def test_begin_task_chains_requests_on_the_same_table(env):
    _, info = reset(env, 0)
    kind = info["objects"][0]
    obs = env.begin_task(f"put_{kind}_in_bin", "now the first one")
    assert obs["instruction"] == "now the first one" and env.goals == ((kind, "bin"),)
    missing = next(k for k in KINDS if k not in info["objects"])
    with pytest.raises(ValueError, match="not on the table"):
        env.begin_task(f"put_{missing}_in_bin")
    with pytest.raises(ValueError, match="tray"):
        env.begin_task(f"put_{kind}_on_tray")


# --- language -------------------------------------------------------------------------------------
def test_every_object_destination_and_absent_thing_has_words_in_both_splits():
    bank = language_bank()
    for table, names in (("objects", KINDS), ("absent", ABSENT_THINGS), ("destinations", DESTINATIONS)):
        assert set(bank[table]) == set(names), table
        for words in bank[table].values():
            assert words["train"] and words["eval"]


@pytest.mark.parametrize("category", CATEGORIES)
def test_train_and_eval_phrasings_are_disjoint_and_name_the_objects(category):
    for task in tasks_in_category(category)[:4]:
        train, held_out = instructions(task, "train"), instructions(task, "eval")
        assert train and held_out and not set(train) & set(held_out)
        parsed = get_task(task)
        for phrasing in train:
            for kind, dest in parsed.request:
                assert kind.replace("_", " ") in phrasing or kind == "paper_ball", (task, phrasing)
                assert dest in phrasing


def test_instruction_comes_from_the_chosen_split():
    env = TidyEnv(cameras=(), instruction_split="eval")
    obs, _ = env.reset(seed=0, options={"task": "put_cup_in_tub"})
    assert obs["instruction"] in instructions("put_cup_in_tub", "eval")
    obs, _ = env.reset(seed=0, options={"task": "clear_table"})
    assert obs["instruction"] in language_bank()["whole_table"]["eval"]


# --- variations and layout ------------------------------------------------------------------------
def test_axes_declare_ranges_and_sample_plain_json():
    assert set(AXES) == {"object_set", "object_count", "clutter", "table_appearance", "lighting", "background"}
    for name, axis in AXES.items():
        assert axis.name == name and axis.description
        json.dumps([axis.train, axis.unseen])
        for split in ("train", "unseen"):
            value = axis.sample(split, np.random.default_rng(3))
            assert json.loads(json.dumps(value)) == value
            assert sample_variation(name, split, np.random.default_rng(3)) == value


def test_composition_axes_set_the_table(env):
    _, info = reset(env, 0, variations={"object_count": 9})
    assert len(info["objects"]) == 9
    _, info = reset(env, 0, variations={"object_set": {"unseen_fraction": 1.0}})
    assert set(info["objects"]) == set(UNSEEN_KINDS)  # six objects, six unseen kinds
    _, info = reset(env, 0, variations={"object_set": {"unseen_fraction": 0.5}, "object_count": 8})
    assert sum(k in UNSEEN_KINDS for k in info["objects"]) == 4
    _, plain = reset(env, 0)
    _, info = reset(env, 0, variations={"clutter": ["vase", "salt", "napkin_holder"]})
    assert [c[0] for c in info["initial_state"]["clutter"]] == ["vase", "salt", "napkin_holder"]
    assert info["initial_state"]["objects"] == plain["initial_state"]["objects"]  # clutter changes nothing else
    for name, x, y, _ in info["initial_state"]["clutter"]:
        np.testing.assert_allclose(env.sim.data.body(f"clutter_{name}").xpos, [x, y, TABLE_TOP_Z], atol=1e-6)


def test_objects_stand_apart_and_clear_of_the_tub(env):
    for seed in range(10):
        _, info = reset(env, seed, variations={"object_count": 9, "clutter": list(CLUTTER)[:3]})
        placed = [(np.array([x, y]), KINDS[k].footprint) for k, x, y, _ in info["initial_state"]["objects"]]
        for i, (a, ra) in enumerate(placed):
            for b, rb in placed[i + 1 :]:
                assert np.linalg.norm(a - b) >= ra + rb + OBJECT_GAP - 1e-9
            gap = np.abs(a - env.sim.destination_xy("tub")) - np.array(DESTINATIONS["tub"].inner_half)
            assert gap.max() > HAND_HALF_SPAN
        snapshot = env.sim.snapshot()
        assert all(snapshot.touching[k] == {"table"} for k in info["objects"]), seed


@pytest.mark.parametrize("axis", VISUAL_AXES)
def test_visual_axes_change_only_the_look(axis):
    env = TidyEnv(cameras=("head",), resolution=SMALL)
    base, _ = reset(env, 0)
    value = sample_variation(axis, "unseen", np.random.default_rng(0))
    obs, info = reset(env, 0, variations={axis: value})
    assert np.abs(obs["rgb_head"].astype(float) - base["rgb_head"]).mean() > 3
    assert info["variations"] == {axis: value}
    np.testing.assert_array_equal(obs["scene_obs"], base["scene_obs"])
    np.testing.assert_array_equal(obs["robot_obs"], base["robot_obs"])
    again, info = reset(env, 0)  # a reset without variations restores the room
    np.testing.assert_array_equal(again["rgb_head"], base["rgb_head"])
    assert info["variations"] == {}
    env.close()


def test_pickled_env_keeps_its_table_and_variations():
    env = TidyEnv(resolution=SMALL)
    variations = {axis: sample_variation(axis, "unseen", np.random.default_rng(2)) for axis in AXES}
    reset(env, 2, task="put_cup_on_tray", variations=variations)
    env.action_space.seed(0)
    for action in [env.action_space.sample() for _ in range(3)]:
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for action in [env.action_space.sample() for _ in range(3)]:
        obs_a, *rest_a = env.step(action)
        obs_b, *rest_b = clone.step(action)
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
        assert rest_a == rest_b
    env.close()
    clone.close()


@pytest.mark.parametrize(
    "variations, match",
    [
        ({"lightning": {}}, "lighting"),
        ({"object_count": 11}, "object_count"),
        ({"object_count": 2.5}, "object_count"),
        ({"object_set": {"unseen_fraction": 1.5}}, "unseen_fraction"),
        ({"object_set": {"fraction": 0.5}}, "unseen_fraction"),
        ({"clutter": ["teapot"]}, "clutter kind"),
        ({"clutter": ["salt", "salt"]}, "twice"),
        ({"table_appearance": {"rgb": [2, 0, 0]}}, "rgb"),
        (["lighting"], "dict"),
    ],
)
def test_bad_variations_are_refused(env, variations, match):
    with pytest.raises(ValueError, match=match):
        reset(env, 0, variations=variations)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(17,), (20,), (1, 19), ()])
def test_wrong_action_shape(env, shape):
    reset(env, 0, task="put_cup_in_tub")
    with pytest.raises(ValueError, match=r"shape \(19,\)"):
        env.step(np.zeros(shape))


def test_wrong_action_shape_in_ee_mode(ee_env):
    reset(ee_env, 0, task="put_cup_in_tub")
    with pytest.raises(ValueError, match=r"shape \(17,\).*'ee'"):
        ee_env.step(np.zeros(19))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_action_changes_nothing(env, bad):
    reset(env, 0, task="put_cup_in_tub")
    before = env.sim.robot_obs()
    action = _hold(env)
    action[5] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(action)
    np.testing.assert_array_equal(env.sim.robot_obs(), before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cameras": ("static",)}, "camera"),
        ({"resolution": {"hed": 64}}, "camera"),
        ({"resolution": {"head": 0}}, "positive"),
        ({"action_mode": "relative"}, "action_mode"),
        ({"scene": "C"}, "scene"),
        ({"task": "open_drawer"}, "tidy task"),
        ({"instruction_split": "test"}, "split"),
        ({"lift": 0.5}, "lift"),
        ({"head": (0.0, 2.0)}, "head"),
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TidyEnv(**{"cameras": (), **kwargs})


def test_bad_reset_options(env):
    with pytest.raises(ValueError, match="unknown reset options"):
        reset(env, 0, tsk="clear_table")
    with pytest.raises(ValueError, match="scene"):
        reset(env, 0, scene="D")
    with pytest.raises(ValueError, match="instruction"):
        env.reset(seed=0, options={"instruction": 3})


def test_step_and_render_before_reset():
    with pytest.raises(RuntimeError, match="reset"):
        TidyEnv(cameras=()).step(np.zeros(19))
    with pytest.raises(RuntimeError, match="reset"):
        TidyEnv(cameras=(), render_mode="rgb_array").render()


# --- the scripted expert --------------------------------------------------------------------------
def _run_expert(env, seed, **options):
    obs, info = env.reset(seed=seed, options=options)
    expert = TidyExpert(env)
    expert.reset(obs["instruction"])
    while True:
        action = expert.act(obs)
        assert env.action_space.contains(action.astype(np.float32))
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info


@pytest.mark.parametrize("task, scene", [("put_cup_in_tub", "A"), ("put_apple_on_tray", "B")])
def test_expert_moves_one_object(env, task, scene):
    info = _run_expert(env, 0, task=task, scene=scene)
    assert info["success"] and info["progress"] == 1.0


def test_expert_touches_nothing_on_an_invalid_request(env):
    info = _run_expert(env, 0, task="put_teapot_in_tub")
    assert info["success"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_expert_clears_the_table(env, seed, scene):
    info = _run_expert(env, seed, scene=scene)
    assert info["success"] and len(info["subtasks"]) == DEFAULT_OBJECT_COUNT


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_expert_clears_the_table_under_every_unseen_axis(ee_env, seed):
    rng = np.random.default_rng(seed)
    variations = {axis: sample_variation(axis, "unseen", rng) for axis in AXES}
    info = _run_expert(ee_env, seed, variations=variations)
    assert info["success"], info["subtasks"]


# --- gr-bench play --------------------------------------------------------------------------------
def test_cli_plays_the_tidy_expert(tmp_path, capsys):
    from gr_bench.cli import main

    out = tmp_path / "tidy.gif"
    assert (
        main(["play", "--env", "GRBench/Tidy-v0", "--task", "put_fork_in_tub", "--size", "48", "--out", str(out)]) == 0
    )
    assert out.stat().st_size > 0 and "success" in capsys.readouterr().out
    assert main(["play", "--env", "GRBench/Tidy-v1", "--out", str(out)]) == 2
    assert "GRBench/Tidy-v0" in capsys.readouterr().err
