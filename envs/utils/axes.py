"""What the variation axes of every environment share: the ``Axis`` declaration, drawing values
from declared ranges, and checking values given as plain JSON (results files record them)."""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.errors import unknown_name_error

SPLITS = ("train", "unseen")


@dataclass(frozen=True)
class Axis:
    """One axis of variation. ``train`` and ``unseen`` give each parameter's range: ``[low, high]``,
    a list of choices, or a colour range (``palette`` with ``jitter``, or ``hue``/``saturation``/``value``
    ranges); ``sample`` draws a value from one of the two."""

    name: str
    description: str
    train: dict[str, Any]
    unseen: dict[str, Any]
    sampler: Callable[[dict[str, Any], np.random.Generator], Any] = field(repr=False)
    applier: Callable[[Any, Any], Any] = field(repr=False)  # (simulator, value) -> value as applied

    def sample(self, split: str, rng: np.random.Generator) -> Any:
        if split not in SPLITS:
            raise unknown_name_error("split", split, SPLITS)
        return self.sampler(self.train if split == "train" else self.unseen, rng)

    def apply(self, sim: Any, value: Any) -> Any:
        """Apply ``value`` to the simulator's model; returns it as plain JSON."""
        return self.applier(sim, value)


# --- sampling ------------------------------------------------------------------------------
def axis_named(axes: Mapping[str, Axis], name: str) -> Axis:
    """The axis ``name`` of an environment's ``axes``, or a clear error with close matches."""
    if name not in axes:
        raise unknown_name_error("variation", name, axes)
    return axes[name]


def checked_variations(axes: Mapping[str, Axis], variations: Mapping[str, Any] | None) -> dict[str, Any]:
    """``variations`` as a dict, after checking that every axis is one of ``axes``."""
    if variations is None:
        return {}
    if not isinstance(variations, Mapping):
        raise ValueError(f"variations must be a dict of axis name -> value, got {type(variations).__name__}")
    for name in variations:
        axis_named(axes, name)
    return dict(variations)


def uniform(bounds, rng: np.random.Generator) -> float:
    return float(rng.uniform(*bounds))


def hsv_range(hue, saturation, value) -> dict[str, list[float]]:
    """A colour range given as hue, saturation and value bounds (each in [0, 1])."""
    return {"hue": list(hue), "saturation": list(saturation), "value": list(value)}


def sample_colour(spec: dict[str, Any], rng: np.random.Generator) -> list[float]:
    """An rgb colour from a ``palette`` (with ``jitter``) or an ``hsv_range``."""
    if "palette" in spec:
        palette = spec["palette"]
        base = np.asarray(palette[int(rng.integers(len(palette)))])
        rgb = base + rng.uniform(-1, 1, 3) * spec.get("jitter", 0.0)
    else:
        rgb = colorsys.hsv_to_rgb(
            uniform(spec["hue"], rng), uniform(spec["saturation"], rng), uniform(spec["value"], rng)
        )
    return json_floats(np.clip(rgb, 0.0, 1.0))


def sample_table_colours(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, list[float]]:
    """A table's colour (``spec["rgb"]``) and its grain's, a darker shade (``spec["grain_scale"]``)."""
    rgb = sample_colour(spec["rgb"], rng)
    return {"rgb": rgb, "grain_rgb": json_floats(np.multiply(rgb, uniform(spec["grain_scale"], rng)))}


def json_floats(values) -> list[float]:
    return [round(float(v), 4) for v in values]


# --- checking values -----------------------------------------------------------------------
def check_params(value, allowed: tuple[str, ...], axis: str) -> dict[str, Any]:
    """``value`` as a dict whose keys are all among ``allowed``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"the value of variation {axis!r} must be a dict with keys {allowed}, got {value!r}")
    for key in value:
        if key not in allowed:
            raise unknown_name_error(f"{axis} parameter", key, allowed)
    return dict(value)


def check_vec3(value, what: str, low: float = -np.inf, high: float = np.inf) -> np.ndarray:
    vec = np.asarray(value, dtype=float)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or np.any(vec < low) or np.any(vec > high):
        raise ValueError(f"{what} must be 3 finite numbers in [{low}, {high}], got {value!r}")
    return vec


def check_rgb(value, what: str) -> np.ndarray:
    return check_vec3(value, what, 0.0, 1.0)


def texture_bytes(rgb: np.ndarray) -> np.ndarray:
    """Texture pixels of colour ``rgb``, truncated to bytes as MuJoCo's compiler does."""
    return (rgb * 255).astype(np.uint8)
