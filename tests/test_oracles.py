"""Success oracles fire when simulator state says the task is done, and only then.

The state is set directly (joints, block poses) rather than reached by a policy, so each test
isolates one oracle family.
"""

import mujoco
import numpy as np
import pytest
from conftest import reset

from envs.tabletop.scenes import SCENES
from envs.tabletop.sim import BUTTON_PRESSED, SWITCH_OFF, SWITCH_ON
from envs.tabletop.state import SymbolicState, classify, sample_symbolic_state
from envs.tabletop.tasks import TASKS
from envs.utils.rotations import euler_to_mat, yaw_to_quat

SCENE_NAMES = sorted(SCENES)


def _start(env, state=None, task="open_drawer", scene="A", seed=0):
    reset(env, seed, task=task, scene=scene, initial_state=state or SymbolicState())
    return env.sim, env.sim.snapshot()


def _after_step(sim, substeps=1):
    sim.step(substeps)  # the lights' logic runs after every step
    return sim.snapshot()


def _fired(start, now):
    return {name for name, task in TASKS.items() if task.check(start, now)}


@pytest.mark.parametrize("scene", SCENE_NAMES)
def test_no_change_fires_nothing(env, scene):
    for state, task in [
        (SymbolicState(), "open_drawer"),
        (SymbolicState(drawer="open", slider="left", led=1, lightbulb=1, red="on_blue"), "close_drawer"),
        (SymbolicState(pink="grasped", drawer="open"), "place_in_drawer"),
    ]:
        sim, start = _start(env, state, task=task, scene=scene)
        assert not _fired(start, start), state
        assert not _fired(start, sim.snapshot())


# --- articulation ---------------------------------------------------------------------------
@pytest.mark.parametrize("scene", SCENE_NAMES)
def test_drawer(env, scene):
    sim, start = _start(env, SymbolicState(drawer="closed"), task="open_drawer", scene=scene)
    sim.set_joint("drawer", start.drawer + 0.15)
    sim.forward()
    opened = sim.snapshot()
    assert TASKS["open_drawer"].check(start, opened)
    assert not TASKS["close_drawer"].check(start, opened)
    assert _fired(start, opened) == {"open_drawer"}

    sim, start = _start(env, SymbolicState(drawer="open"), task="close_drawer", scene=scene)
    sim.set_joint("drawer", start.drawer - 0.15)
    sim.forward()
    closed = sim.snapshot()
    assert TASKS["close_drawer"].check(start, closed)
    assert not TASKS["open_drawer"].check(start, closed)
    # not far enough (CALVIN: 12 cm)
    sim.set_joint("drawer", start.drawer - 0.08)
    sim.forward()
    assert not TASKS["close_drawer"].check(start, sim.snapshot())


@pytest.mark.parametrize("scene", SCENE_NAMES)
def test_slider(env, scene):
    sim, start = _start(env, SymbolicState(slider="right"), task="move_slider_left", scene=scene)
    sim.set_joint("slider", start.slider + 0.2)
    sim.forward()
    now = sim.snapshot()
    assert TASKS["move_slider_left"].check(start, now)
    assert not TASKS["move_slider_right"].check(start, now)
    assert _fired(start, now) == {"move_slider_left"}
    sim.set_joint("slider", start.slider + 0.1)  # not far enough (CALVIN: 15 cm)
    sim.forward()
    assert not TASKS["move_slider_left"].check(start, sim.snapshot())

    sim, start = _start(env, SymbolicState(slider="left"), task="move_slider_right", scene=scene)
    sim.set_joint("slider", start.slider - 0.2)
    sim.forward()
    now = sim.snapshot()
    assert TASKS["move_slider_right"].check(start, now)
    assert not TASKS["move_slider_left"].check(start, now)


# --- lights ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scene", ["A", "D"])
def test_led_toggles_on_press(env, scene):
    sim, start = _start(env, SymbolicState(led=0), task="turn_on_led", scene=scene)
    sim.set_joint("button", BUTTON_PRESSED + 0.004)
    now = _after_step(sim)
    assert now.led == 1
    assert TASKS["turn_on_led"].check(start, now)
    assert not TASKS["turn_off_led"].check(start, now)
    assert _fired(start, now) == {"turn_on_led"}
    # holding the button in does not toggle it again; releasing and pressing again does
    now = _after_step(sim, 200)
    assert now.button < BUTTON_PRESSED and now.led == 1
    sim.set_joint("button", BUTTON_PRESSED + 0.004)
    again = _after_step(sim)
    assert again.led == 0
    assert TASKS["turn_off_led"].check(now, again)


@pytest.mark.parametrize("scene", ["A", "D"])
def test_led_turn_off(env, scene):
    sim, start = _start(env, SymbolicState(led=1), task="turn_off_led", scene=scene)
    assert start.led == 1
    # a press that does not pass the threshold does nothing
    sim.set_joint("button", BUTTON_PRESSED * 0.5)
    assert _after_step(sim).led == 1
    sim.set_joint("button", BUTTON_PRESSED + 0.004)
    now = _after_step(sim)
    assert now.led == 0
    assert TASKS["turn_off_led"].check(start, now)
    assert not TASKS["turn_on_led"].check(start, now)


@pytest.mark.parametrize("scene", ["A", "D"])
def test_lightbulb_follows_switch(env, scene):
    sim, start = _start(env, SymbolicState(lightbulb=0), task="turn_on_lightbulb", scene=scene)
    sim.set_joint("switch", (SWITCH_ON + SWITCH_OFF) / 2)  # between the thresholds: no change
    assert _after_step(sim).lightbulb == 0
    sim.set_joint("switch", SWITCH_ON + 0.02)
    on = _after_step(sim)
    assert on.lightbulb == 1
    assert TASKS["turn_on_lightbulb"].check(start, on)
    assert not TASKS["turn_off_lightbulb"].check(start, on)
    assert _fired(start, on) == {"turn_on_lightbulb"}
    sim.set_joint("switch", (SWITCH_ON + SWITCH_OFF) / 2)  # hysteresis: stays on
    assert _after_step(sim).lightbulb == 1
    sim.set_joint("switch", SWITCH_OFF - 0.02)
    off = _after_step(sim)
    assert TASKS["turn_off_lightbulb"].check(on, off)
    assert not TASKS["turn_on_lightbulb"].check(on, off)

    sim, start = _start(env, SymbolicState(lightbulb=1), task="turn_off_lightbulb", scene=scene)
    assert start.lightbulb == 1
    sim.set_joint("switch", 0.0)
    now = _after_step(sim)
    assert TASKS["turn_off_lightbulb"].check(start, now)


# --- blocks on the desk ---------------------------------------------------------------------
def _yaw(mat):
    return float(np.arctan2(mat[1, 0], mat[0, 0]))


def _turn_block(sim, colour, degrees, lift=0.0):
    pos, mat = sim.block_pose(colour)
    sim.set_block_pose(colour, pos + [0, 0, lift], yaw_to_quat(_yaw(mat) + np.deg2rad(degrees)))
    sim.forward()
    return sim.snapshot()


@pytest.mark.parametrize("scene", ["A", "D"])
@pytest.mark.parametrize(
    ("degrees", "left", "right"),
    [(70, True, False), (-70, False, True), (30, False, False), (-30, False, False), (0, False, False)],
)
def test_rotate(env, scene, degrees, left, right):
    sim, start = _start(env, task="rotate_red_block_left", scene=scene)
    now = _turn_block(sim, "red", degrees)
    assert TASKS["rotate_red_block_left"].check(start, now) is left
    assert TASKS["rotate_red_block_right"].check(start, now) is right
    for other in ("blue", "pink"):
        assert not TASKS[f"rotate_{other}_block_left"].check(start, now)
        assert not TASKS[f"rotate_{other}_block_right"].check(start, now)


def test_rotate_needs_the_block_upright_on_the_table(env):
    sim, start = _start(env, task="rotate_red_block_left")
    # turned enough, but floating above the desk
    assert not TASKS["rotate_red_block_left"].check(start, _turn_block(sim, "red", 70, lift=0.1))
    # turned enough, but tipped over by 45 degrees
    sim, start = _start(env, task="rotate_red_block_left")
    pos, mat = sim.block_pose("red")
    tilted = euler_to_mat([np.deg2rad(45), 0.0, _yaw(mat) + np.deg2rad(70)])
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, tilted.reshape(-1))
    sim.set_block_pose("red", pos, quat)
    sim.forward()
    assert not TASKS["rotate_red_block_left"].check(start, sim.snapshot())


def _shift_block(sim, colour, dx, dz=0.0):
    pos, mat = sim.block_pose(colour)
    sim.set_block_pose(colour, pos + [dx, 0, dz], yaw_to_quat(_yaw(mat)))
    sim.forward()
    return sim.snapshot()


@pytest.mark.parametrize("scene", ["A", "D"])
@pytest.mark.parametrize(
    ("dx", "right", "left"), [(0.12, True, False), (-0.12, False, True), (0.05, False, False), (-0.05, False, False)]
)
def test_push(env, scene, dx, right, left):
    sim, start = _start(env, task="push_blue_block_right", scene=scene)
    now = _shift_block(sim, "blue", dx)
    assert TASKS["push_blue_block_right"].check(start, now) is right
    assert TASKS["push_blue_block_left"].check(start, now) is left
    assert not TASKS["push_red_block_right"].check(start, now)
    assert not TASKS["push_red_block_left"].check(start, now)


def test_push_needs_the_block_on_the_table(env):
    sim, start = _start(env, task="push_blue_block_right")
    assert not TASKS["push_blue_block_right"].check(start, _shift_block(sim, "blue", 0.12, dz=0.1))


# --- lift, place, stack, unstack, push into drawer ------------------------------------------
def test_lift_needs_the_gripper(env):
    sim, start = _start(env, task="lift_pink_block_table")
    assert "table" in start.touching["pink"]
    now = _shift_block(sim, "pink", 0.0, dz=0.1)  # floating, nobody holds it
    assert not now.touching["pink"]
    assert not TASKS["lift_pink_block_table"].check(start, now)
    assert not _fired(start, now)


@pytest.mark.parametrize("scene", ["A", "D"])
def test_lift_from_the_table(env, scene):
    # the same desk layout (same seed) with the red block on the desk, then in the gripper
    _, start = _start(env, SymbolicState(), task="lift_red_block_table", scene=scene, seed=4)
    sim, now = _start(env, SymbolicState(red="grasped"), task="place_in_slider", scene=scene, seed=4)
    assert start.resting_on("red", "table") and now.held("red")
    assert now.block_pos["red"][2] - start.block_pos["red"][2] > 0.05
    assert TASKS["lift_red_block_table"].check(start, now)
    assert not TASKS["lift_red_block_drawer"].check(start, now)
    assert not TASKS["lift_blue_block_table"].check(start, now)
    # a block that starts in the gripper was not lifted from the table
    assert not TASKS["lift_red_block_table"].check(now, now)


def test_lift_from_the_drawer(env):
    _, start = _start(env, SymbolicState(red="drawer", drawer="open"), task="lift_red_block_drawer")
    _, now = _start(env, SymbolicState(red="grasped", drawer="open"), task="place_in_drawer")
    assert TASKS["lift_red_block_drawer"].check(start, now)
    assert not TASKS["lift_red_block_table"].check(start, now)


@pytest.mark.parametrize("scene", ["A", "D"])
def test_place_in_drawer_and_slider(env, scene):
    _, held = _start(env, SymbolicState(blue="grasped", drawer="open"), task="place_in_drawer", scene=scene)
    _, in_drawer = _start(env, SymbolicState(blue="drawer", drawer="open"), task="close_drawer", scene=scene)
    assert TASKS["place_in_drawer"].check(held, in_drawer)
    assert not TASKS["place_in_slider"].check(held, in_drawer)
    _, in_slider = _start(env, SymbolicState(blue="slider_left"), task="open_drawer", scene=scene)
    assert TASKS["place_in_slider"].check(held, in_slider)
    assert not TASKS["place_in_drawer"].check(held, in_slider)
    # a block that was not held was not placed
    _, on_table = _start(env, SymbolicState(drawer="open"), task="close_drawer", scene=scene)
    assert not TASKS["place_in_drawer"].check(on_table, in_drawer)


def test_stack_and_unstack(env):
    _, held = _start(env, SymbolicState(red="grasped"), task="stack_block")
    _, stacked = _start(env, SymbolicState(red="on_blue"), task="unstack_block")
    _, apart = _start(env, SymbolicState(), task="open_drawer")
    assert TASKS["stack_block"].check(held, stacked)
    assert not TASKS["unstack_block"].check(held, stacked)
    assert TASKS["unstack_block"].check(stacked, apart)
    assert not TASKS["stack_block"].check(stacked, apart)
    assert not TASKS["stack_block"].check(stacked, stacked)  # an existing stack is not a new one


def test_push_into_drawer(env):
    _, start = _start(env, SymbolicState(drawer="open"), task="close_drawer")
    _, now = _start(env, SymbolicState(pink="drawer", drawer="open"), task="close_drawer")
    assert TASKS["push_into_drawer"].check(start, now)
    # a block carried into the drawer in the gripper was placed, not pushed
    _, held = _start(env, SymbolicState(pink="grasped", drawer="open"), task="place_in_drawer")
    assert not TASKS["push_into_drawer"].check(held, now)


# --- preconditions and the symbolic state ---------------------------------------------------
def test_preconditions():
    pre = {name: task.precondition for name, task in TASKS.items()}
    assert pre["lift_red_block_drawer"](SymbolicState(red="drawer", drawer="open"))
    assert not pre["lift_red_block_drawer"](SymbolicState(red="drawer", drawer="closed"))
    assert not pre["lift_red_block_drawer"](SymbolicState(red="table", drawer="open"))
    # the door covers the compartment on its own side
    assert pre["lift_blue_block_slider"](SymbolicState(blue="slider_left", slider="right"))
    assert not pre["lift_blue_block_slider"](SymbolicState(blue="slider_left", slider="left"))
    assert pre["open_drawer"](SymbolicState(drawer="closed"))
    assert not pre["open_drawer"](SymbolicState(drawer="open"))
    assert not pre["open_drawer"](SymbolicState(red="grasped"))  # hands full
    assert pre["move_slider_left"](SymbolicState(slider="right"))
    assert not pre["move_slider_left"](SymbolicState(slider="left"))
    assert pre["turn_on_led"](SymbolicState(led=0)) and not pre["turn_on_led"](SymbolicState(led=1))
    assert pre["turn_off_lightbulb"](SymbolicState(lightbulb=1))
    assert not pre["turn_off_lightbulb"](SymbolicState(lightbulb=0))
    assert pre["stack_block"](SymbolicState(pink="grasped"))
    assert not pre["stack_block"](SymbolicState())
    assert not pre["unstack_block"](SymbolicState())
    assert pre["unstack_block"](SymbolicState(red="on_blue"))
    assert not pre["rotate_blue_block_left"](SymbolicState(red="on_blue"))  # something on top
    assert pre["place_in_drawer"](SymbolicState(red="grasped", drawer="open"))
    assert not pre["place_in_drawer"](SymbolicState(red="grasped", drawer="closed"))
    assert not pre["place_in_slider"](SymbolicState(red="grasped", blue="slider_left", slider="right"))
    assert pre["push_into_drawer"](SymbolicState(drawer="open"))
    assert not pre["push_into_drawer"](SymbolicState(drawer="closed"))


def test_every_task_has_initial_states():
    states = [sample_symbolic_state(np.random.default_rng(i)) for i in range(3000)]
    assert all(s.is_valid() for s in states)
    missing = [name for name, task in TASKS.items() if not any(task.precondition(s) for s in states)]
    assert not missing, f"no sampled initial state allows {missing}"
    assert len(TASKS) == 34


CLASSIFY_CASES = [
    (SymbolicState(), "turn_on_led"),
    (
        SymbolicState(slider="left", drawer="open", lightbulb=1, led=1, red="drawer", blue="slider_right"),
        "turn_off_led",
    ),
    (SymbolicState(red="on_pink", blue="grasped", drawer="open"), "place_in_drawer"),
    (SymbolicState(pink="slider_left", blue="drawer", red="drawer", drawer="open"), "lift_red_block_drawer"),
    (SymbolicState(blue="on_red", slider="left"), "unstack_block"),
]


@pytest.mark.parametrize(("state", "task"), CLASSIFY_CASES)
@pytest.mark.parametrize("scene", SCENE_NAMES)
def test_realized_state_matches_symbolic(env, state, task, scene):
    assert TASKS[task].precondition(state)
    _, info = reset(env, 1, task=task, scene=scene, initial_state=state)
    assert info["initial_state"] == state.as_dict()
    assert classify(env.sim.snapshot(), env.sim) == state
