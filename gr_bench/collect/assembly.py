"""The last step: the LeRobot v3.0 dataset written from the staged episodes, with
``meta/collection.json``; the staging is removed once the dataset is complete."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gr_bench.collect.attempts import AttemptGroup
from gr_bench.collect.spec import COLLECT_SEED_OFFSET, CollectionSpec
from gr_bench.collect.staging import ASSEMBLY, COLLECTION_PATH, STAGING, stage_name


def _features(spec: CollectionSpec) -> tuple[dict[str, dict[str, Any]], int]:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the ids)

    family = spec.family
    env = gym.make(spec.env, cameras=()).unwrapped  # only for its spaces and conventions
    spaces = env.observation_space
    robot, scene = family.robot_obs_names, family.scene_obs_names
    assert spaces["robot_obs"].shape == (len(robot),), f"{spec.env} robot_obs changed: update its robot_obs_names"
    assert spaces["scene_obs"].shape == (len(scene),), f"{spec.env} scene_obs changed: update its scene_obs_names"
    layout = list(env.action_spec["layout"])
    features = {
        "observation.state": {"dtype": "float32", "shape": [len(robot)], "names": list(robot)},
        "observation.environment_state": {"dtype": "float32", "shape": [len(scene)], "names": list(scene)},
        "action": {"dtype": "float32", "shape": [len(layout)], "names": layout},
    }
    fps = int(env.metadata["render_fps"])
    env.close()
    return features, fps


def assemble(out: Path, spec: CollectionSpec, groups: dict[tuple[str, str], AttemptGroup]) -> dict[str, Any]:
    """Write the v3 files from the staged episodes, then remove the staging."""
    from agents.data.lerobot_format import IMAGE_PREFIX, STATS, EpisodeData, write_dataset

    staging, assembly = out / STAGING, out / ASSEMBLY
    features, fps = _features(spec)
    cameras = spec.family.camera_keys
    episodes = []
    for (task, scene), group in groups.items():  # in the order of spec.tasks, then spec.scenes
        for index in sorted(group.ok):
            name = stage_name(task, scene, index)
            with np.load(staging / f"{name}.npz") as staged:
                arrays = {k: staged[k] for k in staged.files}
            meta = json.loads(str(arrays["meta"]))
            episodes.append(
                EpisodeData(
                    task=meta["instruction"],
                    columns={
                        "observation.state": arrays["robot_obs"],
                        "observation.environment_state": arrays["scene_obs"],
                        "action": arrays["action"],
                    },
                    videos={IMAGE_PREFIX + c: staging / f"{name}.{c}.mp4" for c in cameras},
                    image_stats={  # episodes staged before quantiles were written have none
                        IMAGE_PREFIX + c: {k: arrays[f"stats/{c}/{k}"] for k in STATS if f"stats/{c}/{k}" in arrays}
                        for c in cameras
                    },
                    extra={
                        "task_name": task,
                        "scene": scene,
                        "seed": meta["seed"],
                        "collect_index": index,
                        "variations": meta["variations"],
                    },
                )
            )
    if not episodes:
        raise ValueError(f"no episode succeeded; see the failures in {staging}")
    shutil.rmtree(assembly, ignore_errors=True)
    sizes = {f"{IMAGE_PREFIX}rgb_{camera}": (pixels,) * 2 for camera, pixels in spec.resolution().items()}
    info = write_dataset(assembly, episodes, features, fps, video_sizes=sizes, robot_type=spec.family.robot)
    failed = [r for g in groups.values() for _, r in sorted(g.failed.items())]
    short = {f"{t}/{s}": f"{len(g.ok)} of {g.quota}" for (t, s), g in groups.items() if len(g.ok) < g.quota}
    collection = {
        "arguments": spec.to_json(),
        "episodes": info["total_episodes"],
        "frames": info["total_frames"],
        "seed_offset": COLLECT_SEED_OFFSET,
        "failed_attempts": failed,
        "short": short,  # (task/scene) given up after too many failed rollouts
    }
    (assembly / COLLECTION_PATH).write_text(json.dumps(collection, indent=1) + "\n", encoding="utf-8")
    # partial output of an assembly that was killed goes; meta/info.json, which marks a finished
    # dataset, comes last
    for part in ("data", "videos", "meta"):
        shutil.rmtree(out / part, ignore_errors=True)
        os.replace(assembly / part, out / part)
    shutil.rmtree(assembly)
    shutil.rmtree(staging)
    return collection
