"""Demonstration data for training: the LeRobot v3 layout (``lerobot_format``, torch-free), training
windows over it (``EpisodeWindows``), state/action normalisation (``Normalizer``) and a video-only
corpus for pre-training (``VideoCorpus``).

Names are imported on first use, so that ``agents.data.lerobot_format`` (used by the data
collection) does not load torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EpisodeWindows": "agents.data.windows",
    "Normalizer": "agents.data.normalize",
    "RobotMix": "agents.data.mix",
    "VideoCorpus": "agents.data.video_corpus",
    "read_info": "agents.data.lerobot_format",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agents.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
