"""Shared helper of the config dataclasses (model and training configs)."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any, TypeVar

T = TypeVar("T")


def from_known_fields(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from ``data``, naming any key that is not one of its fields."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
    return cls(**data)


def preset_or_file(
    cls: type[T], presets: dict[str, T], name_or_path: str, overrides: dict[str, Any] | None, label: str
) -> T:
    """A preset by name or a JSON file of ``cls``'s fields (``cls.from_dict``), with ``overrides``
    applied (``with_overrides``); always a new object, so callers may not change a preset."""
    if name_or_path in presets:
        config = presets[name_or_path]
    elif name_or_path.endswith(".json"):
        with open(name_or_path, encoding="utf-8") as f:
            config = cls.from_dict(json.load(f))
    else:
        raise ValueError(f"unknown {label} config {name_or_path!r}: use one of {sorted(presets)} or a .json file")
    return config.with_overrides(overrides) if overrides else replace(config)
