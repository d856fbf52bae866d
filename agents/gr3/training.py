"""What ``gr-bench train --agent gr3`` builds: the model and the data of a stage.

- ``finetune``: flow matching on action chunks and task status on demonstrations (a LeRobot v3
  dataset made by ``gr-bench collect``), one observation per sample, as GR-3 trains on robot data;
  with ``vl_data`` (made by ``gr-bench collect-vl``) every batch also carries as many question-answer
  samples about simulated scenes, whose next-token loss co-trains the backbone (GR-3's co-training).
  Without it, no co-training: the ablation.
- ``fewshot``: a short stage from a trained checkpoint (``init``, required) on demonstrations seen
  as GR-3's VR "human trajectories" are: no wrist views (black images), no robot state. The
  checkpoint's normaliser is kept, so its action scale does not move. ``robot_data`` mixes robot
  demonstrations (wrist views and state intact) into the stage, as GR-3 trains human and robot
  trajectories together; without them the model forgets how to use its wrist view and state
  (measured in the README).
"""

from __future__ import annotations

from typing import Any

import torch

from agents.gr3.adapters import ACTION_KEY, ADAPTERS, STATE_KEY
from agents.gr3.config import GR3Config, get_config
from agents.gr3.cotraining import CoTraining, HumanTrajectories

STAGES = ("finetune", "fewshot")


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "finetune",
    data: str | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
    vl_data: str | None = None,
    init: str | None = None,
    invalid_pool: list[str] | None = None,
    robot_data: str | None = None,
):
    """Returns (model, dataset, checkpoint_config).

    ``invalid_pool``: requests about things not in the scene, swapped in to train the ``invalid``
    status (``gr_bench.train.invalid_requests`` gives the environment's training bank)."""
    from agents.data import EpisodeWindows, Normalizer
    from agents.data.lerobot_format import read_stats
    from agents.gr3.model import GR3

    if stage not in STAGES:
        raise ValueError(f"GR-3 has no {stage!r} stage: use one of {STAGES} (it starts from a pretrained VLM)")
    if robot_data and stage != "fewshot":
        raise ValueError("--robot-data is for --stage fewshot (robot demonstrations mixed with the human ones)")
    if videos:
        raise ValueError("GR-3 does not train on plain videos (--videos); give demonstrations with --data")
    if not data:
        raise ValueError(f"--stage {stage} needs --data DATASET (made by gr-bench collect)")
    if stage == "fewshot":
        if not init:
            raise ValueError("--stage fewshot fine-tunes a trained GR-3: give its checkpoint or run with --init")
        from agents.train.checkpoint import read_agent_checkpoint

        _, saved = read_agent_checkpoint(init, "gr3")
        # the model is the checkpoint's (its weights are loaded by the training loop from --init)
        model_config = GR3Config.from_dict(saved["model"]).with_overrides(overrides or {})
        normalizer = Normalizer.from_dict(saved["normalizer"])
    else:
        model_config = get_config(config, overrides)
        # the grippers stay +-1, whatever dimensions they are on this robot
        normalizer = Normalizer.from_stats(
            read_stats(data),
            (STATE_KEY, ACTION_KEY),
            unchanged={ACTION_KEY: ADAPTERS[model_config.robot].gripper_dims},
        )
    adapter = ADAPTERS[model_config.robot]
    size = (model_config.image_size, model_config.image_size)

    def windows(root: str):
        return EpisodeWindows(
            root,
            history=1,
            future=0,
            chunk=model_config.chunk,
            image_size={cam: size for cam in adapter.cameras},
            tasks=tasks,
            cameras=adapter.cameras,
            normalizer=normalizer,
        )

    dataset = windows(data)
    if stage == "fewshot":
        dataset = HumanTrajectories(dataset, blank_cameras=adapter.wrist_cameras)
        if robot_data:  # GR-3 trains on human trajectories together with robot ones
            dataset = torch.utils.data.ConcatDataset([dataset, windows(robot_data)])

    if vl_data:
        from agents.data.vqa import VQADataset

        dataset = CoTraining(dataset, VQADataset(vl_data, adapter.cameras, image_size=size))
    model = GR3(model_config, invalid_pool=invalid_pool)
    checkpoint_config = {
        "agent": "gr3",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizer": normalizer.to_dict(),
        "source": {
            "data": str(data),
            "tasks": tasks,
            "vl_data": vl_data and str(vl_data),
            "init": init and str(init),
            "robot_data": robot_data and str(robot_data),
        },
    }
    return model, dataset, checkpoint_config
