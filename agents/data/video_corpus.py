"""A video-only corpus for pre-training (GR-1 pre-trains on captioned video, with no actions): the
same frame windows as ``EpisodeWindows`` with a caption, from folders of video files and from
LeRobot v3 datasets (their frames and instructions, without actions or state)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from agents.data.lerobot_format import IMAGE_PREFIX, INFO_PATH, load_episode_videos, read_episodes, read_info
from agents.data.spans import Spans
from agents.data.video_io import VIDEO_EXTENSIONS, decode_video
from agents.data.windows import frame_window, window_steps

DEFAULT_IMAGE_SIZE = {"rgb_static": (200, 200), "rgb_gripper": (84, 84)}  # (height, width), CALVIN's cameras
CAPTIONS_FILE = "captions.jsonl"  # {"file": name relative to the folder, "caption": text} per line


@dataclass
class Clip:
    frames: np.ndarray  # uint8 (L, 3, H, W), the static (or only) camera
    gripper: np.ndarray | None  # uint8 (L, 3, h, w), when the source has a gripper camera
    caption: str
    source: str  # file or dataset episode it came from


class VideoCorpus(Dataset):
    """One sample per frame of every clip.

    Args:
        sources: folders of video files (.mp4, .webm, .avi, .mkv, .gif; searched recursively; a
            caption from a sidecar ``<stem>.txt`` or the folder's ``captions.jsonl``, else empty) or
            LeRobot v3 dataset folders (caption: the episode's instruction).
        history, future: as ``EpisodeWindows``.
        image_size: camera -> (height, width); every frame is resized to it so samples batch.

    A sample: rgb_static, future_rgb_static, rgb_gripper, future_rgb_gripper uint8 (T, 3, H, W)
    (the gripper camera zeros where the source has none), history_mask and future_mask bool (T,),
    has_rgb_gripper bool scalar, caption str.
    """

    def __init__(
        self,
        sources: Sequence[str | Path],
        history: int = 10,
        future: int = 3,
        image_size: dict[str, tuple[int, int]] | None = None,
    ):
        if isinstance(sources, str | Path):
            sources = [sources]
        if not sources:
            raise ValueError("VideoCorpus needs at least one source folder")
        if history < 1 or future < 0:
            raise ValueError(f"history must be >= 1 and future >= 0, got {history} and {future}")
        self.history, self.future = int(history), int(future)
        self.image_size = {**DEFAULT_IMAGE_SIZE, **(image_size or {})}
        self.clips: list[Clip] = []
        for source in sources:
            source = Path(source)
            if not source.is_dir():
                raise ValueError(f"video source {source} is not a folder")
            if (source / INFO_PATH).exists():
                self.clips += self._lerobot_clips(source)
            else:
                self.clips += self._folder_clips(source)
        self.lengths = np.array([len(c.frames) for c in self.clips])
        self._spans = Spans(self.lengths)

    def _folder_clips(self, folder: Path) -> list[Clip]:
        files = sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")
        )
        if not files:
            raise ValueError(f"{folder} holds no video files ({', '.join(VIDEO_EXTENSIONS)})")
        captions = _read_captions(folder, files)
        clips = []
        for path in files:
            sidecar = path.with_suffix(".txt")
            caption = sidecar.read_text(encoding="utf-8").strip() if sidecar.exists() else captions.get(path, "")
            [frames] = decode_video(path, self.image_size["rgb_static"])
            clips.append(Clip(frames, None, caption, str(path)))
        return clips

    def _lerobot_clips(self, root: Path) -> list[Clip]:
        info = read_info(root)
        keys = [k for k, spec in info["features"].items() if spec["dtype"] == "video"]
        if not keys:
            raise ValueError(f"LeRobot dataset {root} has no video features")
        static = IMAGE_PREFIX + "rgb_static" if IMAGE_PREFIX + "rgb_static" in keys else keys[0]
        gripper = IMAGE_PREFIX + "rgb_gripper" if IMAGE_PREFIX + "rgb_gripper" in keys else None
        episodes = read_episodes(root)
        frames = load_episode_videos(root, info, episodes, static, self.image_size["rgb_static"])
        grips = (
            load_episode_videos(root, info, episodes, gripper, self.image_size["rgb_gripper"])
            if gripper
            else [None] * len(episodes)
        )
        return [
            Clip(f, g, " ".join(e["tasks"]), f"{root}#episode{e['episode_index']}")
            for e, f, g in zip(episodes, frames, grips, strict=True)
        ]

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> dict[str, Any]:
        c, t = self._spans.locate(index)
        clip = self.clips[c]
        window = window_steps(t, len(clip.frames), self.history, self.future)
        past, after = frame_window(clip.frames, window["steps"], self.future)
        if clip.gripper is not None:
            grip_past, grip_after = frame_window(clip.gripper, window["steps"], self.future)
        else:
            grip_past = np.zeros((self.history, 3, *self.image_size["rgb_gripper"]), np.uint8)
            grip_after = grip_past.copy()
        return {
            "rgb_static": torch.from_numpy(past),
            "future_rgb_static": torch.from_numpy(after),
            "rgb_gripper": torch.from_numpy(grip_past),
            "future_rgb_gripper": torch.from_numpy(grip_after),
            "history_mask": torch.from_numpy(window["history_mask"]),
            "future_mask": torch.from_numpy(window["future_mask"]),
            "has_rgb_gripper": torch.tensor(clip.gripper is not None),
            "caption": clip.caption,
        }

    def __repr__(self) -> str:
        return (
            f"VideoCorpus(clips={len(self.clips)}, samples={len(self)}, history={self.history}, future={self.future})"
        )


def _read_captions(folder: Path, files: list[Path]) -> dict[Path, str]:
    path = folder / CAPTIONS_FILE
    if not path.exists():
        return {}
    known = set(files)
    captions = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            target, caption = folder / entry["file"], str(entry["caption"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f'{path} line {number}: expected {{"file": ..., "caption": ...}}, got {line[:80]!r} ({exc})'
            ) from exc
        if target not in known:
            raise ValueError(f"{path} line {number} names {entry['file']!r}, which is not a video file in {folder}")
        captions[target] = caption
    return captions
