"""Scenes A-D of the play table, as CALVIN's: they differ in desk texture and colour, in where the
drawer, sliding cabinet, button and switch stand, and in which colour gets which block size.

A scene is data; ``build_model`` applies it to ``play_table.xml`` through MuJoCo's model-editing
API and compiles it.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from envs.assets import asset_path
from envs.errors import unknown_name_error

BLOCK_COLOURS = ("red", "blue", "pink")
# half extents (x, y, z) in metres; every block is 4 cm across its y axis so the gripper
# (8 cm stroke) can grasp it across y whatever its size
BLOCK_SIZES = {
    "small": (0.02, 0.02, 0.02),
    "medium": (0.03, 0.02, 0.02),
    "large": (0.042, 0.02, 0.022),
}
CABINET_Y = 0.17  # metres, depth of the cabinet's centre
DRAWER_Y = 0.02  # metres, depth of the closed drawer's centre


@dataclass(frozen=True)
class Scene:
    name: str
    desk_rgb: tuple[float, float, float]
    desk_grain_rgb: tuple[float, float, float]
    cabinet_x: float  # metres
    drawer_x: float  # metres
    button_xy: tuple[float, float]  # metres
    switch_xy: tuple[float, float]  # metres
    block_size: dict[str, str]  # colour -> key of BLOCK_SIZES

    def half_extents(self, colour: str) -> tuple[float, float, float]:
        return BLOCK_SIZES[self.block_size[colour]]


SCENES: dict[str, Scene] = {
    "A": Scene(
        "A",
        (0.62, 0.44, 0.26),
        (0.48, 0.32, 0.18),
        -0.12,
        0.12,
        (-0.30, -0.05),
        (0.32, 0.02),
        {"red": "medium", "blue": "small", "pink": "large"},
    ),
    "B": Scene(
        "B",
        (0.36, 0.22, 0.13),
        (0.26, 0.15, 0.08),
        0.06,
        -0.12,
        (0.30, -0.05),
        (-0.32, 0.02),
        {"red": "small", "blue": "large", "pink": "medium"},
    ),
    "C": Scene(
        "C",
        (0.72, 0.70, 0.66),
        (0.60, 0.58, 0.55),
        0.03,
        0.10,
        (-0.22, -0.06),
        (-0.36, 0.02),
        {"red": "large", "blue": "medium", "pink": "small"},
    ),
    "D": Scene(
        "D",
        (0.45, 0.52, 0.60),
        (0.36, 0.42, 0.50),
        -0.10,
        -0.08,
        (0.22, -0.06),
        (0.36, 0.02),
        {"red": "medium", "blue": "large", "pink": "small"},
    ),
}
TRAINING_SCENES = ("A", "B", "C")  # CALVIN's ABC->D split holds D out


def get_scene(name: str) -> Scene:
    if name not in SCENES:
        raise unknown_name_error("scene", name, SCENES)
    return SCENES[name]


def build_model(scene: Scene) -> mujoco.MjModel:
    """Compile the play table laid out as ``scene``."""
    spec = mujoco.MjSpec.from_file(str(asset_path("play_table.xml")))
    texture = spec.texture("desk_tex")
    texture.rgb1 = list(scene.desk_rgb)
    texture.markrgb = list(scene.desk_grain_rgb)
    spec.material("cabinet").rgba = [*(min(1.0, c * 1.1) for c in scene.desk_rgb), 1.0]
    spec.body("cabinet").pos = [scene.cabinet_x, CABINET_Y, 0.0]
    spec.body("drawer").pos = [scene.drawer_x, DRAWER_Y, -0.1]
    spec.body("button_base").pos = [*scene.button_xy, 0.0]
    spec.body("switch_base").pos = [*scene.switch_xy, 0.0]
    for colour in BLOCK_COLOURS:
        spec.geom(f"block_{colour}").size = list(scene.half_extents(colour))
    return spec.compile()
