"""``gr-bench collect``: demonstrations of the scripted expert, written as a LeRobot v3.0 dataset.

For every task of a suite in one environment family (the first registered by default),
``episodes_per_task`` successful expert rollouts in the family's training scenes of the suite
(held-out scenes only when asked for by name), each with a training phrasing and, per variation
axis with probability ``variation_prob``, a value from that axis's training range. Episode
``i`` of a task in a scene is seeded from the key ("collect", task, scene, i), shifted above every
suite seed so that no demonstration starts from an evaluation episode's initial state. A failed
rollout is recorded and replaced by the next index.

Worker processes stage each finished episode under ``OUT/.staging`` (mp4 per camera, then an npz
that marks it complete, each written atomically); a killed collection, rerun with the same
arguments, resumes from the staged episodes; a final step writes the v3 files and removes the
staging. The dataset does not depend on the number of workers.

The parts: ``spec`` (what a collection is, argument validation), ``rollout`` (one attempt of the
expert, staged), ``attempts`` (which attempts run, in which process), ``staging`` (the output folder
and the staged episodes), ``assembly`` (the v3 dataset), ``cli`` (``gr-bench collect``); this module
runs them in order (``collect``) and re-exports their public names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gr_bench.collect.assembly import assemble
from gr_bench.collect.attempts import MIN_FAILURES_ALLOWED, AttemptGroup, run_attempts
from gr_bench.collect.cli import DESCRIPTION, EXAMPLES, add_parser
from gr_bench.collect.rollout import Recorder, episode_setup
from gr_bench.collect.spec import (
    COLLECT_SEED_OFFSET,
    VARIATION_PROB,
    CollectionSpec,
    default_env,
    make_spec,
)
from gr_bench.collect.staging import ASSEMBLY, COLLECTION_PATH, STAGING, check_out, read_staging, stage_name

__all__ = [
    "ASSEMBLY",
    "COLLECT_SEED_OFFSET",
    "COLLECTION_PATH",
    "DESCRIPTION",
    "EXAMPLES",
    "MIN_FAILURES_ALLOWED",
    "STAGING",
    "VARIATION_PROB",
    "AttemptGroup",
    "CollectionSpec",
    "default_env",
    "Recorder",
    "add_parser",
    "collect",
    "episode_setup",
    "make_spec",
    "stage_name",
]


def collect(
    suite: str,
    episodes_per_task: int,
    out: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    scenes: Sequence[str] | None = None,
    workers: int = 1,
    size: int | None = None,
    gripper_size: int | None = None,
    variation_prob: float = VARIATION_PROB,
    env: str | None = None,
    action_noise: float = 0.0,
    progress: bool = True,
) -> dict[str, Any]:
    """Collect expert demonstrations into ``out`` (LeRobot v3.0); returns meta/collection.json's content."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {workers!r}")
    spec = make_spec(
        suite,
        episodes_per_task,
        tasks=tasks,
        scenes=scenes,
        size=size,
        gripper_size=gripper_size,
        variation_prob=variation_prob,
        env=env,
        action_noise=action_noise,
    )
    out = Path(out)
    if check_out(out, spec):
        return json.loads((out / COLLECTION_PATH).read_text(encoding="utf-8"))
    staging = out / STAGING
    groups = {key: AttemptGroup(quota) for key, quota in spec.quotas().items()}
    read_staging(staging, groups, spec.family.camera_keys)
    run_attempts(spec, staging, groups, workers, progress)
    return assemble(out, spec, groups)
