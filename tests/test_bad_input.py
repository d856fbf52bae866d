"""Bad input gets a clear error, never a crash deep inside MuJoCo."""

import numpy as np
import pytest
from conftest import reset

from envs.errors import TaskPreconditionError
from envs.tabletop.env import TabletopEnv
from envs.tabletop.state import SymbolicState


@pytest.mark.parametrize("shape", [(6,), (8,), (1, 7), (7, 1), ()])
def test_wrong_action_shape(env, shape):
    reset(env, 0, task="open_drawer")
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("index", [0, 3, 6])
def test_non_finite_action(env, bad, index):
    reset(env, 0, task="open_drawer")
    action = np.zeros(7)
    action[index] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(action)


def test_env_survives_bad_input(env):
    reset(env, 0, task="turn_on_led")
    before = env.sim.robot_obs()
    with pytest.raises(ValueError):
        env.step(np.full(7, np.nan))
    with pytest.raises(ValueError):
        env.step(np.zeros(6))
    # a refused action changes nothing
    np.testing.assert_array_equal(env.sim.robot_obs(), before)
    obs, *_ = env.step(np.zeros(7))
    assert np.all(np.isfinite(obs["robot_obs"])) and np.all(np.isfinite(obs["scene_obs"]))


def test_unknown_task_suggests_close_match(env):
    with pytest.raises(ValueError, match="open_drawer"):
        reset(env, 0, task="open_drawr")
    with pytest.raises(ValueError, match="open_drawer"):
        TabletopEnv(task="open_drawr", cameras=())


def test_unknown_scene(env):
    with pytest.raises(ValueError, match="unknown scene 'E'"):
        reset(env, 0, scene="E", task="open_drawer")
    with pytest.raises(ValueError, match="unknown scene 'E'"):
        TabletopEnv(scene="E", cameras=())


def test_unknown_camera_and_action_mode():
    with pytest.raises(ValueError, match="camera"):
        TabletopEnv(cameras=("top",))
    with pytest.raises(ValueError, match="action_mode"):
        TabletopEnv(cameras=(), action_mode="rel")


def test_precondition_refused(env):
    with pytest.raises(TaskPreconditionError, match="close_drawer"):
        reset(env, 0, task="close_drawer", initial_state=SymbolicState(drawer="closed"))
    with pytest.raises(TaskPreconditionError):
        reset(env, 0, task="lift_red_block_drawer", initial_state=SymbolicState())
    # the precondition is checked for a dict initial_state too
    with pytest.raises(TaskPreconditionError):
        reset(env, 0, task="open_drawer", initial_state={"drawer": "open"})
    # TaskPreconditionError is a ValueError: callers catching bad input catch it
    assert issubclass(TaskPreconditionError, ValueError)


def test_invalid_symbolic_state_values():
    with pytest.raises(ValueError, match="slider"):
        SymbolicState(slider="middle")
    with pytest.raises(ValueError, match="red block location"):
        SymbolicState(red="floor")
    with pytest.raises(ValueError, match="red block location"):
        SymbolicState(red="on_red")


def test_impossible_symbolic_state_is_refused_up_front(env):
    # two blocks in the gripper: SymbolicState.is_valid() is False. This should be a clear
    # ValueError at once, not a retry loop ending in a RuntimeError about sampling
    state = SymbolicState(red="grasped", blue="grasped", drawer="open")
    assert not state.is_valid()
    with pytest.raises(ValueError):
        reset(env, 0, task="place_in_drawer", initial_state=state)


def test_step_before_reset():
    with pytest.raises(RuntimeError, match="reset"):
        TabletopEnv(cameras=()).step(np.zeros(7))


def test_render_before_reset():
    with pytest.raises(RuntimeError, match="reset"):
        TabletopEnv(cameras=(), render_mode="rgb_array").render()


def test_unknown_reset_option(env):
    with pytest.raises(ValueError, match="unknown reset options"):
        reset(env, 0, tsk="open_drawer")


@pytest.mark.parametrize("resolution", [{"statc": 64}, {"static": 0}, {"gripper": -5}])
def test_bad_resolution_refused_at_construction(resolution):
    # a typo in a camera name, or a non-positive size, must not be silently accepted
    with pytest.raises(ValueError):
        TabletopEnv(resolution=resolution)


def test_unknown_instruction_split_refused_at_construction():
    # like every other argument, the split is checked when the env is made; otherwise a typo
    # goes unnoticed whenever the instruction is passed explicitly
    with pytest.raises(ValueError, match="split"):
        TabletopEnv(cameras=(), instruction_split="test")


def test_cli_reports_bad_task(capsys, tmp_path):
    from gr_bench.cli import main

    assert main(["play", "--task", "opn_drawer", "--out", str(tmp_path / "x.mp4")]) == 2
    assert "open_drawer" in capsys.readouterr().err
