"""Training windows over a LeRobot v3 dataset: for every step of every episode, the last ``history``
frames and states, the frames ``future`` steps after each, and the next ``chunk`` actions.

Each episode's frames are decoded once, resized, and kept in memory as uint8, so a sample is only
indexing. Windows at an episode's start are padded on the left (zeros, masked out); future frames
past its end are clamped to the last frame and masked out; actions past its end are zeros, masked out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from agents.data.lerobot_format import (
    ACTION_KEY,
    IMAGE_PREFIX,
    STATE_KEY,
    load_episode_videos,
    read_episodes,
    read_frames,
    read_info,
    read_stats,
    read_tasks,
)
from agents.data.normalize import Normalizer
from agents.data.spans import Spans

CAMERAS = ("rgb_static", "rgb_gripper")
TASK_NAME_COLUMN = "task_name"  # gr-bench's task name per episode, in meta/episodes


def window_steps(t: int, length: int, history: int, future: int) -> dict[str, np.ndarray]:
    """Steps of the window ending at step ``t`` of an episode of ``length`` steps.

    Returns:
        steps (T,): t-T+1 .. t, negative before the episode's start; history_mask (T,): True on
        real steps; future_mask (T,): True where the step ``future`` ahead is real and inside the episode.
    """
    steps = t - history + 1 + np.arange(history)
    history_mask = steps >= 0
    return {"steps": steps, "history_mask": history_mask, "future_mask": history_mask & (steps + future < length)}


def frame_window(frames: np.ndarray, steps: np.ndarray, future: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames at ``steps`` of one episode's (L, 3, H, W) frames, and the frame ``future`` steps after
    each (clamped to the last frame); both zeros on padded (negative) steps."""
    last = len(frames) - 1
    padded = steps < 0
    past = frames[np.clip(steps, 0, last)]
    after = frames[np.clip(steps + future, 0, last)]
    past[padded] = 0
    after[padded] = 0
    return past, after


class EpisodeWindows(Dataset):
    """A torch Dataset with one sample per (episode, step) of a LeRobot v3 dataset.

    Args:
        root: the dataset folder (holds meta/info.json).
        history: steps per window (T).
        future: how many steps ahead the predicted frame is.
        chunk: actions per step (the step's own and the next chunk-1).
        image_size: camera -> (height, width) to resize to; a camera left out keeps its recorded size.
        episodes: episode indices to use (default all).
        tasks: gr-bench task names to keep (the ``task_name`` column of meta/episodes).
        cameras: cameras to load (``rgb_static``, ``rgb_gripper``).
        normalizer: statistics for state and actions; default from the dataset's meta/stats.json
            (the gripper action dimension is left as +-1).
        state_keys: the features that make up ``state``, each normalised, joined in this order
            (default the robot's state; ``agents.data.privileged``'s key adds the simulator's
            privileged scene state, for a control that is never a ranked result).

    A sample (T = history; cameras as loaded):
        rgb_static, rgb_gripper: uint8 (T, 3, H, W), frames t-T+1..t, zeros where padded
        future_rgb_static, future_rgb_gripper: uint8 (T, 3, H, W), frame ``future`` steps after each
        future_mask: bool (T,); history_mask: bool (T,)
        state: float32 (T, 15) normalised (more with ``state_keys``), zeros where padded
        actions: float32 (T, chunk, 7) arm normalised, gripper +-1; action_mask: bool (T, chunk)
        instruction: str; task_index, episode_index, frame_index: int64 scalars
    """

    def __init__(
        self,
        root: str | Path,
        history: int = 10,
        future: int = 3,
        chunk: int = 1,
        image_size: dict[str, tuple[int, int]] | None = None,
        episodes: Sequence[int] | None = None,
        tasks: Sequence[str] | None = None,
        cameras: Sequence[str] = CAMERAS,
        normalizer: Normalizer | None = None,
        state_keys: Sequence[str] = (STATE_KEY,),
    ):
        for name, value, low in (("history", history, 1), ("future", future, 0), ("chunk", chunk, 1)):
            if int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.root = Path(root)
        self.history, self.future, self.chunk = int(history), int(future), int(chunk)
        self.info = read_info(self.root)
        available = [k[len(IMAGE_PREFIX) :] for k, s in self.info["features"].items() if s["dtype"] == "video"]
        unknown = [c for c in cameras if c not in available]
        if unknown:
            raise ValueError(f"{self.root} has no camera {unknown}; it has {available}")
        unknown = [c for c in (image_size or {}) if c not in cameras]
        if unknown:
            raise ValueError(f"image_size names cameras {unknown} that are not loaded; loaded: {list(cameras)}")
        self.cameras = tuple(cameras)
        missing = [k for k in state_keys if k not in self.info["features"]]
        if missing:
            raise ValueError(f"{self.root} has no feature {missing}; it has {sorted(self.info['features'])}")
        self.state_keys = tuple(state_keys)
        self.normalizer = normalizer or Normalizer.from_stats(read_stats(self.root), (*self.state_keys, ACTION_KEY))
        self.task_texts = read_tasks(self.root)

        self.episodes = _select(read_episodes(self.root), episodes, tasks, self.root)
        columns = ["index", "episode_index", "task_index", *self.state_keys, ACTION_KEY]
        frames = read_frames(self.root, self.info, columns)
        self._state, self._actions, self._task_index = [], [], []
        for episode in self.episodes:
            rows = slice(int(episode["dataset_from_index"]), int(episode["dataset_to_index"]))
            if not np.all(frames["episode_index"][rows] == episode["episode_index"]):
                raise ValueError(
                    f"{self.root}: episode {episode['episode_index']} is not where meta/episodes says in the data files"
                )
            parts = [self.normalizer.normalize(k, frames[k][rows].astype(np.float32)) for k in self.state_keys]
            self._state.append(np.concatenate(parts, axis=-1))
            self._actions.append(self.normalizer.normalize(ACTION_KEY, frames[ACTION_KEY][rows].astype(np.float32)))
            self._task_index.append(frames["task_index"][rows])
        self._frames = {
            camera: load_episode_videos(
                self.root, self.info, self.episodes, IMAGE_PREFIX + camera, (image_size or {}).get(camera)
            )
            for camera in self.cameras
        }
        self.lengths = np.array([int(e["length"]) for e in self.episodes])
        self._spans = Spans(self.lengths)

    def __len__(self) -> int:
        return len(self._spans)

    def episode_frames(self, e: int, camera: str) -> np.ndarray:
        """uint8 (L, 3, H, W): every frame of ``camera`` in the episode at position ``e`` of ``self.episodes``."""
        return self._frames[camera][e]

    def locate(self, index: int) -> tuple[int, int]:
        """(position in ``self.episodes``, step) of sample ``index``."""
        return self._spans.locate(index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        e, t = self.locate(int(index))
        length = int(self.lengths[e])
        window = window_steps(t, length, self.history, self.future)
        steps, history_mask = window["steps"], window["history_mask"]
        sample: dict[str, Any] = {}
        for camera in self.cameras:
            past, after = frame_window(self._frames[camera][e], steps, self.future)
            sample[camera] = torch.from_numpy(past)
            sample[f"future_{camera}"] = torch.from_numpy(after)
        state = self._state[e][np.clip(steps, 0, None)]
        state[~history_mask] = 0
        act_steps = steps[:, None] + np.arange(self.chunk)[None]  # (T, chunk)
        action_mask = history_mask[:, None] & (act_steps < length)
        actions = self._actions[e][np.clip(act_steps, 0, length - 1)]  # (T, chunk, 7)
        actions[~action_mask] = 0
        task_index = int(self._task_index[e][t])
        sample.update(
            state=torch.from_numpy(state),
            actions=torch.from_numpy(actions),
            history_mask=torch.from_numpy(history_mask),
            future_mask=torch.from_numpy(window["future_mask"]),
            action_mask=torch.from_numpy(action_mask),
            instruction=self.task_texts[task_index],
            task_index=torch.tensor(task_index, dtype=torch.int64),
            episode_index=torch.tensor(int(self.episodes[e]["episode_index"]), dtype=torch.int64),
            frame_index=torch.tensor(t, dtype=torch.int64),
        )
        return sample

    def __repr__(self) -> str:
        return (
            f"EpisodeWindows({str(self.root)!r}, episodes={len(self.episodes)}, samples={len(self)}, "
            f"history={self.history}, future={self.future}, chunk={self.chunk}, cameras={self.cameras})"
        )


def _select(
    rows: list[dict[str, Any]], episodes: Sequence[int] | None, tasks: Sequence[str] | None, root: Path
) -> list[dict[str, Any]]:
    if episodes is not None:
        by_index = {int(r["episode_index"]): r for r in rows}
        missing = [e for e in episodes if e not in by_index]
        if missing:
            raise ValueError(f"{root} has no episodes {missing}; it has episodes 0..{len(rows) - 1}")
        rows = [by_index[int(e)] for e in episodes]
    if tasks is not None:
        if any(TASK_NAME_COLUMN not in r for r in rows):
            raise ValueError(f"{root} does not record gr-bench task names (no {TASK_NAME_COLUMN!r} in meta/episodes)")
        known = {r[TASK_NAME_COLUMN] for r in rows}
        unknown = sorted(set(tasks) - known)
        if unknown:
            raise ValueError(f"{root} has no episodes of tasks {unknown}; it has {sorted(known)}")
        rows = [r for r in rows if r[TASK_NAME_COLUMN] in set(tasks)]
    if not rows:
        raise ValueError(f"no episodes of {root} selected")
    return rows
