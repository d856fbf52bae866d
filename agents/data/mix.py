"""Training on several robots' data at once (GR-3 is one policy for several embodiments).

``RobotMix`` concatenates one dataset per robot, tags every sample with its robot, and declares
its ``batch_groups``: the index range of each robot's samples and the share of batches drawn from
it. The training loop (``agents.train.loop.StepBatches``) then draws every batch from one group, so
a batch holds one robot's cameras, state and action widths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch.utils.data import Dataset

from agents.data.spans import Spans

ROBOT_KEY = "robot"


@dataclass(frozen=True)
class BatchGroup:
    start: int  # first sample index of the group
    stop: int  # one past its last
    weight: float  # share of the batches drawn from it (normalised over the groups)


class _Concatenated(Dataset):
    """Samples of ``self.datasets`` one after the other; ``locate`` finds a sample's dataset."""

    datasets: list[Dataset]

    def _concatenate(self, datasets: list[Dataset]) -> None:
        self.datasets = list(datasets)
        self._spans = Spans(len(d) for d in self.datasets)

    def __len__(self) -> int:
        return len(self._spans)

    def locate(self, index: int) -> tuple[int, int]:
        """(which dataset, index within it) of sample ``index``."""
        return self._spans.locate(index)


class RobotMix(_Concatenated):
    """Args:
    datasets: robot name -> its samples.
    weights: robot name -> share of batches; default: in proportion to each robot's samples.
    """

    def __init__(self, datasets: Mapping[str, Dataset], weights: Mapping[str, float] | None = None):
        if not datasets:
            raise ValueError("RobotMix needs at least one robot's dataset")
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(datasets))
        if unknown:
            raise ValueError(f"robot weights name robots without data {unknown}; the data has {sorted(datasets)}")
        self.robots = tuple(datasets)
        self._concatenate([datasets[r] for r in self.robots])
        sizes = [len(d) for d in self.datasets]
        shares = [float(weights.get(r, n)) if weights else float(n) for r, n in zip(self.robots, sizes, strict=True)]
        total = sum(shares)
        self.batch_groups = tuple(
            BatchGroup(int(start), int(end), share / total)
            for start, end, share in zip(self._spans.starts[:-1], self._spans.starts[1:], shares, strict=True)
        )

    def __getitem__(self, index: int) -> dict[str, Any]:
        g, i = self.locate(index)
        return {**self.datasets[g][i], ROBOT_KEY: self.robots[g]}

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{r}: {len(d)} samples, {g.weight:.2f} of batches"
            for r, d, g in zip(self.robots, self.datasets, self.batch_groups, strict=True)
        )
        return f"RobotMix({parts})"


class Joined(_Concatenated):
    """One robot's several datasets as one (clean demonstrations and perturbed ones, say): samples
    of the first, then of the next; every dataset normalised with the first one's statistics, so a
    model fine-tuned from a checkpoint of the first keeps its normaliser."""

    def __init__(self, datasets: list[Dataset]):
        if not datasets:
            raise ValueError("Joined needs at least one dataset")
        robots = {getattr(d, "info", {}).get("robot_type") for d in datasets}
        if len(robots) > 1:
            raise ValueError(f"the datasets are of different robots {sorted(map(str, robots))}; join one robot's data")
        self._concatenate(datasets)
        self.normalizer = getattr(datasets[0], "normalizer", None)

    def __getitem__(self, index: int) -> dict[str, Any]:
        g, i = self.locate(index)
        return self.datasets[g][i]

    def __repr__(self) -> str:
        return f"Joined({', '.join(map(repr, self.datasets))})"
