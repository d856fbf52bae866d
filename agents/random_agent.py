"""A uniformly random policy: the floor every benchmark number should be compared with."""

from __future__ import annotations

from typing import Any

import numpy as np


class RandomAgent:
    """Samples each action dimension uniformly from [-1, 1] (CALVIN's relative action space)."""

    def __init__(self, action_dim: int = 7, seed: int = 0):
        self.action_dim = action_dim
        self.rng = np.random.default_rng(seed)

    def seed(self, seed: int) -> None:
        """Re-seed, so an episode's actions depend only on the episode (not on what ran before)."""
        self.rng = np.random.default_rng(seed)

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=self.action_dim)
