"""What ``gr-bench train --agent gr3`` builds: the model and the data of a stage.

- ``finetune``: flow matching on action chunks and task status on demonstrations (a LeRobot v3
  dataset made by ``gr-bench collect``), one observation per sample, as GR-3 trains on robot data.
"""

from __future__ import annotations

from typing import Any

from agents.gr3.adapters import ACTION_KEY, ADAPTERS, STATE_KEY
from agents.gr3.config import get_config

STAGES = ("finetune",)


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "finetune",
    data: str | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
):
    """Returns (model, dataset, checkpoint_config)."""
    from agents.data import EpisodeWindows, Normalizer
    from agents.data.lerobot_format import read_stats
    from agents.gr3.model import GR3

    if stage not in STAGES:
        raise ValueError(f"GR-3 has no {stage!r} stage: use one of {STAGES} (it starts from a pretrained VLM)")
    if videos:
        raise ValueError("GR-3 does not train on plain videos (--videos); give demonstrations with --data")
    if not data:
        raise ValueError("--stage finetune needs --data DATASET (made by gr-bench collect)")
    model_config = get_config(config, overrides)
    adapter = ADAPTERS[model_config.robot]
    # the grippers stay +-1, whatever dimensions they are on this robot
    normalizer = Normalizer.from_stats(
        read_stats(data), (STATE_KEY, ACTION_KEY), unchanged={ACTION_KEY: adapter.gripper_dims}
    )
    size = (model_config.image_size, model_config.image_size)
    dataset = EpisodeWindows(
        data,
        history=1,
        future=0,
        chunk=model_config.chunk,
        image_size={cam: size for cam in adapter.cameras},
        tasks=tasks,
        cameras=adapter.cameras,
        normalizer=normalizer,
    )
    model = GR3(model_config)
    checkpoint_config = {
        "agent": "gr3",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizer": normalizer.to_dict(),
        "source": {"data": str(data), "tasks": tasks},
    }
    return model, dataset, checkpoint_config
