"""What ``gr-bench train --agent gr1`` builds: the model and the data of a stage.

- ``pretrain``: video prediction only, on a video corpus (folders of videos, or the frames of
  collected datasets without their actions), as GR-1 was pre-trained on Ego4D.
- ``finetune``: actions plus video prediction on demonstrations (a LeRobot v3 dataset).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.data.privileged import SCENE_STATE_KEY
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
    if isinstance(data, str):
        data = [data]
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
        from agents.data.mix import Joined
        from agents.data.windows import STATE_KEY

        state_keys = (STATE_KEY, SCENE_STATE_KEY) if model_config.scene_state else (STATE_KEY,)
        windows = []
        for root in data:  # one robot's datasets (clean and perturbed demonstrations), the first's statistics
            windows.append(
                EpisodeWindows(
                    root,
                    history=model_config.history,
                    future=model_config.future,
                    chunk=model_config.chunk,
                    image_size=image_size,
                    tasks=tasks,
                    normalizer=windows[0].normalizer if windows else None,
                    state_keys=state_keys,
                )
            )
        dataset = windows[0] if len(windows) == 1 else Joined(windows)
        state_dim = int(dataset[0]["state"].shape[-1])
        if state_dim != model_config.state_dim:
            model_config = model_config.with_overrides({"state_dim": state_dim})
        normalizer = windows[0].normalizer.to_dict()
        source = {"data": str(data[0]) if len(data) == 1 else [str(d) for d in data], "tasks": tasks}
    model = GR1(model_config)
    checkpoint_config = {
        "agent": "gr1",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizer": normalizer,
        "source": source,
    }
    if model_config.scene_state:
        checkpoint_config["privileged_inputs"] = ["scene_obs"]  # the harness keeps its runs off the boards
    return model, dataset, checkpoint_config
