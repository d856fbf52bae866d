"""Generalization axes of the tidying room: what varies, the range training covers and the range
evaluation holds out (GR-3's unseen settings: new objects, new table and background, new lighting,
clutter, more objects).

Values are plain JSON because results files record them. Three axes decide what is on the table
(``object_set``, ``object_count``, ``clutter``; the environment reads their values when it sets the
table); the other three only change how the room looks. ``lighting`` and ``background`` are the
tabletop's own axes: the room has the same key light, wall and floor.

    env.reset(seed=0, options={"variations": {"object_count": sample_variation("object_count", "unseen", rng)}})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.errors import unknown_name_error
from envs.tabletop.variations import AXES as TABLETOP_AXES
from envs.tidy.objects import CLUTTER
from envs.tidy.scenes import SCENES
from envs.tidy.sim import MAX_OBJECTS, TidySim
from envs.utils.axes import (
    Axis,
    axis_named,
    check_params,
    check_rgb,
    checked_variations,
    hsv_range,
    json_floats,
    sample_table_colours,
    texture_bytes,
    uniform,
)

DEFAULT_OBJECT_COUNT = 6  # objects on the table when the episode does not say
SEEN_CLUTTER = ("salt", "pepper", "candle")


def sample_variation(axis: str, split: str, rng: np.random.Generator) -> Any:
    """A value of ``axis`` from its ``train`` or ``unseen`` range."""
    return get_axis(axis).sample(split, rng)


def get_axis(name: str) -> Axis:
    return axis_named(AXES, name)


def check_variations(variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """``variations`` as a dict, after checking that every axis exists."""
    return checked_variations(AXES, variations)


def apply(sim: TidySim, variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """Put ``sim``'s looks back as compiled, apply the visual ``variations`` and check the others.

    Returns every value as plain JSON, as applied."""
    variations = check_variations(variations)
    sim.restore_visuals()
    return {name: AXES[name].apply(sim, value) for name, value in variations.items()}


# --- what is on the table ------------------------------------------------------------------------
def _sample_fraction(spec, rng):
    return {"unseen_fraction": round(uniform(spec["unseen_fraction"], rng), 4)}


def _check_fraction(sim, value):
    value = check_params(value, ("unseen_fraction",), "object_set")
    fraction = value.get("unseen_fraction", 0.0)
    if not isinstance(fraction, int | float) or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"object_set unseen_fraction must be a number in [0, 1], got {fraction!r}")
    return {"unseen_fraction": float(fraction)}


def _sample_count(spec, rng):
    return int(rng.integers(spec["count"][0], spec["count"][1] + 1))


def _check_count(sim, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 1 <= value <= MAX_OBJECTS:
        raise ValueError(f"object_count must be an integer from 1 to {MAX_OBJECTS}, got {value!r}")
    return int(value)


def _sample_clutter(spec, rng):
    count = int(rng.integers(spec["count"][0], spec["count"][1] + 1))
    return [str(k) for k in rng.choice(spec["kinds"], size=count, replace=False)]


def _check_clutter(sim, value):
    if not isinstance(value, list | tuple):
        raise ValueError(f"clutter must be a list of clutter kinds ({', '.join(CLUTTER)}), got {value!r}")
    for kind in value:
        if kind not in CLUTTER:
            raise unknown_name_error("clutter kind", kind, CLUTTER)
    if len(set(value)) != len(value):
        raise ValueError(f"clutter lists a kind twice: {value!r}; each kind exists once")
    return [str(k) for k in value]


# --- how the room looks --------------------------------------------------------------------------
def _apply_table(sim: TidySim, value):
    value = check_params(value, ("rgb", "grain_rgb"), "table_appearance")
    rgb = check_rgb(value.get("rgb", sim.scene.table_rgb), "table_appearance rgb")
    grain = check_rgb(value.get("grain_rgb", sim.scene.table_grain_rgb), "table_appearance grain_rgb")
    # repaint the texture's pixels, grain where the compiled texture has its marks (tinting the
    # material could only darken the wood)
    compiled = sim.default_texture("table_tex")
    base = np.median(compiled.reshape(-1, 3), axis=0)
    marks = np.any(compiled != base, axis=-1, keepdims=True)
    sim.set_texture("table_tex", np.where(marks, texture_bytes(grain), texture_bytes(rgb)))
    return {"rgb": json_floats(rgb), "grain_rgb": json_floats(grain)}


AXES: dict[str, Axis] = {
    axis.name: axis
    for axis in (
        Axis(
            "object_set",
            "which objects are out: the fraction (rounded) drawn from kinds never seen in training (mug, "
            "glass, knife, bottle, juice box, orange) instead of the training kinds",
            train={"unseen_fraction": [0.0, 0.0]},
            unseen={"unseen_fraction": [0.5, 1.0]},
            sampler=_sample_fraction,
            applier=_check_fraction,
        ),
        Axis(
            "object_count",
            f"how many objects are on the table (default {DEFAULT_OBJECT_COUNT}); unseen: more than training shows",
            train={"count": [4, 7]},
            unseen={"count": [8, 9]},
            sampler=_sample_count,
            applier=_check_count,
        ),
        Axis(
            "clutter",
            "things that belong on the table and stay there (salt, pepper, a candle, a vase, a napkin "
            "holder), standing among and behind the objects; they are obstacles, never tidied",
            train={"count": [0, 1], "kinds": list(SEEN_CLUTTER)},
            unseen={"count": [2, 3], "kinds": list(CLUTTER)},
            sampler=_sample_clutter,
            applier=_check_clutter,
        ),
        Axis(
            "table_appearance",
            "the table's colour and its grain's; unseen: saturated greens, blues, purples and reds",
            train={
                "rgb": {"palette": [list(s.table_rgb) for s in SCENES.values()], "jitter": 0.03},
                "grain_scale": [0.75, 0.85],
            },
            unseen={"rgb": hsv_range((0.2, 0.95), (0.45, 0.75), (0.45, 0.8)), "grain_scale": [0.75, 0.85]},
            sampler=sample_table_colours,
            applier=_apply_table,
        ),
        TABLETOP_AXES["lighting"],
        TABLETOP_AXES["background"],
    )
}
COMPOSITION_AXES = ("object_set", "object_count", "clutter")  # decide what is on the table
