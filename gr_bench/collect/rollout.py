"""One attempt, in the collecting process or a worker process: the attempt's seed, phrasing and
variations (``episode_setup``), the expert's rollout, and the staging of a successful episode (or
the record of a failed one)."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from agents.atomic import write_atomic
from gr_bench.collect.spec import COLLECT_SEED_OFFSET, CollectionSpec
from gr_bench.collect.staging import stage_name, write_npz


def episode_setup(spec: CollectionSpec, task: str, scene: str, index: int) -> dict[str, Any]:
    """Seed, instruction and variations of attempt ``index`` of ``task`` in ``scene``."""
    from envs.episodes import keyed_rng

    family = spec.family
    # perturbed rollouts start from other states than the clean ones: the two datasets can be joined
    key = ("collect", task, scene, index) + (("noise", spec.action_noise) if spec.action_noise else ())
    rng = keyed_rng(*key)
    seed = COLLECT_SEED_OFFSET + int(rng.integers(2**31 - 1))
    phrasings = family.instructions(task, "train")
    instruction = phrasings[int(rng.integers(len(phrasings)))]
    variations = {}
    for name, axis in family.axes().items():
        if name in family.scene_axes:  # the scene is chosen above; such an axis's unseen value is a held-out scene
            continue
        if rng.random() < spec.variation_prob:
            variations[name] = axis.sample("train", rng)
    return {"seed": seed, "instruction": instruction, "variations": variations}


class Recorder:
    """Owns an environment and the expert; runs one attempt and stages it."""

    def __init__(self, spec: CollectionSpec, staging: Path):
        import gymnasium as gym

        import envs  # noqa: F401  (registers the ids)

        self.spec, self.staging = spec, staging
        self.cameras = spec.family.camera_keys
        self.env = gym.make(spec.env, resolution=spec.resolution()).unwrapped
        self.expert = spec.family.expert_class()(self.env)
        self.fps = int(self.env.metadata["render_fps"])

    def run(self, task: str, scene: str, index: int) -> dict[str, Any]:
        """Roll out the expert; stage the episode if it succeeds, else a record of the failure."""
        from agents.data.lerobot_format import image_stats
        from agents.data.video_io import encode_video
        from gr_bench.suites import MAX_STEPS_PER_TASK

        setup = episode_setup(self.spec, task, scene, index)
        name = stage_name(task, scene, index)
        result = {"task": task, "scene": scene, "index": index, "seed": setup["seed"], "success": False}
        try:
            recorded, info = self._rollout(task, scene, setup, MAX_STEPS_PER_TASK)
        except Exception as exc:  # noqa: BLE001 - a broken rollout fails its attempt, with the reason
            result["reason"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        else:
            result["success"] = bool(info["success"])
            if not result["success"]:
                result["reason"] = f"the expert did not succeed within {len(recorded['action'])} steps"
        if not result["success"]:
            write_atomic(self.staging / f"{name}.failed.json", json.dumps(result).encode())
            return result
        arrays = {key: np.stack(recorded[key]) for key in ("robot_obs", "scene_obs", "action")}
        for camera in self.cameras:
            frames = np.stack(recorded[camera])
            encode_video(self.staging / f"{name}.{camera}.mp4", frames, self.fps)
            arrays.update({f"stats/{camera}/{k}": v for k, v in image_stats(frames).items()})
        meta = {
            **result,
            "instruction": setup["instruction"],
            "variations": info["variations"],
            "length": len(arrays["action"]),
        }
        arrays["meta"] = np.array(json.dumps(meta))
        # the npz comes last: its presence says the episode is complete
        write_npz(self.staging / f"{name}.npz", arrays)
        return meta

    def _rollout(self, task: str, scene: str, setup: dict[str, Any], max_steps: int):
        from envs.episodes import keyed_rng
        from gr_bench.collect.noise import ActionNoise

        env, expert = self.env, self.expert
        options = {"task": task, "scene": scene, "instruction": setup["instruction"], "variations": setup["variations"]}
        obs, info = env.reset(seed=setup["seed"], options=options)
        expert.reset(setup["instruction"])
        noise = None
        if self.spec.action_noise:
            layout = self.spec.family.action_layout
            noise = ActionNoise(self.spec.action_noise, layout, keyed_rng("noise", setup["seed"]))
            low, high = env.action_space.low, env.action_space.high
        observed = (*self.cameras, "robot_obs", "scene_obs")
        recorded: dict[str, list[np.ndarray]] = {k: [] for k in (*observed, "action")}
        # CALVIN's budget, unless the environment sets each task's own (and truncates by itself)
        for _ in range(info.get("max_steps", max_steps)):
            # what is recorded is what the environment is given (the expert's, in a perturbed rollout)
            action = np.asarray(expert.act(obs), dtype=np.float32)
            for key in observed:
                recorded[key].append(obs[key])
            recorded["action"].append(action)
            # a perturbed rollout executes the expert's action plus noise; the dataset keeps the expert's
            executed = action if noise is None else noise.perturb(action, low, high)
            obs, _, terminated, truncated, info = env.step(executed)
            if terminated or truncated:
                break
        return recorded, info


_RECORDER: Recorder | None = None


def init_worker(spec_json: dict[str, Any], staging: str) -> None:
    global _RECORDER
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    spec = CollectionSpec(**{**spec_json, "tasks": tuple(spec_json["tasks"]), "scenes": tuple(spec_json["scenes"])})
    _RECORDER = Recorder(spec, Path(staging))


def run_in_worker(task: str, scene: str, index: int) -> dict[str, Any]:
    return _RECORDER.run(task, scene, index)
