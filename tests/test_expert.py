"""The scripted expert proves tasks solvable. A sample runs by default; `-m slow` runs all."""

import pytest

from envs.tabletop.expert import ScriptedExpert
from envs.tabletop.tasks import TASKS

SAMPLE = [
    ("open_drawer", "A"),
    ("close_drawer", "B"),
    ("move_slider_left", "A"),
    ("turn_on_led", "C"),
    ("turn_off_lightbulb", "A"),
    ("lift_blue_block_table", "A"),
    ("push_red_block_left", "B"),
    ("place_in_drawer", "A"),
    ("stack_block", "C"),
    ("lift_pink_block_slider", "D"),
    ("rotate_red_block_right", "A"),
    ("unstack_block", "A"),
    ("push_into_drawer", "B"),
    ("lift_red_block_drawer", "D"),
]


def _solve(env, task, scene, seed):
    obs, info = env.reset(seed=seed, options={"task": task, "scene": scene})
    expert = ScriptedExpert(env)
    expert.reset(obs["instruction"])
    for _ in range(360):
        obs, _, terminated, _, info = env.step(expert.act(obs))
        if terminated:
            break
    return info["success"]


@pytest.mark.parametrize(("task", "scene"), SAMPLE)
def test_expert_sample(env, task, scene):
    assert _solve(env, task, scene, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("scene", "ABCD")
@pytest.mark.parametrize("task", sorted(TASKS))
def test_expert_everywhere(env, task, scene):
    # at least 9 of 10 seeds: the 95% target is checked over 50 seeds by scripts/expert_table.py
    assert sum(_solve(env, task, scene, seed) for seed in range(10)) >= 9
