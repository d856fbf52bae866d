"""The tabletop family's descriptor: CALVIN's play table with a Franka Panda, 34 tasks, scenes A-D."""

from __future__ import annotations

from envs.family import Camera, Family, lazy

POSE = ("x", "y", "z", "euler_x", "euler_y", "euler_z")


def task_categories() -> dict[str, str]:
    from envs.tabletop.tasks import TASKS

    return {name: task.category for name, task in TASKS.items()}


def axes():
    from envs.tabletop.variations import AXES

    return AXES


TABLETOP = Family(
    id="tabletop",
    env_id="GRBench/Tabletop-v0",
    entry_point="envs.tabletop.env:TabletopEnv",
    max_episode_steps=360,
    description="CALVIN-style play table, Franka Panda: 34 language-conditioned tasks, scenes A-C, held-out D",
    robot="franka_panda",
    cameras=(Camera("static", "size", 200, 1.0), Camera("gripper", "gripper_size", 84, 0.42)),
    robot_obs_names=(
        *("tcp_x", "tcp_y", "tcp_z", "tcp_euler_x", "tcp_euler_y", "tcp_euler_z", "gripper_width"),
        *(f"joint_{i}" for i in range(1, 8)),
        "gripper_action",
    ),
    scene_obs_names=(
        *("slider", "drawer", "button", "switch", "lightbulb", "led"),
        *(f"{c}_{q}" for c in ("red", "blue", "pink") for q in POSE),
    ),
    action_layout=(("tcp_xyz", 3), ("tcp_euler_xyz", 3), ("gripper", 1)),
    expert="envs.tabletop.expert:ScriptedExpert",
    default_task="open_drawer",
    scenes=("A", "B", "C", "D"),
    training_scenes=("A", "B", "C"),
    tasks=task_categories,
    instructions=lazy("envs.tabletop.language:instructions"),
    invalid_training_requests=lazy("envs.tabletop.language_ood:invalid_training_instructions"),
    axes=axes,
    tracks=lazy("envs.tabletop.tracks:tracks"),
    scene_axes=("layout",),
    scene_questions=lazy("envs.tabletop.vqa:scene_questions"),
)
