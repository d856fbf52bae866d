"""What a collection is: the environment profiles, the ``CollectionSpec`` and the validation of the
arguments that decide a dataset's content (``make_spec``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

COLLECT_SEED_OFFSET = 2**31  # suite seeds (gr_bench.suites._seed) are below 2**31 - 1; collection seeds above
VARIATION_PROB = 0.5  # chance that a visual axis is varied in an episode
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
