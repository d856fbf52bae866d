"""What ``gr-bench train --agent gr1`` builds: the model and the data of a stage.

- ``pretrain``: video prediction only, on a video corpus (folders of videos, or the frames of
  collected datasets without their actions), as GR-1 was pre-trained on Ego4D.
- ``finetune``: actions plus video prediction on demonstrations (a LeRobot v3 dataset).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.gr1.config import CAMERAS, get_config

STAGES = ("pretrain", "finetune")


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "finetune",
    data: str | Sequence[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
):
    """Returns (model, dataset, checkpoint_config)."""
    from agents.gr1.model import GR1

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: use one of {STAGES}")
    if data is not None and not isinstance(data, str):
        if len(data) > 1:
            raise ValueError(f"--data is given {len(data)} times; GR-1 trains on one dataset (one robot)")
        data = data[0] if data else None
    model_config = get_config(config, overrides)
    size = (model_config.image_size, model_config.image_size)
    image_size = {cam: size for cam in CAMERAS}
    normalizer = None
    if stage == "pretrain":
        if not videos:
            raise ValueError("--stage pretrain needs --videos DIR (video files, or a collected dataset's folder)")
        from agents.data import VideoCorpus

        model_config = model_config.with_overrides({"action_loss": False})
        dataset = VideoCorpus(videos, history=model_config.history, future=model_config.future, image_size=image_size)
        source = {"videos": [str(v) for v in videos]}
    else:
        if not data:
            raise ValueError("--stage finetune needs --data DATASET (made by gr-bench collect)")
        from agents.data import EpisodeWindows

        dataset = EpisodeWindows(
            data,
            history=model_config.history,
            future=model_config.future,
            chunk=model_config.chunk,
            image_size=image_size,
            tasks=tasks,
        )
        normalizer = dataset.normalizer.to_dict()
        source = {"data": str(data), "tasks": tasks}
    model = GR1(model_config)
    checkpoint_config = {
        "agent": "gr1",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizer": normalizer,
        "source": source,
    }
    return model, dataset, checkpoint_config
