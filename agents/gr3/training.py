"""What ``gr-bench train --agent gr3`` builds: the model and the data of a stage.

- ``finetune``: flow matching on action chunks and task status on demonstrations (LeRobot v3
  datasets made by ``gr-bench collect``), one observation per sample, as GR-3 trains on robot data.
  Several datasets of different robots (the tabletop arm, ByteMini) train one model: each dataset's
  robot is read from its ``robot_type``, each robot keeps its own normaliser, and every batch holds
  one robot's samples (``agents.data.RobotMix``; shares in ``robot_weights``). With ``vl_data``
  (made by ``gr-bench collect-vl``) the first dataset's batches also carry question-answer samples
  about simulated scenes, whose next-token loss co-trains the backbone (GR-3's co-training).
  Without it, no co-training: the ablation.
- ``fewshot``: a short stage from a trained checkpoint (``init``, required) on demonstrations seen
  as GR-3's VR "human trajectories" are: no wrist views (black images), no robot state. The
  checkpoint's normalisers are kept, so its action scale does not move. ``robot_data`` mixes robot
  demonstrations (wrist views and state intact) into the stage, as GR-3 trains human and robot
  trajectories together; without them the model forgets how to use its wrist view and state
  (measured in docs/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from agents.gr3.adapters import ACTION_KEY, ADAPTERS, STATE_KEY, adapter_for_data, checkpoint_normalizers
from agents.gr3.config import GR3Config, get_config
from agents.gr3.cotraining import CoTraining, HumanTrajectories

STAGES = ("finetune", "fewshot")


def data_robots(data: Sequence[str]) -> list[str]:
    """The GR-3 robot of each dataset (from its meta/info.json ``robot_type``)."""
    from agents.data import read_info

    return [adapter_for_data(read_info(root).get("robot_type"), str(root)).name for root in data]


def by_robot(data: Sequence[str]) -> dict[str, list[str]]:
    """Robot -> its datasets, robots in the order they first appear (a robot's several datasets,
    clean and perturbed demonstrations say, are joined and normalised as its first)."""
    out: dict[str, list[str]] = {}
    for robot, root in zip(data_robots(data), data, strict=True):
        out.setdefault(robot, []).append(root)
    return out


def build(
    config: str = "tiny",
    overrides: dict[str, Any] | None = None,
    stage: str = "finetune",
    data: str | Sequence[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
    vl_data: str | None = None,
    init: str | None = None,
    invalid_pool: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    robot_data: str | None = None,
):
    """Returns (model, dataset, checkpoint_config).

    ``data``: one dataset, or several (a robot's several are joined, normalised as its first).
    ``invalid_pool``: requests about things not in the scene, swapped in to train the ``invalid``
    status, per robot (``gr_bench.train.invalid_requests`` gives each environment's training bank)."""
    from agents.data import EpisodeWindows, Normalizer, RobotMix
    from agents.data.lerobot_format import read_stats
    from agents.data.mix import Joined
    from agents.gr3.model import GR3

    if stage not in STAGES:
        raise ValueError(f"GR-3 has no {stage!r} stage: use one of {STAGES} (it starts from a pretrained VLM)")
    if robot_data and stage != "fewshot":
        raise ValueError("--robot-data is for --stage fewshot (robot demonstrations mixed with the human ones)")
    if videos:
        raise ValueError("GR-3 does not train on plain videos (--videos); give demonstrations with --data")
    if not data:
        raise ValueError(f"--stage {stage} needs --data DATASET (made by gr-bench collect)")
    data = [data] if isinstance(data, str) else list(data)
    roots = by_robot(data)
    robots = list(roots)
    if tasks and len(data) > 1:
        raise ValueError("--tasks selects episodes of one dataset; with several --data, give each dataset's own")
    if stage == "fewshot":
        if not init:
            raise ValueError("--stage fewshot fine-tunes a trained GR-3: give its checkpoint or run with --init")
        from agents.train.checkpoint import read_agent_checkpoint

        _, saved = read_agent_checkpoint(init, "gr3")
        # the model is the checkpoint's (its weights are loaded by the training loop from --init)
        model_config = GR3Config.from_dict(saved["model"]).with_overrides(overrides or {})
        normalizers = checkpoint_normalizers(saved)
    else:
        overrides = dict(overrides or {})
        if "robots" not in overrides and "robot" not in overrides:
            overrides["robots"] = robots  # the data says which robots the model serves
        model_config = get_config(config, overrides)
        # the grippers stay +-1, whatever dimensions they are on this robot
        normalizers = {
            robot: Normalizer.from_stats(
                read_stats(root), (STATE_KEY, ACTION_KEY), unchanged={ACTION_KEY: ADAPTERS[robot].gripper_dims}
            )
            for robot, (root, *_) in roots.items()
        }
    other = [r for r in robots if r not in model_config.robots]
    if other:
        raise ValueError(
            f"--data holds data of {other} but the model serves {list(model_config.robots)}; "
            "train a model for those robots (leave out --set robots) or give its robots' data"
        )

    def windows(root: str, robot: str):
        adapter = ADAPTERS[robot]
        size = (model_config.image_size, model_config.image_size)
        return EpisodeWindows(
            root,
            history=1,
            future=0,
            chunk=model_config.chunk,
            image_size={cam: size for cam in adapter.cameras},
            tasks=tasks,
            cameras=adapter.cameras,
            normalizer=normalizers[robot],
        )

    datasets = {
        robot: windows(first, robot) if not more else Joined([windows(r, robot) for r in (first, *more)])
        for robot, (first, *more) in roots.items()
    }
    if stage == "fewshot":
        datasets = {
            robot: HumanTrajectories(d, blank_cameras=ADAPTERS[robot].wrist_cameras) for robot, d in datasets.items()
        }
        if robot_data:  # GR-3 trains on human trajectories together with robot ones
            (robot,) = data_robots([robot_data])
            if robot not in datasets:
                raise ValueError(f"--robot-data is {robot!r} data but --data is {robots}: give the same robot's")
            datasets[robot] = torch.utils.data.ConcatDataset([datasets[robot], windows(robot_data, robot)])
    if vl_data:
        from agents.data.vqa import VQADataset

        robot = robots[0]
        size = (model_config.image_size, model_config.image_size)
        datasets[robot] = CoTraining(datasets[robot], VQADataset(vl_data, ADAPTERS[robot].cameras, image_size=size))
    dataset = RobotMix(datasets, model_config.robot_weights)
    model = GR3(model_config, invalid_pool=invalid_pool)
    checkpoint_config = {
        "agent": "gr3",
        "stage": stage,
        "model": model_config.to_dict(),
        "normalizers": {robot: n.to_dict() for robot, n in normalizers.items()},
        "source": {
            "data": [str(d) for d in data],
            "tasks": tasks,
            "vl_data": vl_data and str(vl_data),
            "init": init and str(init),
            "robot_data": robot_data and str(robot_data),
        },
    }
    return model, dataset, checkpoint_config
