"""``gr-bench collect-vl``: vision-language data from the simulator's own scenes, for co-training GR-3.

Each scene is a fresh reset of the environment in one of its family's training scenes with
training-range visual variations (each axis with probability ``variation_prob``), exactly as
demonstrations are collected; its camera views are kept and ``questions_per_scene`` questions are
asked about it, answered from privileged state by the family's ``scene_questions`` (the first
family that has one, unless ``env`` names another). Seeds come from the key (``--key``, default "collect-vl",
and the scene's index) and lie above every suite's seeds, so no evaluation episode's initial state
is ever shown.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

SEED_OFFSET = 2**31  # suite seeds are below 2**31 - 1
VARIATION_PROB = 0.5

EXAMPLES = """examples:
  gr-bench collect-vl --scenes 1500 --out data/vl
  gr-bench train --agent gr3 --data data/drawer --vl-data data/vl --out runs/gr3-cotrained
"""


def collect_vl(
    out: str | Path,
    scenes: int,
    questions_per_scene: int = 6,
    size: int = 200,
    gripper_size: int = 84,
    variation_prob: float = VARIATION_PROB,
    training_scenes: tuple[str, ...] | None = None,
    progress: bool = True,
    key: str = "collect-vl",
    env: str | None = None,
) -> dict[str, Any]:
    """Render ``scenes`` scenes and write their questions to ``out`` (see agents.data.vqa).

    ``key`` seeds the scenes: another key gives other scenes (a held-out set to measure answers on)."""
    import gymnasium as gym
    import numpy as np
    from tqdm import tqdm

    import envs  # noqa: F401  (registers the ids)
    from agents.data.vqa import write_vqa
    from envs.episodes import keyed_rng
    from envs.family import families, family_named

    if env is None:
        with_questions = [f for f in families() if f.scene_questions is not None]
        if not with_questions:
            raise ValueError("no registered environment family asks questions about its scenes")
        family = with_questions[0]
    else:
        family = family_named(env)
        if family.scene_questions is None:
            raise ValueError(f"{family.env_id} asks no questions about its scenes (its family has no scene_questions)")
    training_scenes = tuple(training_scenes or family.training_scenes)
    axes = family.axes()

    if scenes < 1 or questions_per_scene < 1:
        raise ValueError(f"--scenes and --questions-per-scene must be >= 1, got {scenes} and {questions_per_scene}")
    if not 0.0 <= variation_prob <= 1.0:
        raise ValueError(f"--variation-prob must be in [0, 1], got {variation_prob!r}")
    if Path(out).exists():
        raise FileExistsError(f"{out} exists; choose another --out (nothing was written)")
    sizes = {"size": size, "gripper_size": gripper_size}
    resolution = {c.name: sizes[c.size_option] for c in family.cameras}
    env = gym.make(family.env_id, resolution=resolution).unwrapped
    cameras = env.cameras
    images = {c: np.zeros((scenes, *env.resolution[c], 3), np.uint8) for c in cameras}
    questions = []
    for index in tqdm(range(scenes), desc="scenes", unit="scene", disable=not progress):
        rng = keyed_rng(key, index)
        scene = training_scenes[int(rng.integers(len(training_scenes)))]
        variations = {
            name: axis.sample("train", rng)
            for name, axis in axes.items()
            if name not in family.scene_axes and rng.random() < variation_prob
        }
        seed = SEED_OFFSET + int(rng.integers(2**31 - 1))
        obs, _ = env.reset(seed=seed, options={"scene": scene, "variations": variations})
        for c in cameras:
            images[c][index] = obs[f"rgb_{c}"]
        for qa in family.scene_questions(env, rng, questions_per_scene):
            questions.append({"scene": index, **qa})
    env.close()
    meta = {
        "env": family.env_id,
        "training_scenes": list(training_scenes),
        "variation_prob": variation_prob,
        "questions_per_scene": questions_per_scene,
        "seed_key": key,
    }
    write_vqa(out, images, questions, meta)
    from agents.data.vqa import read_vqa_meta

    return read_vqa_meta(out)


def _command(args: argparse.Namespace) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    meta = collect_vl(
        args.out,
        args.scenes,
        questions_per_scene=args.questions_per_scene,
        size=args.size,
        gripper_size=args.gripper_size,
        variation_prob=args.variation_prob,
        key=args.key,
        env=args.env,
    )
    kinds = ", ".join(f"{k} {n}" for k, n in meta["kinds"].items())
    print(f"{meta['questions']} questions on {meta['scenes']} scenes in {args.out} ({kinds})")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "collect-vl",
        help="write vision-language questions about simulated scenes (co-training data for GR-3)",
        description=__doc__.split("\n\n", 1)[1],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenes", type=int, required=True, help="scenes to render")
    parser.add_argument("--out", required=True, help="new folder for the data")
    parser.add_argument("--questions-per-scene", type=int, default=6)
    parser.add_argument("--env", help="whose scenes (default: the first family that asks questions about its scenes)")
    parser.add_argument("--size", type=int, default=200, help="main camera resolution, pixels")
    parser.add_argument("--gripper-size", type=int, default=84, help="gripper or wrist camera resolution, pixels")
    parser.add_argument("--variation-prob", type=float, default=VARIATION_PROB, help="chance each visual axis varies")
    parser.add_argument("--key", default="collect-vl", help="seeds the scenes; another key gives held-out scenes")
    parser.set_defaults(func=_command)
