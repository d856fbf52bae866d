"""What ``gr-bench train --agent vqgan`` builds: GR-2's VQGAN image tokenizer and a dataset of single frames.

GR-2 trains its tokenizer first, on its own, and freezes it for policy training. The frames are every
camera image of collected LeRobot datasets (``--data``) and of video corpora (``--videos``: folders of
video files or collected datasets), each resized to the config's square ``image_size``. The model is the
tokenizer itself (``VQGAN.loss`` reports L1, VQ loss, PSNR and code usage), so its checkpoint's weights
are the ``tokenizer.`` part of a GR-2 model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from agents.gr2.config import CAMERAS, get_config

STAGES = ("pretrain", "finetune")  # one stage: both train the tokenizer on frames


class Frames(Dataset):
    """Every camera image of the sources as one float (3, S, S) sample in [0, 1].

    Args:
        sources: folders of video files or LeRobot v3 datasets (``agents.data.VideoCorpus``'s sources).
        image_size: the square side every frame is resized to.
    """

    def __init__(self, sources: Sequence[str], image_size: int):
        from agents.data import VideoCorpus

        size = (int(image_size), int(image_size))
        corpus = VideoCorpus(list(sources), history=1, future=0, image_size={cam: size for cam in CAMERAS})
        self.videos = [clip.frames for clip in corpus.clips]
        self.videos += [clip.gripper for clip in corpus.clips if clip.gripper is not None]
        lengths = np.array([len(v) for v in self.videos], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(lengths)])
        if not len(self):
            raise ValueError(f"no frames in {', '.join(map(str, sources))}")

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < len(self):
            raise IndexError(index)
        video = int(np.searchsorted(self._starts, index, side="right")) - 1
        frame = self.videos[video][index - self._starts[video]]
        return torch.from_numpy(np.ascontiguousarray(frame)).float().div_(255)

    def __repr__(self) -> str:
        return f"Frames({len(self)} frames from {len(self.videos)} videos)"


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "pretrain",
    data: str | Sequence[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
):
    """Returns (tokenizer, frames, checkpoint_config)."""
    from agents.gr2.tokenizer import VQGAN

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} for the VQGAN tokenizer: use one of {STAGES}")
    if tasks:
        raise ValueError("the VQGAN tokenizer trains on every frame: --tasks is not taken")
    data = [data] if isinstance(data, str) else list(data or [])
    sources = [str(s) for s in [*data, *(videos or [])]]
    if not sources:
        raise ValueError(
            "the VQGAN tokenizer needs --videos DIR (video files or a collected dataset) or --data DATASET"
        )
    model_config = get_config(config, overrides)
    dataset = Frames(sources, model_config.image_size)
    checkpoint_config = {
        "agent": "vqgan",
        "stage": "tokenizer",
        "model": model_config.to_dict(),
        "source": {"data": data, "videos": [str(v) for v in videos or []]},
    }
    return VQGAN(model_config), dataset, checkpoint_config
