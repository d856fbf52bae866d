"""Success oracles fire when simulator state says the task is done, and only then."""

import numpy as np
import pytest

from envs.tabletop.sim import BUTTON_PRESSED
from envs.tabletop.state import SymbolicState, classify, sample_symbolic_state
from envs.tabletop.tasks import TASKS
from envs.utils.rotations import yaw_to_quat


def _start(env, state=None, task="open_drawer", scene="A"):
    state = state or SymbolicState()
    env.reset(seed=0, options={"task": task, "scene": scene, "initial_state": state, "instruction": "x"})
    return env.sim, env.sim.snapshot()


def _settle(sim, substeps=1):
    sim.step(substeps)  # the lights' logic runs after every call
    return sim.snapshot()


def test_drawer(env):
    sim, start = _start(env)
    assert not TASKS["open_drawer"].check(start, start)
    sim.set_joint("drawer", start.drawer + 0.15)
    sim.forward()
    now = sim.snapshot()
    assert TASKS["open_drawer"].check(start, now)
    assert not TASKS["close_drawer"].check(start, now)
    assert TASKS["close_drawer"].check(now, start)


def test_slider(env):
    sim, start = _start(env, SymbolicState(slider="right"), task="move_slider_left")
    sim.set_joint("slider", start.slider + 0.2)
    sim.forward()
    now = sim.snapshot()
    assert TASKS["move_slider_left"].check(start, now)
    assert not TASKS["move_slider_right"].check(start, now)
    sim.set_joint("slider", start.slider + 0.1)  # not far enough
    sim.forward()
    assert not TASKS["move_slider_left"].check(start, sim.snapshot())


def test_led_toggles_on_press(env):
    sim, start = _start(env, SymbolicState(led=0), task="turn_on_led")
    sim.set_joint("button", BUTTON_PRESSED + 0.004)
    now = _settle(sim)
    assert now.led == 1
    assert TASKS["turn_on_led"].check(start, now)
    assert not TASKS["turn_off_led"].check(start, now)
    # holding the button in does not toggle it again; releasing and pressing again does
    now = _settle(sim, 200)
    assert now.button < BUTTON_PRESSED and now.led == 1
    sim.set_joint("button", BUTTON_PRESSED + 0.004)
    assert _settle(sim).led == 0


def test_lightbulb_follows_switch(env):
    sim, start = _start(env, SymbolicState(lightbulb=0), task="turn_on_lightbulb")
    sim.set_joint("switch", 0.04)  # between the thresholds: no change
    assert _settle(sim).lightbulb == 0
    sim.set_joint("switch", 0.07)
    now = _settle(sim)
    assert TASKS["turn_on_lightbulb"].check(start, now) and not TASKS["turn_off_lightbulb"].check(start, now)
    sim.set_joint("switch", 0.01)
    assert TASKS["turn_off_lightbulb"].check(now, _settle(sim))


def _turn_block(sim, colour, degrees):
    pos, mat = sim.block_pose(colour)
    yaw = np.arctan2(mat[1, 0], mat[0, 0]) + np.deg2rad(degrees)
    sim.set_block_pose(colour, pos, yaw_to_quat(yaw))
    sim.forward()
    return sim.snapshot()


@pytest.mark.parametrize(
    ("degrees", "left", "right"), [(70, True, False), (-70, False, True), (30, False, False), (-30, False, False)]
)
def test_rotate(env, degrees, left, right):
    sim, start = _start(env, task="rotate_red_block_left")
    now = _turn_block(sim, "red", degrees)
    assert TASKS["rotate_red_block_left"].check(start, now) is left
    assert TASKS["rotate_red_block_right"].check(start, now) is right
    assert not TASKS["rotate_blue_block_left"].check(start, now)


@pytest.mark.parametrize(("dx", "right", "left"), [(0.12, True, False), (-0.12, False, True), (0.05, False, False)])
def test_push(env, dx, right, left):
    sim, start = _start(env, task="push_blue_block_right")
    pos, mat = sim.block_pose("blue")
    sim.set_block_pose("blue", pos + [dx, 0, 0], yaw_to_quat(np.arctan2(mat[1, 0], mat[0, 0])))
    sim.forward()
    now = sim.snapshot()
    assert TASKS["push_blue_block_right"].check(start, now) is right
    assert TASKS["push_blue_block_left"].check(start, now) is left


def test_lift_needs_the_gripper(env):
    sim, start = _start(env, task="lift_pink_block_table")
    pos, _ = sim.block_pose("pink")
    sim.set_block_pose("pink", pos + [0, 0, 0.1], yaw_to_quat(0.0))  # floating, nobody holds it
    sim.forward()
    assert not TASKS["lift_pink_block_table"].check(start, sim.snapshot())


def test_lift_from_a_held_start(env):
    sim, _ = _start(env, SymbolicState(red="grasped"), task="place_in_slider")
    now = sim.snapshot()
    assert now.held("red")
    # a block that starts in the gripper was not lifted from the table
    assert not TASKS["lift_red_block_table"].check(now, now)


def test_preconditions():
    assert TASKS["lift_red_block_drawer"].precondition(SymbolicState(red="drawer", drawer="open"))
    assert not TASKS["lift_red_block_drawer"].precondition(SymbolicState(red="drawer", drawer="closed"))
    # the door covers the compartment on its own side
    assert TASKS["lift_blue_block_slider"].precondition(SymbolicState(blue="slider_left", slider="right"))
    assert not TASKS["lift_blue_block_slider"].precondition(SymbolicState(blue="slider_left", slider="left"))
    assert TASKS["stack_block"].precondition(SymbolicState(pink="grasped"))
    assert not TASKS["unstack_block"].precondition(SymbolicState())
    assert TASKS["unstack_block"].precondition(SymbolicState(red="on_blue"))
    assert not TASKS["rotate_blue_block_left"].precondition(SymbolicState(red="on_blue"))


def test_every_task_has_initial_states():
    rng = np.random.default_rng(0)
    states = [sample_symbolic_state(rng) for _ in range(3000)]
    for name, task in TASKS.items():
        assert sum(task.precondition(s) for s in states) >= 20, name


@pytest.mark.parametrize(
    "state",
    [
        SymbolicState(),
        SymbolicState(
            slider="left", drawer="open", lightbulb=1, led=1, red="drawer", blue="slider_right", pink="table"
        ),
        SymbolicState(red="on_pink", blue="grasped"),
    ],
)
@pytest.mark.parametrize("scene", ["A", "D"])
def test_realized_state_matches_symbolic(env, state, scene):
    task = "place_in_drawer" if state.grasped else "turn_on_led" if state.led == 0 else "turn_off_led"
    if state.grasped:
        state = SymbolicState(**{**state.as_dict(), "drawer": "open"})
    sim, _ = _start(env, state, task=task, scene=scene)
    assert classify(sim.snapshot(), sim) == state
