"""Scenes of the tidying room: where the dish tub, the rubbish bin and the tray stand, and the table's
colour. Scene B is scene A mirrored (tub on the robot's right, bin on its left).

A scene is data; ``build_model`` applies it to ``tidy_room.xml`` through MuJoCo's model-editing API,
adds every object of the catalogue (parked out of sight until an episode puts it on the table) and
every clutter item, and compiles the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from envs.assets import asset_path
from envs.errors import unknown_name_error
from envs.tidy.objects import CLUTTER, KINDS, Part

TABLE_TOP_Z = 0.74  # metres (tidy_room.xml)
TABLE_X = (0.15, 0.75)  # metres: the table's near and far edges
TABLE_HALF_Y = 0.8  # metres
OBJECT_X = (0.3, 0.54)  # metres: where object centres may start, within the arms' reach
PARKED_Z = -3.0  # metres: below the floor, out of every camera's sight
OBJECT_FRICTION = (1.0, 0.01, 0.001)  # sliding, torsional, rolling
ROLLING_FRICTION = (1.0, 0.01, 0.002)  # round things: enough rolling friction to stay put
# contacts stiffer than MuJoCo's default (time constant 10 ms, four timesteps, instead of 20 ms): a
# thin plate dropped into the bin stops on its floor instead of sinking through it; stiffer still
# (5 ms) lets an object squeezed by a flailing arm blow up now and then
OBJECT_SOLREF = (0.01, 1.0)


@dataclass(frozen=True)
class Destination:
    """An open container: what counts as inside it. Lengths in metres, heights from the floor."""

    name: str
    inner_half: tuple[float, float]  # half extents of the inside along x and y
    floor_z: float  # top of its floor
    rim_z: float  # top of its walls


# heights as placed on the table (tub, tray) or the floor (bin); see tidy_room.xml
DESTINATIONS = {
    "tub": Destination("tub", (0.16, 0.14), TABLE_TOP_Z + 0.01, TABLE_TOP_Z + 0.12),
    "bin": Destination("bin", (0.14, 0.14), 0.04, 0.62),
    "tray": Destination("tray", (0.13, 0.09), TABLE_TOP_Z + 0.008, TABLE_TOP_Z + 0.028),
}
BASE_OF = {"tub": TABLE_TOP_Z, "bin": 0.0, "tray": TABLE_TOP_Z}  # metres: what each one stands on


@dataclass(frozen=True)
class Scene:
    name: str
    table_rgb: tuple[float, float, float]
    table_grain_rgb: tuple[float, float, float]
    place: dict[str, tuple[float, float]]  # destination -> (x, y) of its centre, metres
    object_y: tuple[float, float]  # metres: where object centres may start along the table

    def destination_xy(self, name: str) -> np.ndarray:
        return np.array(self.place[name])


SCENES: dict[str, Scene] = {
    "A": Scene(
        "A",
        (0.74, 0.6, 0.42),
        (0.6, 0.47, 0.3),
        {"tub": (0.44, 0.6), "bin": (0.42, -1.0), "tray": (0.44, -0.68)},
        (-0.66, 0.38),
    ),
    "B": Scene(
        "B",
        (0.55, 0.56, 0.58),
        (0.45, 0.46, 0.48),
        {"tub": (0.44, -0.6), "bin": (0.42, 1.0), "tray": (0.44, 0.68)},
        (-0.38, 0.66),
    ),
}


def get_scene(name: str) -> Scene:
    if name not in SCENES:
        raise unknown_name_error("scene", name, SCENES)
    return SCENES[name]


def _add_part(body, name: str, part: Part, collides_class: dict) -> None:
    quat = np.empty(4)
    mujoco.mju_euler2Quat(quat, np.asarray(part.euler, dtype=float), "XYZ")
    size = list(part.size) + [0.0] * (3 - len(part.size))
    geom = body.add_geom(
        name=name,
        type=getattr(mujoco.mjtGeom, f"mjGEOM_{part.shape.upper()}"),
        size=size,
        pos=list(part.pos),
        quat=list(quat),
        rgba=list(part.rgba),
        group=1,
    )
    if part.collides:
        for key, value in collides_class.items():
            setattr(geom, key, value)
    else:
        geom.contype = geom.conaffinity = 0
        geom.mass = 0.0


def build_model(scene: Scene) -> mujoco.MjModel:
    """Compile the room laid out as ``scene``, with every object and clutter item parked."""
    spec = mujoco.MjSpec.from_file(str(asset_path("tidy_room.xml")))
    texture = spec.texture("table_tex")
    texture.rgb1 = list(scene.table_rgb)
    texture.markrgb = list(scene.table_grain_rgb)
    for name in ("tub", "bin"):
        spec.body(name).pos = [*scene.place[name], BASE_OF[name]]
    spec.body("tray").pos = [*scene.place["tray"], PARKED_Z]
    for i, kind in enumerate(KINDS.values()):
        body = spec.worldbody.add_body(name=f"obj_{kind.name}", pos=[-2.0 + 0.4 * i, 0.0, PARKED_Z])
        body.add_freejoint(name=f"obj_{kind.name}")
        body.gravcomp = 1.0  # parked objects float where they are, still
        friction = ROLLING_FRICTION if kind.rolls else OBJECT_FRICTION
        # parked: no contacts until an episode puts the object on the table (see TidySim.arrange)
        physics = {
            "contype": 0,
            "conaffinity": 0,
            "condim": 6 if kind.rolls else 4,
            "friction": list(friction),
            "solref": list(OBJECT_SOLREF),
        }
        collide_volume = sum(_volume(p) for p in kind.parts if p.collides)
        for j, part in enumerate(kind.parts):
            _add_part(body, f"obj_{kind.name}_{j}", part, physics)
            if part.collides:
                body.geoms[-1].mass = kind.mass * _volume(part) / collide_volume
    for i, clutter in enumerate(CLUTTER.values()):
        body = spec.worldbody.add_body(name=f"clutter_{clutter.name}", pos=[-2.0 + 0.4 * i, 1.0, PARKED_Z])
        for j, part in enumerate(clutter.parts):
            _add_part(body, f"clutter_{clutter.name}_{j}", part, {"contype": 1, "conaffinity": 1})
    return spec.compile()


def _volume(part: Part) -> float:
    s = part.size
    if part.shape == "box":
        return 8 * s[0] * s[1] * s[2]
    if part.shape == "cylinder":
        return 2 * np.pi * s[0] ** 2 * s[1]
    if part.shape == "sphere":
        return 4 / 3 * np.pi * s[0] ** 3
    if part.shape == "ellipsoid":
        return 4 / 3 * np.pi * s[0] * s[1] * s[2]
    # capsule
    return 2 * np.pi * s[0] ** 2 * s[1] + 4 / 3 * np.pi * s[0] ** 3
