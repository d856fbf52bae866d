"""The ByteMini cloth family's descriptor: the cloth table's garments and tasks, with both arms.

It shares everything but the robot with the Panda cloth family (``envs.cloth``): garments, tasks
and their scoring, language, axes. A family has one robot layout, so ByteMini's cloth table is a
family of its own (robot ``bytemini``: GR-3's ByteMini adapter drives it, as the tidying room).
Its tracks (``tracks.py``) are the Panda cloth table's, with ByteMini's env, from suites v6.
"""

from __future__ import annotations

from envs.cloth.family import CLOTH
from envs.family import Family, lazy
from envs.tidy.family import TIDY

# the environment's docstring documents the layouts (robot_obs 39 as the tidying room's, scene_obs 1202)
CLOTH_BYTEMINI = Family(
    id="cloth_bytemini",
    env_id="GRBench/ClothByteMini-v0",
    entry_point="envs.cloth_bytemini.env:ClothByteMiniEnv",
    max_episode_steps=None,
    description=(
        "deformable cloth (MuJoCo flex), ByteMini with both arms: flatten, fold and hang the cloth table's garments"
    ),
    robot="bytemini",
    cameras=TIDY.cameras,
    robot_obs_names=TIDY.robot_obs_names,
    scene_obs_names=CLOTH.scene_obs_names,
    action_layout=TIDY.action_layout,
    expert="envs.cloth_bytemini.expert:ClothByteMiniExpert",
    default_task="flatten",
    scenes=CLOTH.scenes,
    training_scenes=CLOTH.training_scenes,
    tasks=CLOTH.tasks,
    instructions=CLOTH.instructions,
    invalid_training_requests=CLOTH.invalid_training_requests,
    axes=CLOTH.axes,
    scene_axes=CLOTH.scene_axes,
    measures_progress=True,
    tracks=lazy("envs.cloth_bytemini.tracks:tracks"),
    max_task_steps=CLOTH.max_task_steps,
)
