"""Mean/std normalisation of states and actions, built from a dataset's meta/stats.json and stored
in checkpoints, so that a trained agent un-normalises its actions with the statistics it was
trained on. Works on numpy arrays and torch tensors (torch is never imported here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MIN_STD = 1e-2  # a dimension that barely varies in the data is centred, not divided by ~0
GRIPPER_DIM = 6  # CALVIN's action: the gripper (+1 open / -1 close) stays as it is


class Normalizer:
    """Per-key, per-dimension ``(x - mean) / std``; a dimension with mean 0 and std 1 passes unchanged.

    Args:
        mean, std: key -> 1-D arrays over the key's last axis.
    """

    def __init__(self, mean: Mapping[str, Sequence[float]], std: Mapping[str, Sequence[float]]):
        if set(mean) != set(std):
            raise ValueError(f"mean and std name different keys: {sorted(mean)} vs {sorted(std)}")
        self.mean = {k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in mean.items()}
        self.std = {k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in std.items()}
        for key in self.mean:
            if self.mean[key].shape != self.std[key].shape:
                raise ValueError(f"{key}: mean has shape {self.mean[key].shape}, std {self.std[key].shape}")
            if not np.all(self.std[key] > 0):
                raise ValueError(f"{key}: std must be positive, got {self.std[key].tolist()}")

    @classmethod
    def from_stats(
        cls,
        stats: Mapping[str, Mapping[str, Any]],
        keys: Sequence[str] = ("observation.state", "action"),
        *,
        min_std: float = MIN_STD,
        unchanged: Mapping[str, Sequence[int]] | None = None,
    ) -> Normalizer:
        """From LeRobot stats (key -> {"mean", "std", ...}).

        Args:
            min_std: floor on each std.
            unchanged: key -> dimensions left as they are (mean 0, std 1); by default the
                gripper dimension of ``action``.
        """
        unchanged = {"action": (GRIPPER_DIM,)} if unchanged is None else unchanged
        mean, std = {}, {}
        for key in keys:
            if key not in stats:
                raise ValueError(f"the dataset's stats have no {key!r}; they have {sorted(stats)}")
            mean[key] = np.asarray(stats[key]["mean"], dtype=np.float32).reshape(-1).copy()
            std[key] = np.maximum(np.asarray(stats[key]["std"], dtype=np.float32).reshape(-1), min_std)
            for dim in unchanged.get(key, ()):
                mean[key][dim], std[key][dim] = 0.0, 1.0
        return cls(mean, std)

    def normalize(self, key: str, x):
        """``(x - mean) / std`` over the last axis; numpy in, numpy out; torch in, torch out."""
        mean, std = self._params(key, x)
        return (x - mean) / std

    def unnormalize(self, key: str, x):
        mean, std = self._params(key, x)
        return x * std + mean

    def _params(self, key: str, x):
        if key not in self.mean:
            raise KeyError(f"no normalisation for {key!r}; known: {sorted(self.mean)}")
        mean, std = self.mean[key], self.std[key]
        if x.shape[-1] != mean.shape[0]:
            raise ValueError(f"{key}: last axis has size {x.shape[-1]}, the statistics have {mean.shape[0]}")
        if isinstance(x, np.ndarray):
            return mean.astype(x.dtype, copy=False), std.astype(x.dtype, copy=False)
        # a torch tensor: statistics on its device, in its dtype
        return x.new_tensor(mean), x.new_tensor(std)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, for a checkpoint's config."""
        return {
            "mean": {k: v.tolist() for k, v in self.mean.items()},
            "std": {k: v.tolist() for k, v in self.std.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Normalizer:
        return cls(data["mean"], data["std"])

    def __repr__(self) -> str:
        return f"Normalizer(keys={sorted(self.mean)})"
