"""The scripted expert proves tasks solvable. A sample runs by default; `-m slow` runs all."""

import pytest
from conftest import reset

from envs.tabletop.expert import ScriptedExpert
from envs.tabletop.scenes import SCENES
from envs.tabletop.tasks import TASKS

MAX_STEPS = 360
# one or more tasks of each kind: articulation, lights, lift, push, place, stack
SAMPLE_A = [
    "open_drawer",
    "move_slider_left",
    "turn_on_led",
    "turn_off_lightbulb",
    "lift_blue_block_table",
    "push_red_block_left",
    "place_in_drawer",
    "stack_block",
]
SAMPLE_D = ["lift_pink_block_slider", "rotate_red_block_right"]  # the held-out scene


def _solve(env, task, scene, seed):
    obs, info = reset(env, seed, task=task, scene=scene)
    assert info["task"] == task and info["scene"] == scene
    expert = ScriptedExpert(env)
    expert.reset(obs["instruction"])
    for _ in range(MAX_STEPS):
        obs, reward, terminated, truncated, info = env.step(expert.act(obs))
        assert reward == float(info["success"])
        if terminated or truncated:
            break
    return info["success"]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("task", SAMPLE_A)
def test_expert_scene_a(env, task, seed):
    assert _solve(env, task, "A", seed), f"expert failed {task} in scene A, seed {seed}"


@pytest.mark.parametrize("task", SAMPLE_D)
def test_expert_scene_d(env, task):
    assert _solve(env, task, "D", 0), f"expert failed {task} in scene D"


def test_expert_needs_a_reset_env():
    from envs.tabletop.env import TabletopEnv

    with pytest.raises(RuntimeError, match="reset"):
        ScriptedExpert(TabletopEnv(cameras=())).reset()


SWEEP_SEEDS = 5


@pytest.mark.slow
@pytest.mark.parametrize("scene", sorted(SCENES))
@pytest.mark.parametrize("task", sorted(TASKS))
def test_expert_everywhere(env, task, scene):
    # the expert's target is >= 95% per task and scene (scripts/expert_table.py measures it over 50
    # seeds); over 5 fixed seeds it may miss one, never two
    solved = sum(_solve(env, task, scene, seed) for seed in range(SWEEP_SEEDS))
    assert solved >= SWEEP_SEEDS - 1, f"expert solved {task} in scene {scene} {solved}/{SWEEP_SEEDS} times"
