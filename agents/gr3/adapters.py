"""Adapters between a robot's data and GR-3's fixed-width model inputs and outputs.

An adapter is data (a robot's cameras, state and action widths, gripper dimensions) from which small
composable transforms are built, as openpi does: each transform takes a dict and returns a dict, so
the model never branches on the robot. A new robot is one entry in ``ADAPTERS``.

Model side, whatever the robot:
    images: list of (B, 3, H, W) uint8 views, in the robot's camera order
    state: (B, state_dim) normalised robot_obs, zero-padded
    actions: (B, chunk, action_dim) normalised actions, zero-padded (training)
    action_mask: (B, chunk) bool, False for steps past the episode's end (training)
    action_dims: (action_dim,) bool, True on the robot's own action dimensions
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agents.data.lerobot_format import ACTION_KEY, STATE_KEY

Transform = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Compose:
    transforms: tuple[Transform, ...]

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        for transform in self.transforms:
            data = transform(data)
        return data


@dataclass(frozen=True)
class LastStep:
    """Training windows (B, T, ...) -> their newest step (B, ...): GR-3 sees one observation."""

    keys: tuple[str, ...]

    def __call__(self, data):
        return {**data, **{k: data[k][:, -1] for k in self.keys}}


@dataclass(frozen=True)
class FromObservation:
    """One environment observation -> a batch of one: cameras (1, 3, H, W) uint8, ``state`` (1, D) float."""

    cameras: tuple[str, ...]
    state_key: str = "robot_obs"

    def __call__(self, data):
        out = {cam: torch.from_numpy(np.ascontiguousarray(data[cam])).permute(2, 0, 1)[None] for cam in self.cameras}
        out["state"] = torch.as_tensor(np.asarray(data[self.state_key], dtype=np.float32))[None]
        return out


@dataclass(frozen=True)
class Require:
    """Refuse data that lacks a key the robot's adapter reads (data of another robot, a missing camera)."""

    keys: tuple[str, ...]
    robot: str

    def __call__(self, data):
        missing = [k for k in self.keys if k not in data]
        if missing:
            raise ValueError(
                f"the {self.robot!r} adapter needs {list(self.keys)} but the data has no {missing} "
                f"(it has {sorted(data)}); train and run GR-3 with the adapter of the robot the data comes from"
            )
        return data


@dataclass(frozen=True)
class CheckWidth:
    """Refuse data whose last axis is not the robot's width (a different robot, or a changed layout)."""

    key: str
    width: int
    robot: str

    def __call__(self, data):
        got = data[self.key].shape[-1]
        if got != self.width:
            raise ValueError(
                f"{self.key} has {got} dimensions but the {self.robot!r} adapter expects {self.width}; "
                "train and run GR-3 with the adapter of the robot the data comes from (GR3Config.robots)"
            )
        return data


@dataclass(frozen=True)
class Normalize:
    """``(x - mean) / std`` of ``key`` with the statistics the model was trained with (or the inverse)."""

    key: str
    normalizer: Any  # agents.data.Normalizer
    stats_key: str
    inverse: bool = False

    def __call__(self, data):
        fn = self.normalizer.unnormalize if self.inverse else self.normalizer.normalize
        return {**data, self.key: fn(self.stats_key, data[self.key])}


@dataclass(frozen=True)
class GatherViews:
    """Camera keys -> ``images``, a list of (B, 3, H, W) views in the robot's camera order."""

    cameras: tuple[str, ...]

    def __call__(self, data):
        return {**data, "images": [data[cam] for cam in self.cameras]}


@dataclass(frozen=True)
class PadLastAxis:
    """Zero-pad ``key``'s last axis to ``width``; with ``mask_key``, record which dimensions are real."""

    key: str
    width: int
    mask_key: str | None = None

    def __call__(self, data):
        x = data[self.key]
        out = {**data, self.key: F.pad(x.float(), (0, self.width - x.shape[-1]))}
        if self.mask_key:
            mask = torch.zeros(self.width, dtype=torch.bool, device=x.device)
            mask[: x.shape[-1]] = True
            out[self.mask_key] = mask
        return out


@dataclass(frozen=True)
class TruncateLastAxis:
    """The model's padded output -> the robot's own dimensions."""

    key: str
    width: int

    def __call__(self, data):
        return {**data, self.key: data[self.key][..., : self.width]}


@dataclass(frozen=True)
class BinarizeGrippers:
    """Gripper dimensions -> +1 (open) where >= 0, else -1 (close), as both robots take them."""

    key: str
    dims: tuple[int, ...]

    def __call__(self, data):
        x = data[self.key].clone()
        dims = list(self.dims)
        x[..., dims] = torch.where(x[..., dims] >= 0, 1.0, -1.0).to(x.dtype)
        return {**data, self.key: x}


@dataclass(frozen=True)
class RobotAdapter:
    name: str
    cameras: tuple[str, ...]  # observation keys of the camera views, in prompt order
    wrist_cameras: tuple[str, ...]  # those on the hands (a human demonstrator's headset has none)
    state_dim: int  # width of robot_obs
    action_dim: int  # width of the env action
    gripper_dims: tuple[int, ...]  # action dimensions that are grippers (+1 open, -1 close; not normalised)
    robot_type: str  # the robot_type of its datasets (meta/info.json of a gr-bench collect dataset)
    description: str

    def training_inputs(self, state_dim: int, action_dim: int) -> Compose:
        """EpisodeWindows batches -> model inputs."""
        windowed = (*self.cameras, "state", "actions", "action_mask")
        return Compose(
            (
                Require((*windowed, "instruction"), self.name),
                CheckWidth("state", self.state_dim, self.name),
                CheckWidth("actions", self.action_dim, self.name),
                LastStep(windowed),
                GatherViews(self.cameras),
                PadLastAxis("state", state_dim),
                PadLastAxis("actions", action_dim, mask_key="action_dims"),
            )
        )

    def observation_inputs(self, state_dim: int, normalizer) -> Compose:
        """One environment observation -> model inputs for a batch of one."""
        return Compose(
            (
                Require((*self.cameras, "robot_obs"), self.name),
                FromObservation(self.cameras),
                CheckWidth("state", self.state_dim, self.name),
                Normalize("state", normalizer, STATE_KEY),
                GatherViews(self.cameras),
                PadLastAxis("state", state_dim),
            )
        )

    def action_outputs(self, normalizer) -> Compose:
        """The model's normalised, padded ``actions`` (..., action_dim) -> the robot's env actions."""
        return Compose(
            (
                TruncateLastAxis("actions", self.action_dim),
                Normalize("actions", normalizer, ACTION_KEY, inverse=True),
                BinarizeGrippers("actions", self.gripper_dims),
            )
        )


def _adapters(*adapters: RobotAdapter) -> dict[str, RobotAdapter]:
    return {a.name: a for a in adapters}


ADAPTERS: dict[str, RobotAdapter] = _adapters(
    RobotAdapter(
        name="tabletop_arm",
        cameras=("rgb_static", "rgb_gripper"),
        wrist_cameras=("rgb_gripper",),
        state_dim=15,  # TCP xyz, TCP euler, gripper width, 7 joints, gripper action (CALVIN's robot_obs)
        action_dim=7,  # relative TCP xyz and euler, gripper (CALVIN's relative action)
        gripper_dims=(6,),
        robot_type="franka_panda",
        description="the tabletop Panda arm (GRBench/Tabletop): CALVIN's cameras, state and action",
    ),
    RobotAdapter(
        name="bytemini",
        cameras=("rgb_head", "rgb_left_wrist", "rgb_right_wrist"),
        wrist_cameras=("rgb_left_wrist", "rgb_right_wrist"),
        state_dim=39,  # GRBench/Tidy's robot_obs: base, lift, head, 2x7 joints, grippers, both TCPs, commands
        action_dim=19,  # base velocities (3), left and right arm joint targets (2x7), left and right gripper
        gripper_dims=(17, 18),
        robot_type="bytemini",
        description="ByteMini (GRBench/Tidy, action_mode='joint'): the 19 DoF GR-3 commands",
    ),
)


def adapter_for_data(robot_type: str, where: str) -> RobotAdapter:
    """The adapter of a dataset's robot (its meta/info.json ``robot_type``)."""
    for adapter in ADAPTERS.values():
        if adapter.robot_type == robot_type:
            return adapter
    known = {a.robot_type: a.name for a in ADAPTERS.values()}
    raise ValueError(f"{where} holds data of robot {robot_type!r}; GR-3 has adapters for {known}")


def adapter_for_action_space(robots: tuple[str, ...], shape: tuple[int, ...]) -> RobotAdapter:
    """The one of ``robots`` whose action has ``shape``: how an agent learns which robot an episode runs."""
    for robot in robots:
        if (ADAPTERS[robot].action_dim,) == tuple(shape):
            return ADAPTERS[robot]
    widths = {robot: ADAPTERS[robot].action_dim for robot in robots}
    raise ValueError(
        f"this GR-3 checkpoint was trained for robots {widths} (action widths), but the episode's action space "
        f"has shape {tuple(shape)}; evaluate it on those robots' environments or train it on this robot's data"
    )


def checkpoint_normalizers(saved: dict[str, Any]) -> dict[str, Any]:
    """robot -> the Normalizer of its training data, from a checkpoint's config.json (``normalizers``;
    a one-robot checkpoint from before multi-robot models has ``normalizer``)."""
    from agents.data.normalize import Normalizer

    if "normalizers" in saved:
        return {robot: Normalizer.from_dict(d) for robot, d in saved["normalizers"].items()}
    model = saved["model"]
    robot = model["robots"][0] if "robots" in model else model.get("robot", "tabletop_arm")
    return {robot: Normalizer.from_dict(saved["normalizer"])}
