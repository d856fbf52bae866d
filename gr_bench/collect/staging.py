"""The output folder and its durable per-episode staging: preparing or recognising ``OUT``, writing a
staged file atomically, and reading the staged attempts back (a damaged one is discarded, so that it
is recorded again)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.atomic import atomic_path, write_atomic
from gr_bench.collect.spec import CollectionSpec, default_env

if TYPE_CHECKING:  # attempts runs rollouts, which stage through this module
    from gr_bench.collect.attempts import AttemptGroup

STAGING = ".staging"
ASSEMBLY = ".assembly"
COLLECTION_PATH = "meta/collection.json"  # how the dataset was collected; marks it as gr-bench's


def stage_name(task: str, scene: str, index: int) -> str:
    return f"{task}.{scene}.{index:05d}"


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def read_staging(staging: Path, groups: dict[tuple[str, str], AttemptGroup], cameras: Sequence[str]) -> None:
    for path in sorted(staging.iterdir()):
        if path.name.startswith("."):  # a file cut short by a kill
            path.unlink()
            continue
        parts = path.name.split(".")
        if len(parts) < 4 or (parts[0], parts[1]) not in groups or not parts[2].isdigit():
            continue
        key, index = (parts[0], parts[1]), int(parts[2])
        if path.name.endswith(".failed.json"):
            try:
                groups[key].failed[index] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                _discard_staged(staging, path, f"{path.name} is damaged ({exc})")
        elif path.suffix == ".npz":
            problem = _staged_problem(staging, path, cameras)
            if problem:
                _discard_staged(staging, path, problem)
            else:
                groups[key].ok.add(index)


def _staged_problem(staging: Path, npz: Path, cameras: Sequence[str]) -> str | None:
    """Why a staged episode cannot be assembled (a file cut short or missing), or None."""
    import zipfile

    from agents.data.video_io import VideoError, count_frames

    stem = npz.name.removesuffix(".npz")
    try:
        with np.load(npz) as staged:
            missing = {"robot_obs", "scene_obs", "action", "meta"} - set(staged.files)
            arrays = {key: staged[key] for key in staged.files}  # reading each array checks its CRC
        length = len(arrays["action"]) if not missing else 0
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return f"{npz.name} is damaged ({exc})"
    if missing:
        return f"{npz.name} lacks {sorted(missing)}"
    for camera in cameras:
        video = staging / f"{stem}.{camera}.mp4"
        try:
            frames = count_frames(video) if video.is_file() else None
        except VideoError as exc:
            return str(exc)
        if frames != length:
            return f"{video.name} is missing or cut short ({frames} frames for {length} steps)"
    return None


def _discard_staged(staging: Path, path: Path, problem: str) -> None:
    """Remove a damaged staged attempt (all its files) so that it is recorded again."""
    import sys

    stem = ".".join(path.name.split(".")[:3])
    print(f"gr-bench collect: {problem}; recording {stem} again", file=sys.stderr)
    for file in staging.glob(f"{stem}.*"):
        file.unlink()


def check_out(out: Path, spec: CollectionSpec) -> bool:
    """Prepare ``out``; True when it already holds this collection, finished."""
    staging = out / STAGING
    wanted = spec.to_json()
    if (out / "meta" / "info.json").exists():
        try:
            existing = json.loads((out / COLLECTION_PATH).read_text(encoding="utf-8"))["arguments"]
            existing.setdefault("env", default_env())  # written before collect knew other environments
            existing.setdefault("action_noise", 0.0)  # written before collect knew perturbed rollouts
        except (OSError, json.JSONDecodeError, KeyError):
            raise ValueError(
                f"{out} holds a dataset that gr-bench collect did not write; choose another --out"
            ) from None
        if existing != wanted:
            raise ValueError(f"{out} holds a different dataset ({_difference(existing, wanted)}); choose another --out")
        for leftover in (staging, out / ASSEMBLY):  # a kill between the last two steps
            shutil.rmtree(leftover, ignore_errors=True)
        return True
    run_path = staging / "run.json"
    if run_path.exists():
        existing = json.loads(run_path.read_text(encoding="utf-8"))
        existing.setdefault("env", default_env())
        existing.setdefault("action_noise", 0.0)
        if existing != wanted:
            raise ValueError(
                f"{out} holds an interrupted collection with other arguments ({_difference(existing, wanted)}); "
                "rerun it with its own arguments to finish it, or choose another --out"
            )
        return False
    if out.exists() and any(p for p in out.iterdir() if p.name != STAGING):
        raise ValueError(f"{out} is not empty and holds no gr-bench collection; choose a new or empty --out")
    staging.mkdir(parents=True, exist_ok=True)
    write_atomic(run_path, json.dumps(wanted, indent=1).encode())
    return False


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(f"{k}={old.get(k)!r} there, {new.get(k)!r} now" for k in new if old.get(k) != new.get(k))
