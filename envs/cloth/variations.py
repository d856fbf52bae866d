"""Generalization axes of the cloth table: what varies, the range training covers and the range
evaluation holds out.

Three axes change the garment itself (``garment_size``: its scale, which is a new mesh;
``stiffness``: its Young's modulus as a multiple of the reference; ``crumple``: the random folds a
``flatten`` episode starts with, how many and along which lines); the environment reads them when
it lays the garment out.
The others only change how things look: ``colour`` (the garment's), ``lighting`` and ``table``
(the table's colour). ``garment_shape`` is the scene (as the tabletop's ``layout``): squares and
towels are seen in training, the T-shirt is held out (``Family.scene_axes``: the unseen track
picks the scene, never a drawn value).

    env.reset(seed=0, options={"variations": {"stiffness": sample_variation("stiffness", "unseen", rng)}})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.utils.axes import (
    Axis,
    axis_named,
    check_params,
    check_rgb,
    checked_variations,
    hsv_range,
    json_floats,
    sample_colour,
    uniform,
)

# how a flatten episode starts when the episode does not say: one random fold along a line within
# 30 degrees of the garment's sides ("axis"); "diagonal" lines are 30-60 degrees off them
DEFAULT_CRUMPLE = {"folds": 1, "lines": "axis"}


def _number(value, axis: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"the value of variation {axis!r} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


MAX_SCALE = 1.6  # the largest garment_size the environment takes


def _read_scale(sim, value) -> float:
    return _number(value, "garment_size", 0.5, MAX_SCALE)


def _read_stiffness(sim, value) -> float:
    return _number(value, "stiffness", 0.05, 20.0)


def _sample_shape(spec, rng) -> str:
    return str(spec["scene"][int(rng.integers(len(spec["scene"])))])


def _read_shape(sim, value) -> str:
    from envs.cloth.garments import SHAPES
    from envs.errors import unknown_name_error

    if value not in SHAPES:
        raise unknown_name_error("garment_shape", value, SHAPES)
    if sim is not None and value != sim.garment.shape:
        raise ValueError(
            f"garment_shape {value!r} selects the scene, but this simulator's garment is a {sim.garment.shape!r}; "
            "pass it to env.reset(options={'variations': ...}), which picks the scene from it"
        )
    return str(value)


CRUMPLE_LINES = ("axis", "diagonal", "any")


def _read_crumple(sim, value) -> dict[str, Any]:
    value = check_params(value, ("folds", "lines"), "crumple")
    folds = _number(value.get("folds", DEFAULT_CRUMPLE["folds"]), "crumple folds", 0, 6)
    if folds != int(folds):
        raise ValueError(f"crumple folds must be a whole number (0-6), got {value['folds']!r}")
    lines = value.get("lines", DEFAULT_CRUMPLE["lines"])
    if lines not in CRUMPLE_LINES:
        raise ValueError(f"crumple lines must be one of {', '.join(CRUMPLE_LINES)}, got {lines!r}")
    return {"folds": int(folds), "lines": lines}


def _apply_colour(sim, value) -> list[float]:
    rgb = check_rgb(value, "the value of variation 'colour'")
    sim.model.flex_rgba[sim.flex_id, :3] = rgb
    return json_floats(rgb)


def _apply_lighting(sim, value) -> dict[str, Any]:
    value = check_params(value, ("direction", "intensity"), "lighting")
    m = sim.model
    light = m.light("key").id
    if "direction" in value:
        direction = np.asarray(value["direction"], dtype=float)
        if direction.shape != (3,) or direction[2] >= 0:
            raise ValueError(f"lighting direction must be 3 numbers pointing down (z < 0), got {value['direction']!r}")
        m.light_dir[light] = direction / np.linalg.norm(direction)
    if "intensity" in value:
        m.light_diffuse[light] = _number(value["intensity"], "lighting intensity", 0.0, 2.0)
    return {k: json_floats(v) if k == "direction" else float(v) for k, v in value.items()}


def _apply_table(sim, value) -> list[float]:
    rgb = check_rgb(value, "the value of variation 'table'")
    pixels = sim.default_texture("table_tex")
    # keep the grain: scale each pixel by the new colour over the compiled mean
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)[:3] / 255.0
    tinted = np.clip(pixels[..., :3] / 255.0 * (rgb / np.maximum(mean, 1e-3)), 0.0, 1.0)
    out = pixels.copy()
    out[..., :3] = (tinted * 255).astype(np.uint8)
    sim.set_texture("table_tex", out)
    return json_floats(rgb)


def _sample_direction(spec, rng) -> dict[str, Any]:
    azimuth = uniform(spec["azimuth"], rng)
    elevation = uniform(spec["elevation"], rng)
    direction = [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), -np.sin(elevation)]
    return {"direction": json_floats(direction), "intensity": round(uniform(spec["intensity"], rng), 4)}


AXES: dict[str, Axis] = {
    a.name: a
    for a in (
        Axis(
            "garment_shape",
            "the garment's outline, which is the scene; unseen: the held-out T-shirt",
            {"scene": ["square", "towel"]},
            {"scene": ["tshirt"]},
            _sample_shape,
            _read_shape,
        ),
        Axis(
            "garment_size",
            "the garment's scale (1 = 0.3 m square, 0.4 x 0.25 m towel, 0.45 x 0.4 m T-shirt)",
            {"low": 0.9, "high": 1.1},
            {"low": 1.25, "high": 1.4},
            lambda spec, rng: round(uniform((spec["low"], spec["high"]), rng), 3),
            _read_scale,
        ),
        Axis(
            "stiffness",
            "the garment's Young's modulus, as a multiple of 5 kPa (stretch and bending together)",
            {"choices": [[0.5, 2.0]]},
            {"choices": [[0.2, 0.3], [3.0, 4.5]]},
            lambda spec, rng: round(uniform(spec["choices"][int(rng.integers(len(spec["choices"])))], rng), 3),
            _read_stiffness,
        ),
        Axis(
            "crumple",
            "the random folds a flatten episode starts with: how many, and along which lines",
            {"folds": 1, "lines": "axis"},
            {"folds": 1, "lines": "diagonal"},
            lambda spec, rng: dict(spec),
            _read_crumple,
        ),
        Axis(
            "colour",
            "the garment's colour",
            hsv_range((0.5, 0.7), (0.5, 0.8), (0.5, 0.8)),
            hsv_range((0.0, 0.12), (0.6, 0.9), (0.6, 0.9)),
            sample_colour,
            _apply_colour,
        ),
        Axis(
            "lighting",
            "the key light's direction and intensity",
            {"azimuth": [1.2, 2.0], "elevation": [1.1, 1.4], "intensity": [0.45, 0.65]},
            {"azimuth": [-1.0, 0.2], "elevation": [0.6, 0.9], "intensity": [0.2, 0.35]},
            _sample_direction,
            _apply_lighting,
        ),
        Axis(
            "table",
            "the table's colour",
            hsv_range((0.05, 0.15), (0.05, 0.2), (0.65, 0.85)),
            hsv_range((0.3, 0.45), (0.3, 0.6), (0.25, 0.45)),
            sample_colour,
            _apply_table,
        ),
    )
}
GARMENT_AXES = ("garment_size", "stiffness", "crumple")  # read when the garment is laid out
SCENE_AXIS = "garment_shape"  # its value is the scene (``Family.scene_axes``)
# the axes a value is drawn for in a given scene (every one but the scene's own)
DRAWN_AXES = tuple(name for name in AXES if name != SCENE_AXIS)


def get_axis(name: str) -> Axis:
    return axis_named(AXES, name)


def sample_variation(axis: str, split: str, rng: np.random.Generator) -> Any:
    """A value of ``axis`` from its ``train`` or ``unseen`` range."""
    return get_axis(axis).sample(split, rng)


def check_variations(variations: Mapping[str, Any] | None) -> dict[str, Any]:
    return checked_variations(AXES, variations)


def apply(sim, variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """Put ``sim``'s looks back as compiled, apply the visual ``variations``, check the garment
    ones; every value as plain JSON, as applied."""
    variations = check_variations(variations)
    sim.restore_visuals()
    return {name: AXES[name].apply(sim, value) for name, value in variations.items()}
