"""A uniformly random policy: the floor every benchmark number should be compared with."""

from __future__ import annotations

from typing import Any

import numpy as np


class RandomAgent:
    """Samples each action dimension uniformly between the bounds of the action space it is bound
    to (``bind_action_space``, called by the evaluator before each task); unbound, it samples
    ``action_dim`` dimensions from [-1, 1] (CALVIN's relative action space)."""

    def __init__(self, action_dim: int = 7, seed: int = 0):
        self.action_dim = action_dim
        self.rng = np.random.default_rng(seed)
        self._low: np.ndarray | float = -1.0
        self._high: np.ndarray | float = 1.0

    def seed(self, seed: int) -> None:
        """Re-seed, so an episode's actions depend only on the episode (not on what ran before)."""
        self.rng = np.random.default_rng(seed)

    def bind_action_space(self, space) -> None:
        """Sample from ``space`` (a bounded ``gymnasium.spaces.Box``) from now on."""
        low, high = np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)
        if low.ndim != 1 or not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(f"RandomAgent needs a bounded 1-D Box action space, got {space}")
        self.action_dim, self._low, self._high = len(low), low, high

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.rng.uniform(self._low, self._high, size=self.action_dim)
