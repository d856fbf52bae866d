"""What a collection is: the ``CollectionSpec`` (its environment family's descriptor says which
expert, cameras, robot and recorded vectors) and the validation of the arguments that decide a
dataset's content (``make_spec``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

COLLECT_SEED_OFFSET = 2**31  # suite seeds (gr_bench.suites._seed) are below 2**31 - 1; collection seeds above
VARIATION_PROB = 0.5  # chance that a visual axis is varied in an episode


def default_env() -> str:
    """The first registered family's environment: the one collect knew before there were others
    (and the default of ``--env``)."""
    import envs  # noqa: F401  (registers the built-in families)
    from envs.family import families

    return families()[0].env_id


@dataclass(frozen=True)
class CollectionSpec:
    """Everything that decides the dataset's content (the number of workers does not)."""

    suite: str
    tasks: tuple[str, ...]
    scenes: tuple[str, ...]
    episodes_per_task: int
    size: int  # the family's main cameras (size_option "size"), pixels (square)
    gripper_size: int  # its small cameras (size_option "gripper_size": gripper, wrists), pixels (square)
    variation_prob: float
    env: str = field(default_factory=default_env)
    action_noise: float = 0.0  # DART perturbation of the executed action (gr_bench.collect.noise); 0: clean

    @property
    def family(self):
        """The environment family's descriptor (``envs.family.Family``)."""
        from envs.family import family_named

        return family_named(self.env)

    def resolution(self) -> dict[str, int]:
        """Camera -> pixels, as the environment takes it."""
        sizes = {"size": self.size, "gripper_size": self.gripper_size}
        return {camera.name: sizes[camera.size_option] for camera in self.family.cameras}

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
    action_noise: float = 0.0,
) -> CollectionSpec:
    """Validate the arguments (a ValueError says what is wrong) and resolve the defaults."""
    from envs.errors import unknown_name_error
    from envs.family import family_named
    from gr_bench.suites import get_suite

    family = family_named(env or default_env())
    env = family.env_id
    missing = family.missing_requirement()
    if missing:
        raise ValueError(missing)
    defaults = {camera.size_option: camera.default_size for camera in reversed(family.cameras)}
    size = defaults.get("size", 0) if size is None else size
    gripper_size = defaults.get("gripper_size", defaults.get("size", 0)) if gripper_size is None else gripper_size
    if isinstance(episodes_per_task, bool) or not isinstance(episodes_per_task, int) or episodes_per_task < 1:
        raise ValueError(f"--episodes-per-task must be a positive integer, got {episodes_per_task!r}")
    for name, value in (("--size", size), ("--gripper-size", gripper_size)):
        if not isinstance(value, int) or value < 16 or value % 2:
            raise ValueError(f"{name} must be an even number of pixels >= 16 (H.264 video), got {value!r}")
    if not 0.0 <= variation_prob <= 1.0:
        raise ValueError(f"--variation-prob must be in [0, 1], got {variation_prob!r}")
    if isinstance(action_noise, bool) or not isinstance(action_noise, int | float) or not 0.0 <= action_noise <= 1.0:
        raise ValueError(f"--action-noise must be a number in [0, 1] (std, action units), got {action_noise!r}")
    episodes = [e for e in get_suite(suite).episodes if e.env_id == env]
    if not episodes:
        raise ValueError(f"suite {suite!r} has no episode in {env}")
    # a family whose tasks are a closed list orders them its own way; one that parses requests lists examples
    all_tasks = tuple(family.tasks()) if family.closed_tasks else ()
    all_scenes = family.scenes
    suite_tasks = list(dict.fromkeys(t for e in episodes for t in e.tasks))
    if all_tasks:
        suite_tasks = [t for t in all_tasks if t in suite_tasks]
    if tasks is None:
        tasks = suite_tasks
    for task in tasks:
        if task not in suite_tasks:
            if all_tasks and task not in all_tasks:
                raise unknown_name_error("task", task, all_tasks)
            raise ValueError(f"task {task!r} is not in suite {suite!r}; its tasks: {', '.join(suite_tasks)}")
    if len(set(tasks)) != len(tasks) or not tasks:
        raise ValueError(f"--tasks must name at least one task, each once; got {list(tasks)}")
    if scenes is None:
        scenes = [s for s in family.training_scenes if any(e.scene == s for e in episodes)]
        if not scenes:
            raise ValueError(f"suite {suite!r} has no training scene; name the scenes with --scenes")
    for scene in scenes:
        if scene not in all_scenes:
            raise unknown_name_error("scene", scene, all_scenes)
    if len(set(scenes)) != len(scenes) or not scenes:
        raise ValueError(f"--scenes must name at least one scene, each once; got {list(scenes)}")
    return CollectionSpec(
        suite,
        tuple(tasks),
        tuple(scenes),
        episodes_per_task,
        size,
        gripper_size,
        variation_prob,
        env,
        float(action_noise),
    )
