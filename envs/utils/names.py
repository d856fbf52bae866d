"""``module:name`` references: the one resolver, and a callable that imports what it names only
when first called, so declaring a family (``envs/family.py``) costs no simulator import."""

from __future__ import annotations

import importlib
from typing import Any


def resolve_name(path: str) -> Any:
    """The object a ``module:name`` string names (imported now)."""
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected module:name, got {path!r}")
    return getattr(importlib.import_module(module), name)


class Lazy:
    """A function named by ``module:name``, imported on its first call."""

    def __init__(self, path: str):
        self.path = path
        self._target = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._target is None:
            self._target = resolve_name(self.path)
        return self._target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lazy) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)
