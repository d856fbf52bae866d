"""Perturbed demonstrations (DART, Laskey et al. 2017): the environment executes the expert's action
plus noise, the dataset records the expert's own action at the state the noise led to.

A policy cloned from clean demonstrations has only seen states on the expert's path; its own small
errors take it off that path, where it never saw what to do. Perturbed rollouts show the expert
correcting from states near its path, which is where a learner's errors lead.

The noise is an Ornstein-Uhlenbeck process per action dimension (a drift that lasts a few steps,
as a learner's bias does, rather than white noise that the next step undoes), on the continuous
parts of the action only: grippers keep the expert's command.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CORRELATION = 0.8  # per step: a drift lasts about 1 / (1 - 0.8) = 5 control steps


class ActionNoise:
    """Stationary standard deviation ``scale`` (in the action's own units, actions in [-1, 1])."""

    def __init__(self, scale: float, layout: Sequence[tuple[str, int]], rng: np.random.Generator):
        self.scale, self.rng = float(scale), rng
        self.mask = np.concatenate([np.full(width, not part.startswith("gripper")) for part, width in layout])
        self.state = np.zeros(len(self.mask))
        self._innovation = self.scale * np.sqrt(1.0 - CORRELATION**2)

    def perturb(self, action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The action to execute: ``action`` plus the next noise sample, inside the action bounds."""
        self.state = CORRELATION * self.state + self._innovation * self.rng.standard_normal(len(self.state))
        out = np.where(self.mask, action + self.state, action)
        return np.clip(out, low, high).astype(action.dtype)
