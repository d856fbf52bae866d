"""Unseen-scene generalization axes: what varies in how the play table looks, the range that
training scenes cover, and the range that evaluation holds out.

A value is plain JSON (floats, lists, strings) because results files record it. ``apply`` puts a
cached simulator back as compiled and then applies the values, so an episode without variations is
exactly what it would be without this module. Only what the cameras see changes — sizes, masses
and contacts stay — so physics, oracles and the scripted expert are the same under every axis but
``layout``, which picks the held-out scene D.

    env.reset(seed=0, options={"variations": {"lighting": sample_variation("lighting", "unseen", rng)}})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mujoco
import numpy as np

from envs.errors import unknown_name_error
from envs.tabletop.scenes import BLOCK_COLOURS, CABINET_Y, SCENES, TRAINING_SCENES, Scene
from envs.tabletop.sim import PlayTableSim
from envs.utils.axes import (
    Axis,
    axis_named,
    check_params,
    check_rgb,
    check_vec3,
    checked_variations,
    hsv_range,
    json_floats,
    sample_colour,
    sample_table_colours,
    texture_bytes,
    uniform,
)

FLOOR_LIGHT_RGB = 0.85  # the floor checker's light squares (play_table.xml); the floor is tinted from it
BLOCK_RGB = {"red": [0.85, 0.12, 0.1], "blue": [0.12, 0.25, 0.85], "pink": [0.95, 0.45, 0.7]}  # play_table.xml
# colours that no training scene shows on any object
NOVEL_RGB = [[1.0, 0.55, 0.1], [0.1, 0.8, 0.85], [0.5, 0.2, 0.7], [0.6, 0.9, 0.2], [0.95, 0.85, 0.15], [0.1, 0.5, 0.45]]
DISTRACTOR_HALF_HEIGHT = {"mug": 0.04, "ball": 0.03, "box": 0.03}  # metres (play_table.xml)
DISTRACTOR_HALF_FOOTPRINT = (0.05, 0.035)  # metres, x and y: the largest distractor's, the mug with its handle
# metres: rows behind where blocks start, are pushed and are stacked, back row first
DISTRACTOR_ROWS_Y = (0.225, 0.145, 0.065)
DESK_HALF_X = 0.45  # metres
KEEP_OUT_MARGIN = 0.01  # metres between a distractor and a fixture


def sample_variation(axis: str, split: str, rng: np.random.Generator) -> Any:
    """A value of ``axis`` from its ``train`` or ``unseen`` range."""
    return get_axis(axis).sample(split, rng)


def get_axis(name: str) -> Axis:
    return axis_named(AXES, name)


def check_variations(variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """``variations`` as a dict, after checking that every axis exists."""
    return checked_variations(AXES, variations)


def apply(sim: PlayTableSim, variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """Put ``sim``'s model back as compiled, then apply ``variations`` (axis name -> value).

    Returns the applied values as plain JSON. Call ``mj_forward`` (or reset the state) afterwards:
    moved cameras and bodies show once the kinematics run.
    """
    variations = check_variations(variations)
    sim.restore_visuals()
    return {name: AXES[name].apply(sim, value) for name, value in variations.items()}


# --- sampling ------------------------------------------------------------------------------
def _direction(magnitude, rng: np.random.Generator) -> list[float]:
    """A vector of random direction and a length drawn from ``magnitude``."""
    direction = rng.normal(size=3)
    return json_floats(direction / np.linalg.norm(direction) * uniform(magnitude, rng))


def _sample_lighting(spec, rng):
    elevation = np.deg2rad(uniform(spec["elevation_deg"], rng))
    azimuth = np.deg2rad(uniform(spec["azimuth_deg"], rng))
    # where the light shines to: down, and away from where it comes from
    direction = [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), -np.sin(elevation)]
    return {
        "intensity": round(uniform(spec["intensity"], rng), 4),
        "direction": json_floats(direction),
        "rgb": sample_colour(spec["rgb"], rng),
    }


def _sample_camera(spec, rng):
    return {"shift": _direction(spec["shift_m"], rng), "rotation": _direction(spec["rotation_deg"], rng)}


def _sample_background(spec, rng):
    return {"wall_rgb": sample_colour(spec["wall_rgb"], rng), "floor_rgb": sample_colour(spec["floor_rgb"], rng)}


def _sample_distractors(spec, rng):
    count = int(rng.integers(spec["count"][0], spec["count"][1] + 1))
    if count == 0:
        return []
    kinds = rng.choice(spec["kinds"], size=count, replace=False)
    return [{"kind": str(kind), "rgb": sample_colour(spec["rgb"], rng)} for kind in kinds]


def _sample_blocks(spec, rng):
    return {colour: sample_colour(spec[colour], rng) for colour in BLOCK_COLOURS}


def _sample_layout(spec, rng):
    return str(spec["scene"][int(rng.integers(len(spec["scene"])))])


# --- applying ------------------------------------------------------------------------------
def _apply_table(sim: PlayTableSim, value):
    value = check_params(value, ("rgb", "grain_rgb"), "table_appearance")
    rgb = check_rgb(value.get("rgb", sim.scene.desk_rgb), "table_appearance rgb")
    grain = check_rgb(value.get("grain_rgb", sim.scene.desk_grain_rgb), "table_appearance grain_rgb")
    # texture colours are fixed at compile time, and tinting the material only darkens the scene's
    # own wood: repaint the texture's pixels instead, grain where the compiled texture has its marks
    compiled = sim.default_texture("desk_tex")
    base = np.median(compiled.reshape(-1, 3), axis=0)
    marks = np.any(compiled != base, axis=-1, keepdims=True)
    sim.set_texture("desk_tex", np.where(marks, texture_bytes(grain), texture_bytes(rgb)))
    # the cabinet and the other furniture follow the desk, as in scenes.build_model
    sim.model.mat_rgba[sim.model.material("cabinet").id, :3] = np.minimum(1.0, rgb * 1.1)
    return {"rgb": json_floats(rgb), "grain_rgb": json_floats(grain)}


def _apply_lighting(sim: PlayTableSim, value):
    value = check_params(value, ("intensity", "direction", "rgb"), "lighting")
    m = sim.model
    key = m.light("key").id
    intensity = float(value.get("intensity", 1.0))
    if not 0.0 <= intensity <= 3.0:
        raise ValueError(f"lighting intensity must be in [0, 3], got {intensity!r}")
    rgb = check_rgb(value.get("rgb", [1.0, 1.0, 1.0]), "lighting rgb")
    applied: dict[str, Any] = {"intensity": intensity, "rgb": json_floats(rgb)}
    if "direction" in value:
        direction = check_vec3(value["direction"], "lighting direction")
        if direction[2] >= 0 or np.linalg.norm(direction) < 1e-6:
            raise ValueError(f"lighting direction must point down (negative z), got {value['direction']!r}")
        m.light_dir[key] = direction / np.linalg.norm(direction)
        applied["direction"] = json_floats(m.light_dir[key])
    # the headlight lights most of the scene: scaling only the key light would hardly show
    m.light_diffuse[key] *= intensity * rgb
    m.vis.headlight.ambient[:] *= intensity * rgb
    m.vis.headlight.diffuse[:] *= intensity * rgb
    return applied


def _apply_camera(sim: PlayTableSim, value):
    value = check_params(value, ("shift", "rotation"), "camera_pose")
    m = sim.model
    camera = m.camera("static").id
    shift = check_vec3(value.get("shift", [0.0, 0.0, 0.0]), "camera_pose shift (metres)", -0.2, 0.2)
    rotation = check_vec3(value.get("rotation", [0.0, 0.0, 0.0]), "camera_pose rotation (degrees)", -30.0, 30.0)
    m.cam_pos[camera] += shift
    angle = np.deg2rad(np.linalg.norm(rotation))
    if angle > 0:
        # a rotation vector in the camera's own frame: x right, y up, z out of the lens backwards
        turn = np.empty(4)
        mujoco.mju_axisAngle2Quat(turn, rotation / np.linalg.norm(rotation), angle)
        quat = np.empty(4)
        mujoco.mju_mulQuat(quat, m.cam_quat[camera].copy(), turn)
        m.cam_quat[camera] = quat
    return {"shift": json_floats(shift), "rotation": json_floats(rotation)}


def _apply_background(sim: PlayTableSim, value):
    value = check_params(value, ("wall_rgb", "floor_rgb"), "background")
    m = sim.model
    applied = {}
    if "wall_rgb" in value:
        wall = check_rgb(value["wall_rgb"], "background wall_rgb")
        m.mat_rgba[m.material("wall").id, :3] = wall
        applied["wall_rgb"] = json_floats(wall)
    if "floor_rgb" in value:
        floor = check_rgb(value["floor_rgb"], "background floor_rgb")
        # the material's colour multiplies the checker texture: tint it to make its light squares
        # this colour (a tint cannot brighten them past the texture's own)
        m.mat_rgba[m.material("floor").id, :3] = np.minimum(1.0, floor / FLOOR_LIGHT_RGB)
        applied["floor_rgb"] = json_floats(floor)
    return applied


def distractor_slots(scene: Scene) -> list[tuple[float, float]]:
    """Free places for distractors behind everything the tasks move, clear of the cabinet, the
    switch and the button; best first: right of the cabinet, where neither it nor the arm hides
    them from the static camera, back rows first, outermost first."""
    hx, hy = DISTRACTOR_HALF_FOOTPRINT
    rx, ry = hx + KEEP_OUT_MARGIN, hy + KEEP_OUT_MARGIN
    keep_out = [  # (x low, x high, y low, y high), metres
        (scene.cabinet_x - 0.27, scene.cabinet_x + 0.27, CABINET_Y - 0.105, CABINET_Y + 0.105),
        (scene.switch_xy[0] - 0.03, scene.switch_xy[0] + 0.03, scene.switch_xy[1] - 0.09, scene.switch_xy[1] + 0.09),
        (scene.button_xy[0] - 0.04, scene.button_xy[0] + 0.04, scene.button_xy[1] - 0.04, scene.button_xy[1] + 0.075),
    ]
    xs = np.round(np.arange(-DESK_HALF_X + hx, DESK_HALF_X - hx + 1e-9, 0.005), 3)
    free = [
        (float(x), y)
        for y in DISTRACTOR_ROWS_Y
        for x in xs
        if all(x + rx <= x0 or x - rx >= x1 or y + ry <= y0 or y - ry >= y1 for x0, x1, y0, y1 in keep_out)
    ]
    free.sort(key=lambda p: (p[0] < scene.cabinet_x, -p[1], -p[0]))
    slots: list[tuple[float, float]] = []
    for x, y in free:
        if all(abs(x - sx) >= 2 * hx or abs(y - sy) >= 2 * hy for sx, sy in slots):
            slots.append((x, y))
    return slots


def _apply_distractors(sim: PlayTableSim, value):
    if not isinstance(value, list | tuple):
        raise ValueError(f"distractors must be a list of {{'kind', 'rgb'}} dicts, got {value!r}")
    m = sim.model
    slots = distractor_slots(sim.scene)
    applied = []
    for i, item in enumerate(value):
        item = check_params(item, ("kind", "rgb"), "distractors")
        kind = item.get("kind")
        if kind not in DISTRACTOR_HALF_HEIGHT:
            raise unknown_name_error("distractor kind", kind, DISTRACTOR_HALF_HEIGHT)
        if any(a["kind"] == kind for a in applied):
            raise ValueError(f"distractor {kind!r} is listed twice; each kind exists once")
        if i >= len(slots):
            raise ValueError(f"scene {sim.scene.name} has room for {len(slots)} distractors, got {len(value)}")
        rgb = check_rgb(item.get("rgb", NOVEL_RGB[i]), f"distractor {kind} rgb")
        body = m.body(f"distractor_{kind}").id
        m.body_pos[body] = [*slots[i], DISTRACTOR_HALF_HEIGHT[kind]]
        first = m.body_geomadr[body]
        m.geom_rgba[first : first + m.body_geomnum[body], :3] = rgb
        applied.append({"kind": kind, "rgb": json_floats(rgb)})
    return applied


def _apply_blocks(sim: PlayTableSim, value):
    value = check_params(value, BLOCK_COLOURS, "novel_object_appearance")
    m = sim.model
    applied = {}
    for colour, rgb in value.items():
        rgb = check_rgb(rgb, f"novel_object_appearance {colour}")
        m.geom_rgba[m.geom(f"block_{colour}").id, :3] = rgb
        applied[colour] = json_floats(rgb)
    return applied


def _apply_layout(sim: PlayTableSim, value):
    if value not in SCENES:
        raise unknown_name_error("scene", value, SCENES)
    if value != sim.scene.name:
        raise ValueError(
            f"layout {value!r} selects the scene, but this simulator is scene {sim.scene.name!r}; "
            "pass it to env.reset(options={'variations': ...}), which picks the scene from it"
        )
    return str(value)


AXES: dict[str, Axis] = {
    axis.name: axis
    for axis in (
        Axis(
            "table_appearance",
            "desk texture colour and its grain's (the furniture follows the desk); unseen: saturated "
            "greens, blues, purples and reds that no scene's wood shows",
            train={
                "rgb": {"palette": [list(SCENES[s].desk_rgb) for s in TRAINING_SCENES], "jitter": 0.03},
                "grain_scale": [0.75, 0.85],
            },
            unseen={"rgb": hsv_range((0.2, 0.95), (0.45, 0.75), (0.45, 0.8)), "grain_scale": [0.75, 0.85]},
            sampler=sample_table_colours,
            applier=_apply_table,
        ),
        Axis(
            "lighting",
            "key light direction and the scene light's intensity and colour; unseen: dim, coloured and oblique at once",
            train={
                "intensity": [0.9, 1.1],
                "elevation_deg": [55.0, 70.0],
                "azimuth_deg": [112.0, 142.0],
                "rgb": hsv_range((0.0, 1.0), (0.0, 0.05), (1.0, 1.0)),
            },
            unseen={
                "intensity": [0.5, 0.7],
                "elevation_deg": [15.0, 30.0],
                "azimuth_deg": [0.0, 360.0],
                "rgb": hsv_range((0.0, 1.0), (0.35, 0.6), (1.0, 1.0)),
            },
            sampler=_sample_lighting,
            applier=_apply_lighting,
        ),
        Axis(
            "camera_pose",
            "static camera shifted (metres, world frame) and turned (degrees, rotation vector in the "
            "camera's frame) in a random direction; ranges are of the lengths",
            train={"shift_m": [0.0, 0.01], "rotation_deg": [0.0, 1.0]},
            unseen={"shift_m": [0.03, 0.06], "rotation_deg": [3.0, 6.0]},
            sampler=_sample_camera,
            applier=_apply_camera,
        ),
        Axis(
            "background",
            "wall colour and floor colour (its checker's light squares); unseen: saturated colours",
            train={
                "wall_rgb": {"palette": [[0.78, 0.8, 0.82]], "jitter": 0.03},
                "floor_rgb": {"palette": [[0.8, 0.8, 0.8]], "jitter": 0.04},
            },
            unseen={
                "wall_rgb": hsv_range((0.0, 1.0), (0.35, 0.7), (0.45, 0.85)),
                "floor_rgb": hsv_range((0.0, 1.0), (0.35, 0.7), (0.45, 0.85)),
            },
            sampler=_sample_background,
            applier=_apply_background,
        ),
        Axis(
            "distractors",
            "objects never seen in training (a mug, a ball, a small box) in novel colours, on free "
            "places at the back of the desk; seen, never touched",
            train={"count": [0, 0]},
            unseen={
                "count": [1, 3],
                "kinds": list(DISTRACTOR_HALF_HEIGHT),
                "rgb": {"palette": NOVEL_RGB, "jitter": 0.03},
            },
            sampler=_sample_distractors,
            applier=_apply_distractors,
        ),
        Axis(
            "novel_object_appearance",
            "the blocks' colours; unseen: other shades of red, blue and pink (sizes unchanged)",
            train={c: {"palette": [BLOCK_RGB[c]], "jitter": 0.03} for c in BLOCK_COLOURS},
            unseen={
                "red": {"palette": [[0.55, 0.04, 0.08], [0.95, 0.35, 0.12], [0.75, 0.1, 0.35]], "jitter": 0.02},
                "blue": {"palette": [[0.1, 0.55, 0.9], [0.06, 0.1, 0.45], [0.38, 0.3, 0.9]], "jitter": 0.02},
                "pink": {"palette": [[0.85, 0.2, 0.6], [1.0, 0.72, 0.78], [0.78, 0.45, 0.88]], "jitter": 0.02},
            },
            sampler=_sample_blocks,
            applier=_apply_blocks,
        ),
        Axis(
            "layout",
            "the scene: fixture positions, desk colour and block sizes; unseen: the held-out scene D",
            train={"scene": list(TRAINING_SCENES)},
            unseen={"scene": [s for s in SCENES if s not in TRAINING_SCENES]},
            sampler=_sample_layout,
            applier=_apply_layout,
        ),
    )
}
