"""``gr-bench collect``: demonstrations of the scripted expert, written as a LeRobot v3.0 dataset.

For every task of a suite in one environment (the tabletop by default, or the table-tidying room),
``episodes_per_task`` successful expert rollouts in the suite's training scenes (the tabletop's
held-out scene D only when asked for by name), each with a training phrasing and, per variation
axis with probability ``variation_prob``, a value from that axis's training range. Episode
``i`` of a task in a scene is seeded from the key ("collect", task, scene, i), shifted above every
suite seed so that no demonstration starts from an evaluation episode's initial state. A failed
rollout is recorded and replaced by the next index.

Worker processes stage each finished episode under ``OUT/.staging`` (mp4 per camera, then an npz
that marks it complete, each written atomically); a killed collection, rerun with the same
arguments, resumes from the staged episodes; a final step writes the v3 files and removes the
staging. The dataset does not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

COLLECT_SEED_OFFSET = 2**31  # suite seeds (gr_bench.suites._seed) are below 2**31 - 1; collection seeds above
VARIATION_PROB = 0.5  # chance that a visual axis is varied in an episode
MIN_FAILURES_ALLOWED = 10  # failed rollouts of a (task, scene) before it is given up, or its quota if more
STAGING = ".staging"
ASSEMBLY = ".assembly"
COLLECTION_PATH = "meta/collection.json"  # how the dataset was collected; marks it as gr-bench's
TABLETOP = "GRBench/Tabletop-v0"
TIDY = "GRBench/Tidy-v0"
_POSE = ("x", "y", "z", "euler_x", "euler_y", "euler_z")


@dataclass(frozen=True)
class EnvProfile:
    """What collecting in one environment needs: its expert, cameras, robot and recorded vectors."""

    expert: str  # module:Class of the scripted expert
    cameras: tuple[tuple[str, str], ...]  # (camera, the size argument that sets it: size or gripper_size)
    default_sizes: tuple[int, int]  # pixels: size, gripper_size
    robot_type: str
    # names of the recorded vectors, as the environment documents robot_obs and scene_obs
    robot_obs_names: tuple[str, ...]
    scene_obs_names: tuple[str, ...]

    @property
    def camera_keys(self) -> tuple[str, ...]:
        return tuple(f"rgb_{c}" for c, _ in self.cameras)


ENV_PROFILES = {
    TABLETOP: EnvProfile(
        expert="envs.tabletop.expert:ScriptedExpert",
        cameras=(("static", "size"), ("gripper", "gripper_size")),
        default_sizes=(200, 84),
        robot_type="franka_panda",
        robot_obs_names=(
            *("tcp_x", "tcp_y", "tcp_z", "tcp_euler_x", "tcp_euler_y", "tcp_euler_z", "gripper_width"),
            *(f"joint_{i}" for i in range(1, 8)),
            "gripper_action",
        ),
        scene_obs_names=(
            *("slider", "drawer", "button", "switch", "lightbulb", "led"),
            *(f"{c}_{q}" for c in ("red", "blue", "pink") for q in _POSE),
        ),
    ),
    # the tidy env's docstring documents both layouts (robot_obs 39, scene_obs 84)
    TIDY: EnvProfile(
        expert="envs.tidy.expert:TidyExpert",
        cameras=(("head", "size"), ("left_wrist", "gripper_size"), ("right_wrist", "gripper_size")),
        default_sizes=(224, 128),
        robot_type="bytemini",
        robot_obs_names=(
            *("base_x", "base_y", "base_yaw", "base_forward_speed", "base_left_speed", "base_yaw_rate"),
            *("lift", "head_pan", "head_tilt"),
            *(f"{side}_joint_{i}" for side in ("left", "right") for i in range(1, 8)),
            *("left_gripper_width", "right_gripper_width"),
            *(f"{side}_tcp_{q}" for side in ("left", "right") for q in _POSE),
            *("left_gripper_action", "right_gripper_action"),
        ),
        scene_obs_names=(
            *(f"{box}_{q}" for box in ("tub", "bin", "tray") for q in ("out", "x", "y", "z")),
            *(
                f"object_{i}_{q}"
                for i in range(9)
                for q in ("present", "kind", "com_x", "com_y", "com_z", "euler_x", "euler_y", "euler_z")
            ),
        ),
    ),
}

DESCRIPTION = (
    "Roll out the scripted expert on the suite's tasks in its training scenes, with training phrasings "
    "and training-range visual variations; keep the successful episodes and write them as a LeRobot v3.0 "
    "dataset. Rerun a killed collection with the same command to resume it."
)
EXAMPLES = """examples:
  gr-bench collect --suite seen --episodes-per-task 50 --out data/seen --workers 2
  gr-bench collect --suite seen --env GRBench/Tidy-v0 --episodes-per-task 10 --out data/tidy
  gr-bench collect --suite seen --episodes-per-task 2 --tasks open_drawer,close_drawer --out /tmp/d
  gr-bench collect --suite long-horizon --episodes-per-task 20 --scenes A,B,C,D --out data/abcd
  (rerun a killed collection with the same command: it resumes from the staged episodes)
"""


@dataclass(frozen=True)
class CollectionSpec:
    """Everything that decides the dataset's content (the number of workers does not)."""

    suite: str
    tasks: tuple[str, ...]
    scenes: tuple[str, ...]
    episodes_per_task: int
    size: int  # static (tabletop) or head (tidy) camera, pixels (square)
    gripper_size: int  # gripper (tabletop) or both wrist (tidy) cameras, pixels (square)
    variation_prob: float
    env: str = TABLETOP

    @property
    def profile(self) -> EnvProfile:
        return ENV_PROFILES[self.env]

    def resolution(self) -> dict[str, int]:
        """Camera -> pixels, as the environment takes it."""
        sizes = {"size": self.size, "gripper_size": self.gripper_size}
        return {camera: sizes[which] for camera, which in self.profile.cameras}

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "tasks": list(self.tasks), "scenes": list(self.scenes)}

    def quotas(self) -> dict[tuple[str, str], int]:
        """(task, scene) -> successful episodes wanted. A task's episodes go round the scenes,
        starting one scene further for each task so that the scenes get equal shares overall."""
        out = {(t, s): 0 for t in self.tasks for s in self.scenes}
        for k, task in enumerate(self.tasks):
            for j in range(self.episodes_per_task):
                out[task, self.scenes[(k + j) % len(self.scenes)]] += 1
        return {key: n for key, n in out.items() if n}


def make_spec(
    suite: str,
    episodes_per_task: int,
    *,
    tasks: Sequence[str] | None = None,
    scenes: Sequence[str] | None = None,
    size: int | None = None,
    gripper_size: int | None = None,
    variation_prob: float = VARIATION_PROB,
    env: str | None = None,
) -> CollectionSpec:
    """Validate the arguments (a ValueError says what is wrong) and resolve the defaults."""
    from envs.errors import unknown_name_error
    from gr_bench.suites import HELD_OUT_SCENE, get_suite

    env = env or TABLETOP
    if env not in ENV_PROFILES:
        raise unknown_name_error("environment", env, ENV_PROFILES)
    size = ENV_PROFILES[env].default_sizes[0] if size is None else size
    gripper_size = ENV_PROFILES[env].default_sizes[1] if gripper_size is None else gripper_size
    if isinstance(episodes_per_task, bool) or not isinstance(episodes_per_task, int) or episodes_per_task < 1:
        raise ValueError(f"--episodes-per-task must be a positive integer, got {episodes_per_task!r}")
    for name, value in (("--size", size), ("--gripper-size", gripper_size)):
        if not isinstance(value, int) or value < 16 or value % 2:
            raise ValueError(f"{name} must be an even number of pixels >= 16 (H.264 video), got {value!r}")
    if not 0.0 <= variation_prob <= 1.0:
        raise ValueError(f"--variation-prob must be in [0, 1], got {variation_prob!r}")
    episodes = [e for e in get_suite(suite).episodes if e.env_id == env]
    if not episodes:
        raise ValueError(f"suite {suite!r} has no episode in {env}")
    all_tasks, all_scenes = _tasks_and_scenes(env)
    suite_tasks = list(dict.fromkeys(t for e in episodes for t in e.tasks))
    if env == TABLETOP:
        suite_tasks = [t for t in all_tasks if t in suite_tasks]  # in the tabletop's own order
    if tasks is None:
        tasks = suite_tasks
    for task in tasks:
        if task not in suite_tasks:
            if env == TABLETOP and task not in all_tasks:
                raise unknown_name_error("task", task, all_tasks)
            raise ValueError(f"task {task!r} is not in suite {suite!r}; its tasks: {', '.join(suite_tasks)}")
    if len(set(tasks)) != len(tasks) or not tasks:
        raise ValueError(f"--tasks must name at least one task, each once; got {list(tasks)}")
    if scenes is None:
        scenes = [s for s in all_scenes if s != HELD_OUT_SCENE and any(e.scene == s for e in episodes)]
        if not scenes:
            raise ValueError(f"suite {suite!r} has no training scene; name the scenes with --scenes")
    for scene in scenes:
        if scene not in all_scenes:
            raise unknown_name_error("scene", scene, all_scenes)
    if len(set(scenes)) != len(scenes) or not scenes:
        raise ValueError(f"--scenes must name at least one scene, each once; got {list(scenes)}")
    return CollectionSpec(
        suite, tuple(tasks), tuple(scenes), episodes_per_task, size, gripper_size, variation_prob, env
    )


def _tasks_and_scenes(env: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every task name the environment lists (the tidy env parses requests, so none) and its scenes."""
    if env == TIDY:
        from envs.tidy.scenes import SCENES

        return (), tuple(SCENES)
    from envs.tabletop.scenes import SCENES
    from envs.tabletop.tasks import TASKS

    return tuple(TASKS), tuple(SCENES)


def episode_setup(spec: CollectionSpec, task: str, scene: str, index: int) -> dict[str, Any]:
    """Seed, instruction and variations of attempt ``index`` of ``task`` in ``scene``."""
    from gr_bench.suites import _rng

    if spec.env == TIDY:
        from envs.tidy.language import instructions
        from envs.tidy.variations import AXES, sample_variation
    else:
        from envs.tabletop.language import instructions
        from envs.tabletop.variations import AXES, sample_variation

    rng = _rng("collect", task, scene, index)
    seed = COLLECT_SEED_OFFSET + int(rng.integers(2**31 - 1))
    phrasings = instructions(task, "train")
    instruction = phrasings[int(rng.integers(len(phrasings)))]
    variations = {}
    for axis in AXES:
        if axis == "layout":  # the scene is chosen above; layout's unseen value is the held-out scene
            continue
        if rng.random() < spec.variation_prob:
            variations[axis] = sample_variation(axis, "train", rng)
    return {"seed": seed, "instruction": instruction, "variations": variations}


# --- rollouts (in worker processes) ---------------------------------------------------------------
class Recorder:
    """Owns an environment and the expert; runs one attempt and stages it."""

    def __init__(self, spec: CollectionSpec, staging: Path):
        import importlib

        import gymnasium as gym

        import envs  # noqa: F401  (registers the ids)

        self.spec, self.staging = spec, staging
        self.cameras = spec.profile.camera_keys
        self.env = gym.make(spec.env, resolution=spec.resolution()).unwrapped
        module, _, name = spec.profile.expert.partition(":")
        self.expert = getattr(importlib.import_module(module), name)(self.env)
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
            _write_atomic(self.staging / f"{name}.failed.json", json.dumps(result).encode())
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
        _write_npz(self.staging / f"{name}.npz", arrays)
        return meta

    def _rollout(self, task: str, scene: str, setup: dict[str, Any], max_steps: int):
        env, expert = self.env, self.expert
        options = {"task": task, "scene": scene, "instruction": setup["instruction"], "variations": setup["variations"]}
        obs, info = env.reset(seed=setup["seed"], options=options)
        expert.reset(setup["instruction"])
        observed = (*self.cameras, "robot_obs", "scene_obs")
        recorded: dict[str, list[np.ndarray]] = {k: [] for k in (*observed, "action")}
        # the tabletop runs CALVIN's budget; the tidy env truncates by itself, per task
        for _ in range(max_steps if self.spec.env == TABLETOP else info["max_steps"]):
            # what is recorded is exactly what the environment is given
            action = np.asarray(expert.act(obs), dtype=np.float32)
            for key in observed:
                recorded[key].append(obs[key])
            recorded["action"].append(action)
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        return recorded, info


_RECORDER: Recorder | None = None


def _init_worker(spec_json: dict[str, Any], staging: str) -> None:
    global _RECORDER
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    spec = CollectionSpec(**{**spec_json, "tasks": tuple(spec_json["tasks"]), "scenes": tuple(spec_json["scenes"])})
    _RECORDER = Recorder(spec, Path(staging))


def _run_in_worker(task: str, scene: str, index: int) -> dict[str, Any]:
    return _RECORDER.run(task, scene, index)


# --- staging ---------------------------------------------------------------------------------------
def stage_name(task: str, scene: str, index: int) -> str:
    return f"{task}.{scene}.{index:05d}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass
class _Group:
    """The attempts of one (task, scene): indices are tried smallest first, and a new one only
    when an attempt fails, so the kept episodes are the first ``quota`` successes whatever the
    order in which attempts finish or are resumed."""

    quota: int
    ok: set[int] = field(default_factory=set)
    failed: dict[int, dict[str, Any]] = field(default_factory=dict)
    running: set[int] = field(default_factory=set)

    def next_indices(self) -> list[int]:
        if len(self.failed) >= max(MIN_FAILURES_ALLOWED, self.quota):
            return []  # given up: the collection reports it
        picked, i = [], 0
        while len(self.ok) + len(self.running) + len(picked) < self.quota:
            if i not in self.ok and i not in self.failed and i not in self.running:
                picked.append(i)
            i += 1
        self.running.update(picked)
        return picked

    def record(self, index: int, result: dict[str, Any]) -> None:
        self.running.discard(index)
        if result["success"]:
            self.ok.add(index)
        else:
            self.failed[index] = result


def _read_staging(staging: Path, groups: dict[tuple[str, str], _Group], cameras: Sequence[str]) -> None:
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


def _check_out(out: Path, spec: CollectionSpec) -> bool:
    """Prepare ``out``; True when it already holds this collection, finished."""
    staging = out / STAGING
    wanted = spec.to_json()
    if (out / "meta" / "info.json").exists():
        try:
            existing = json.loads((out / COLLECTION_PATH).read_text(encoding="utf-8"))["arguments"]
            existing.setdefault("env", TABLETOP)  # written before collect knew other environments
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
        existing.setdefault("env", TABLETOP)
        if existing != wanted:
            raise ValueError(
                f"{out} holds an interrupted collection with other arguments ({_difference(existing, wanted)}); "
                "rerun it with its own arguments to finish it, or choose another --out"
            )
        return False
    if out.exists() and any(p for p in out.iterdir() if p.name != STAGING):
        raise ValueError(f"{out} is not empty and holds no gr-bench collection; choose a new or empty --out")
    staging.mkdir(parents=True, exist_ok=True)
    _write_atomic(run_path, json.dumps(wanted, indent=1).encode())
    return False


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(f"{k}={old.get(k)!r} there, {new.get(k)!r} now" for k in new if old.get(k) != new.get(k))


# --- the collection ---------------------------------------------------------------------------------
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
    )
    out = Path(out)
    if _check_out(out, spec):
        return json.loads((out / COLLECTION_PATH).read_text(encoding="utf-8"))
    staging = out / STAGING
    groups = {key: _Group(quota) for key, quota in spec.quotas().items()}
    _read_staging(staging, groups, spec.profile.camera_keys)
    _run_attempts(spec, staging, groups, workers, progress)
    return _assemble(out, spec, groups)


def _run_attempts(
    spec: CollectionSpec, staging: Path, groups: dict[tuple[str, str], _Group], workers: int, progress: bool
) -> None:
    bar = None
    if progress:
        from tqdm import tqdm

        done = sum(len(g.ok) for g in groups.values())
        bar = tqdm(total=sum(g.quota for g in groups.values()), initial=done, desc="collect", unit="episode")

    def record(key: tuple[str, str], index: int, result: dict[str, Any]) -> None:
        groups[key].record(index, result)
        if bar is not None:
            bar.update(int(result["success"]))
            bar.set_postfix(failed=sum(len(g.failed) for g in groups.values()))

    def pending() -> list[tuple[tuple[str, str], int]]:
        return [(key, i) for key, g in groups.items() for i in g.next_indices()]

    try:
        if workers == 1:
            recorder = None
            while batch := pending():
                recorder = recorder or Recorder(spec, staging)
                for key, index in batch:
                    record(key, index, recorder.run(*key, index))
            return
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        # spawn, not fork: a forked child of a process that holds an EGL context hangs
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(spec.to_json(), str(staging)),
        )
        try:
            running = {}
            while True:
                for key, index in pending():
                    running[pool.submit(_run_in_worker, *key, index)] = (key, index)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    key, index = running.pop(future)
                    record(key, index, future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar is not None:
            bar.close()


def _features(spec: CollectionSpec) -> tuple[dict[str, dict[str, Any]], int]:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the ids)

    profile = spec.profile
    env = gym.make(spec.env, cameras=()).unwrapped  # only for its spaces and conventions
    spaces = env.observation_space
    robot, scene = profile.robot_obs_names, profile.scene_obs_names
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


def _assemble(out: Path, spec: CollectionSpec, groups: dict[tuple[str, str], _Group]) -> dict[str, Any]:
    """Write the v3 files from the staged episodes, then remove the staging."""
    from agents.data.lerobot_format import IMAGE_PREFIX, STATS, EpisodeData, write_dataset

    staging, assembly = out / STAGING, out / ASSEMBLY
    features, fps = _features(spec)
    cameras = spec.profile.camera_keys
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
    info = write_dataset(assembly, episodes, features, fps, video_sizes=sizes, robot_type=spec.profile.robot_type)
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


# --- command line ----------------------------------------------------------------------------------
def _command(args: argparse.Namespace) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    collection = collect(
        args.suite,
        args.episodes_per_task,
        args.out,
        tasks=_names(args.tasks),
        scenes=_names(args.scenes),
        workers=args.workers,
        size=args.size,
        gripper_size=args.gripper_size,
        variation_prob=args.variation_prob,
        env=args.env,
    )
    print(
        f"{collection['episodes']} episodes, {collection['frames']} frames in {args.out} (LeRobot v3.0); "
        f"{len(collection['failed_attempts'])} failed rollouts replaced"
    )
    for group, got in collection["short"].items():
        print(f"warning: {group}: only {got} episodes (too many failed rollouts)")
    return 0


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="record scripted-expert demonstrations as a LeRobot v3 dataset",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", required=True, help="whose tasks and training scenes: seen, smoke, ...")
    parser.add_argument("--episodes-per-task", type=int, required=True, help="successful episodes per task")
    parser.add_argument("--out", required=True, help="dataset folder (new, empty, or an interrupted collection)")
    parser.add_argument("--tasks", help="comma-separated task names (default: every task of the suite)")
    parser.add_argument("--scenes", help="comma-separated scenes (default: the suite's training scenes)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (the dataset does not depend on it)")
    parser.add_argument(
        "--env", default=TABLETOP, help=f"whose episodes of the suite: {', '.join(ENV_PROFILES)} (default {TABLETOP})"
    )
    parser.add_argument(
        "--size", type=int, help="static (tabletop, default 200) or head (tidy, default 224) camera resolution, pixels"
    )
    parser.add_argument(
        "--gripper-size",
        type=int,
        help="gripper (tabletop, default 84) or wrist (tidy, default 128) camera resolution, pixels",
    )
    parser.add_argument(
        "--variation-prob", type=float, default=VARIATION_PROB, help="chance each visual axis is varied per episode"
    )
    parser.set_defaults(func=_command)
