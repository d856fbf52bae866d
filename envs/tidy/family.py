"""The tidying room's descriptor: ByteMini (GR-3's bimanual mobile robot) clears a table by request."""

from __future__ import annotations

from envs.family import Camera, Family, lazy
from envs.tabletop.family import POSE


def request_categories() -> dict[str, str]:
    """Example requests of every category (requests are parsed: any composition is a task)."""
    from envs.tidy.tasks import CATEGORIES, tasks_in_category

    return {task: category for category in CATEGORIES for task in tasks_in_category(category)}


def invalid_training_requests() -> tuple[str, ...]:
    from envs.tidy.language import instructions
    from envs.tidy.tasks import tasks_in_category

    return tuple(p for task in tasks_in_category("invalid") for p in instructions(task, "train"))


def axes():
    from envs.tidy.variations import AXES

    return AXES


def max_task_steps() -> int:
    from envs.tidy.env import INVALID_STEPS, STEPS_BASE, STEPS_PER_OBJECT
    from envs.tidy.sim import MAX_OBJECTS

    return max(INVALID_STEPS, STEPS_BASE + STEPS_PER_OBJECT * MAX_OBJECTS)


# the environment's docstring documents both layouts (robot_obs 39, scene_obs 84)
TIDY = Family(
    id="tidy",
    env_id="GRBench/Tidy-v0",
    entry_point="envs.tidy.env:TidyEnv",
    max_episode_steps=None,
    description="table tidying with ByteMini: requests to put objects in a tub, a bin or on a tray",
    robot="bytemini",
    cameras=(
        Camera("head", "size", 224, 1.0),
        Camera("left_wrist", "gripper_size", 128, 0.57),
        Camera("right_wrist", "gripper_size", 128, 0.57),
    ),
    robot_obs_names=(
        *("base_x", "base_y", "base_yaw", "base_forward_speed", "base_left_speed", "base_yaw_rate"),
        *("lift", "head_pan", "head_tilt"),
        *(f"{side}_joint_{i}" for side in ("left", "right") for i in range(1, 8)),
        *("left_gripper_width", "right_gripper_width"),
        *(f"{side}_tcp_{q}" for side in ("left", "right") for q in POSE),
        *("left_gripper_action", "right_gripper_action"),
    ),
    scene_obs_names=(
        *(f"{box}_{q}" for box in ("tub", "bin", "tray") for q in ("out", "x", "y", "z")),
        *(
            f"object_{i}_{q}"
            for i in range(9)
            for q in ("present", "kind", "com_x", "com_y", "com_z", "euler_x", "euler_y", "euler_z")
        ),
    ),
    action_layout=(("base_velocity", 3), ("left_arm_joints", 7), ("right_arm_joints", 7), ("grippers", 2)),
    expert="envs.tidy.expert:TidyExpert",
    default_task="clear_table",
    scenes=("A", "B"),
    training_scenes=("A", "B"),
    tasks=request_categories,
    closed_tasks=False,
    instructions=lazy("envs.tidy.language:instructions"),
    invalid_training_requests=invalid_training_requests,
    axes=axes,
    measures_progress=True,
    tracks=lazy("envs.tidy.tracks:tracks"),
    max_task_steps=max_task_steps,
)
