"""Datasets GR-3 trains on besides plain demonstrations.

``CoTraining``: every robot sample carries one vision-language sample (``vl_*`` keys), so a batch
mixes the two, as GR-3 mixes robot trajectories and vision-language data per batch. Which question
goes with robot sample i is fixed (a stride through the questions); the training loop's per-epoch
permutation of robot samples makes the questions' order random.

``HumanTrajectories``: GR-3's few-shot data from VR devices has neither wrist views nor robot state.
This wrapper makes a demonstration dataset look like that: the wrist cameras' images are black
(empty) and the state is zero (after normalisation: no information), and it is flagged so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

VL_PREFIX = "vl_"
VL_QUESTION = VL_PREFIX + "question"
VL_ANSWER = VL_PREFIX + "answer"


class CoTraining(torch.utils.data.Dataset):
    """Args:
    robot: demonstration samples (``EpisodeWindows``).
    vqa: question-answer samples with views under the robot's camera keys (``agents.data.vqa.VQADataset``).
    """

    def __init__(self, robot, vqa):
        if len(vqa) == 0:
            raise ValueError("the vision-language data is empty")
        self.robot, self.vqa = robot, vqa
        # a stride coprime with the number of questions visits every one before repeating
        stride = max(1, round(len(vqa) * (math.sqrt(5) - 1) / 2))
        while math.gcd(stride, len(vqa)) != 1:
            stride += 1
        self.stride = stride

    def __len__(self) -> int:
        return len(self.robot)

    def vl_index(self, index: int) -> int:
        return (index * self.stride) % len(self.vqa)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = dict(self.robot[index])
        for key, value in self.vqa[self.vl_index(index)].items():
            sample[VL_PREFIX + key] = value
        return sample

    def __repr__(self) -> str:
        return f"CoTraining({self.robot!r}, {self.vqa!r})"


class HumanTrajectories(torch.utils.data.Dataset):
    """Args:
    robot: demonstration samples.
    blank_cameras: sample keys of the views a human demonstrator's headset does not have (wrists).
    state_key: the robot-state key, zeroed.
    """

    def __init__(self, robot, blank_cameras: Sequence[str], state_key: str = "state"):
        if not blank_cameras:
            raise ValueError("HumanTrajectories needs at least one camera to blank (the wrist views)")
        self.robot, self.blank_cameras, self.state_key = robot, tuple(blank_cameras), state_key

    def __len__(self) -> int:
        return len(self.robot)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = dict(self.robot[index])
        for key in (*self.blank_cameras, self.state_key):
            if key not in sample:
                raise KeyError(f"the demonstration sample has no {key!r}; it has {sorted(sample)}")
            sample[key] = torch.zeros_like(sample[key])
        return sample

    def __repr__(self) -> str:
        return f"HumanTrajectories({self.robot!r}, blank={list(self.blank_cameras)}, no state)"
