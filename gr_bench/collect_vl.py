"""``gr-bench collect-vl``: vision-language data from the simulator's own scenes, for co-training GR-3.

Each scene is a fresh reset of the environment in a training scene (A-C) with training-range visual
variations (each axis with probability ``variation_prob``), exactly as demonstrations are collected;
its camera views are kept and ``questions_per_scene`` questions are asked about it, answered from
privileged state (``envs.tabletop.vqa``). Seeds come from the key (``--key``, default "collect-vl",
and the scene's index) and lie above every suite's seeds, so no evaluation episode's initial state
is ever shown.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

TABLETOP = "GRBench/Tabletop-v0"
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
    training_scenes: tuple[str, ...] = ("A", "B", "C"),
    progress: bool = True,
    key: str = "collect-vl",
) -> dict[str, Any]:
    """Render ``scenes`` scenes and write their questions to ``out`` (see agents.data.vqa).

    ``key`` seeds the scenes: another key gives other scenes (a held-out set to measure answers on)."""
    import gymnasium as gym
    import numpy as np
    from tqdm import tqdm

    import envs  # noqa: F401  (registers the ids)
    from agents.data.vqa import write_vqa
    from envs.tabletop.variations import AXES, sample_variation
    from envs.tabletop.vqa import scene_questions
    from gr_bench.suites import _rng

    if scenes < 1 or questions_per_scene < 1:
        raise ValueError(f"--scenes and --questions-per-scene must be >= 1, got {scenes} and {questions_per_scene}")
    if not 0.0 <= variation_prob <= 1.0:
        raise ValueError(f"--variation-prob must be in [0, 1], got {variation_prob!r}")
    if Path(out).exists():
        raise FileExistsError(f"{out} exists; choose another --out (nothing was written)")
    env = gym.make(TABLETOP, resolution={"static": size, "gripper": gripper_size}).unwrapped
    cameras = env.cameras
    images = {c: np.zeros((scenes, *env.resolution[c], 3), np.uint8) for c in cameras}
    questions = []
    for index in tqdm(range(scenes), desc="scenes", unit="scene", disable=not progress):
        rng = _rng(key, index)
        scene = training_scenes[int(rng.integers(len(training_scenes)))]
        variations = {
            axis: sample_variation(axis, "train", rng)
            for axis in AXES
            if axis != "layout" and rng.random() < variation_prob
        }
        seed = SEED_OFFSET + int(rng.integers(2**31 - 1))
        obs, _ = env.reset(seed=seed, options={"scene": scene, "variations": variations})
        for c in cameras:
            images[c][index] = obs[f"rgb_{c}"]
        for qa in scene_questions(env, rng, questions_per_scene):
            questions.append({"scene": index, **qa})
    env.close()
    meta = {
        "env": TABLETOP,
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
    parser.add_argument("--size", type=int, default=200, help="static camera resolution, pixels")
    parser.add_argument("--gripper-size", type=int, default=84, help="gripper camera resolution, pixels")
    parser.add_argument("--variation-prob", type=float, default=VARIATION_PROB, help="chance each visual axis varies")
    parser.add_argument("--key", default="collect-vl", help="seeds the scenes; another key gives held-out scenes")
    parser.set_defaults(func=_command)
