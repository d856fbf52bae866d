"""Bad input gets a clear error, never a crash deep inside MuJoCo."""

import numpy as np
import pytest

from envs.errors import TaskPreconditionError
from envs.tabletop.env import TabletopEnv
from envs.tabletop.state import SymbolicState


@pytest.mark.parametrize("shape", [(6,), (8,), (1, 7), ()])
def test_wrong_action_shape(env, shape):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action(env, bad):
    env.reset(seed=0)
    action = np.zeros(7)
    action[2] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(action)


def test_unknown_task_suggests_close_match(env):
    with pytest.raises(ValueError, match="open_drawer"):
        env.reset(seed=0, options={"task": "open_drawr"})
    with pytest.raises(ValueError, match="open_drawer"):
        TabletopEnv(task="open_drawr")


def test_unknown_scene(env):
    with pytest.raises(ValueError, match="unknown scene 'E'"):
        env.reset(seed=0, options={"scene": "E"})


def test_precondition_refused(env):
    with pytest.raises(TaskPreconditionError, match="close_drawer"):
        env.reset(seed=0, options={"task": "close_drawer", "initial_state": SymbolicState(drawer="closed")})
    with pytest.raises(TaskPreconditionError):
        env.reset(seed=0, options={"task": "lift_red_block_drawer", "initial_state": SymbolicState()})


def test_invalid_symbolic_state():
    with pytest.raises(ValueError, match="slider"):
        SymbolicState(slider="middle")
    with pytest.raises(ValueError, match="red block location"):
        SymbolicState(red="floor")


def test_step_before_reset():
    with pytest.raises(RuntimeError, match="reset"):
        TabletopEnv(cameras=()).step(np.zeros(7))


def test_unknown_reset_option(env):
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"tsk": "open_drawer"})


def test_env_survives_bad_input(env):
    env.reset(seed=0, options={"task": "turn_on_led"})
    with pytest.raises(ValueError):
        env.step(np.full(7, np.nan))
    obs, *_ = env.step(np.zeros(7))
    assert np.all(np.isfinite(obs["robot_obs"]))


def test_cli_reports_bad_task(capsys):
    from gr_bench.cli import main

    assert main(["play", "--task", "opn_drawer", "--out", "x.mp4"]) == 2
    assert "open_drawer" in capsys.readouterr().err
