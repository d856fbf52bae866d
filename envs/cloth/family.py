"""The cloth family's descriptor: a garment on a table, flattened or folded by a Franka Panda."""

from __future__ import annotations

from envs.family import Camera, Family, lazy


def task_categories() -> dict[str, str]:
    from envs.cloth.tasks import TASKS

    return {name: task.category for name, task in TASKS.items()}


def instructions(task: str, split: str) -> tuple[str, ...]:
    """Phrasings of ``task`` for every garment (the env fills in the one on the table)."""
    from envs.cloth.garments import SHAPES
    from envs.cloth.language import instructions as phrasings

    return tuple(dict.fromkeys(p for shape in SHAPES for p in phrasings(task, split, shape)))


def axes():
    from envs.cloth.variations import AXES

    return AXES


def max_task_steps() -> int:
    """The longest budget a task can get: budgets grow with a garment larger than its scene's
    (``envs.cloth.env._budget``), up to the largest ``garment_size`` the environment takes."""
    import math

    from envs.cloth.tasks import TASKS
    from envs.cloth.variations import MAX_SCALE

    return math.ceil(max(task.steps for task in TASKS.values()) * MAX_SCALE)


# the environment's docstring documents the layouts (robot_obs 15 as the tabletop's, scene_obs 1202)
CLOTH = Family(
    id="cloth",
    env_id="GRBench/Cloth-v0",
    entry_point="envs.cloth.env:ClothEnv",
    max_episode_steps=None,
    description="deformable cloth (MuJoCo flex), Franka Panda: flatten and fold a square, a towel, a T-shirt",
    robot="franka_panda",
    cameras=(Camera("static", "size", 200, 1.0), Camera("gripper", "gripper_size", 84, 0.42)),
    robot_obs_names=(
        *("tcp_x", "tcp_y", "tcp_z", "tcp_euler_x", "tcp_euler_y", "tcp_euler_z", "gripper_width"),
        *(f"joint_{i}" for i in range(1, 8)),
        "gripper_action",
    ),
    scene_obs_names=(
        "garment_shape",
        "vertex_count",
        *(f"vertex_{i}_{q}" for i in range(400) for q in ("x", "y", "z")),
    ),
    action_layout=(("tcp_xyz", 3), ("tcp_euler_xyz", 3), ("gripper", 1)),
    expert="envs.cloth.expert:ClothExpert",
    default_task="flatten",
    scenes=("square", "towel", "tshirt"),
    training_scenes=("square", "towel"),
    tasks=task_categories,
    instructions=instructions,
    invalid_training_requests=lazy("envs.cloth.language:invalid_training_requests"),
    axes=axes,
    scene_axes=("garment_shape",),  # envs.cloth.variations.SCENE_AXIS
    measures_progress=True,
    tracks=lazy("envs.cloth.tracks:tracks"),
    max_task_steps=max_task_steps,
)
