"""Environment families: each declared once, by a ``Family`` descriptor, and registered here.

A family is one Gymnasium environment with its robot, tasks, scenes, variation axes, language and
suite tracks. The harness (``gr_bench/``) reads descriptors and never names a family: adding one is
its package under ``envs/`` (or anywhere importable) plus one ``register_family`` call. Families
outside this package are found through the ``gr_bench.families`` entry-point group, or the
``GR_BENCH_FAMILIES`` environment variable (comma-separated modules that register on import).

Besides the Gymnasium API, a family's environment keeps this contract (``docs/architecture.md``):
``reset(seed, options={task, scene, instruction, variations, initial_state})``; ``info["success"]``
(and optionally ``info["progress"]``, ``info["subtasks"]``, ``info["max_steps"]`` when it truncates
by itself); ``begin_task(task, instruction)`` where it runs chains; ``no_op_action()``, the action
that keeps the robot as it is; ``untouched()``, whether nothing was moved since reset (how an
impossible request is judged); ``max_steps``; a ``cameras=`` and ``resolution=`` constructor
argument; observations ``rgb_<camera>``, ``robot_obs``, ``instruction`` and the privileged
``scene_obs``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from envs.utils.names import Lazy, resolve_name

NAMESPACE = "GRBench"


@dataclass(frozen=True)
class Camera:
    name: str
    size_option: str  # the collection option that sets its size: "size" (main) or "gripper_size" (small)
    default_size: int  # pixels (square) in collected data
    play_fraction: float = 1.0  # its size in `gr-bench play` videos, as a fraction of --size


@dataclass(frozen=True)
class Track:
    """A family's part of one version of a suite: its episodes and what they test.

    A track declared at version N is the family's part of every later version of the suite too,
    until the family declares a newer one; so adding a family or a track makes a new suite version
    and never moves an episode of a released one."""

    suite: str
    version: int
    description: str
    build: Callable[[], list]  # -> list[envs.episodes.Episode]
    # unseen-scene tracks: the axes and unseen ranges this version pins (never the live ones)
    axes: tuple[tuple[str, dict[str, Any]], ...] = ()
    # tracks whose released starts were screened (e.g. for blind-solvable tasks): episodes -> the
    # same episodes with every start the release would have screened moved as it did; a hidden
    # split's re-drawn seeds go through it, so that it draws from the released distribution
    rescreen: Callable[[list], list] | None = None


@dataclass(frozen=True)
class Family:
    """Everything the harness needs to know about one environment family."""

    id: str  # short name, e.g. "tabletop": the suite track and board of this family
    env_id: str  # the Gymnasium id, NAMESPACE/Name-vN
    entry_point: str  # module:Class of the environment
    max_episode_steps: int | None  # Gymnasium's time limit; None where the environment truncates per task
    description: str
    robot: str  # the robot_type its datasets record (LeRobot's field)
    cameras: tuple[Camera, ...]
    robot_obs_names: tuple[str, ...]  # what each entry of robot_obs is
    scene_obs_names: tuple[str, ...]  # what each entry of the privileged scene_obs is
    action_layout: tuple[tuple[str, int], ...]  # (part, width) of the default action space, in order
    expert: str  # module:Class of the scripted expert (privileged: plans from simulator state)
    default_task: str
    scenes: tuple[str, ...]
    training_scenes: tuple[str, ...]  # the others are held out
    # task name -> category, in the family's order; where requests are parsed (any composition is
    # a task), the listing shows examples and `closed_tasks` is False
    tasks: Callable[[], Mapping[str, str]]
    instructions: Callable[[str, str], tuple[str, ...]]  # (task, split: train or eval) -> phrasings
    invalid_training_requests: Callable[[], tuple[str, ...]]  # impossible requests a policy may train on
    axes: Callable[[], Mapping[str, Any]]  # name -> envs.utils.axes.Axis, the live variation axes
    tracks: Callable[[], tuple[Track, ...]]
    closed_tasks: bool = True
    scene_axes: tuple[str, ...] = ()  # axes whose unseen value is a held-out scene: never drawn, the scene is chosen
    # the environment grades its tasks in info["progress"] (results record it; a validator cannot
    # recompute it from the outcome, as it can the fraction of a chain's tasks done)
    measures_progress: bool = False
    # where the environment sets each task's budget itself: () -> the most control steps a task may take
    max_task_steps: Callable[[], int] | None = None
    # optional: (sim, rng) -> visual question-answer pairs from privileged state, for co-training data
    scene_questions: Callable[..., Any] | None = None
    # (Python module, gr-bench extra that installs it) its environment needs beyond the core install
    requires: tuple[tuple[str, str], ...] = ()

    def missing_requirement(self) -> str | None:
        """None, or one line saying which module this family's environment lacks and how to install it."""
        import importlib.util

        for module, extra in self.requires:
            if importlib.util.find_spec(module) is None:
                return f"{self.env_id} needs {module}, which is not installed: pip install -e '.[{extra}]'"
        return None

    @property
    def camera_keys(self) -> tuple[str, ...]:
        return tuple(f"rgb_{c.name}" for c in self.cameras)

    @property
    def action_dim(self) -> int:
        return sum(width for _, width in self.action_layout)

    def track(self, suite: str, version: int) -> Track | None:
        """This family's part of ``suite`` at ``version``: its newest track declared at or before it."""
        declared = [t for t in self.tracks() if t.suite == suite and t.version <= version]
        return max(declared, key=lambda t: t.version) if declared else None

    def expert_class(self):
        return resolve_name(self.expert)


_FAMILIES: dict[str, Family] = {}  # id -> family, in registration order
_DISCOVERED = False


def register_family(family: Family) -> Family:
    """Add ``family`` (and its Gymnasium id). Registering the same descriptor twice is harmless;
    another family under a taken id or env id is an error."""
    import gymnasium as gym

    if family.id == "all":  # the name of every family's episodes together: a suite's `all` track and board
        raise ValueError("a family's id cannot be 'all': that names the whole suite's track")
    for other in _FAMILIES.values():
        if other == family:
            return family
        if family.id == other.id or family.env_id == other.env_id:
            raise ValueError(f"family {family.id!r} ({family.env_id}) clashes with the registered {other.id!r}")
    _FAMILIES[family.id] = family
    if family.env_id not in gym.registry:
        gym.register(id=family.env_id, entry_point=family.entry_point, max_episode_steps=family.max_episode_steps)
    return family


def unregister_family(family_id: str) -> None:
    """Remove a family (tests that register one of their own clean up with this)."""
    import gymnasium as gym

    family = _FAMILIES.pop(family_id, None)
    if family is not None:
        gym.registry.pop(family.env_id, None)


@contextmanager
def registered(family: Family) -> Iterator[Family]:
    """``family`` registered for the duration of a ``with`` block."""
    register_family(family)
    try:
        yield family
    finally:
        unregister_family(family.id)


def _discover() -> None:
    """Import the families installed by other packages (entry points) or named in GR_BENCH_FAMILIES."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    from importlib.metadata import entry_points

    for point in entry_points(group="gr_bench.families"):
        loaded = point.load()
        for family in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
            if isinstance(family, Family):
                register_family(family)
    for module in filter(None, (m.strip() for m in os.environ.get("GR_BENCH_FAMILIES", "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValueError(f"GR_BENCH_FAMILIES names {module!r}, which does not import: {exc}") from exc


def families() -> tuple[Family, ...]:
    """Every registered family, in registration order (the built-in ones first)."""
    _discover()
    return tuple(_FAMILIES.values())


def family_named(name: str) -> Family:
    """The family whose id or environment id is ``name``, or a clear error with close matches."""
    from envs.errors import unknown_name_error

    for family in families():
        if name in (family.id, family.env_id):
            return family
    raise unknown_name_error("environment", name, [f.env_id for f in families()])


def family_of(env) -> Family:
    """The family of an environment (wrapped or not; also one built without gym.make)."""
    spec = getattr(env, "spec", None)
    if spec is not None and any(f.env_id == spec.id for f in families()):
        return family_named(spec.id)
    inner = getattr(env, "unwrapped", env)
    entry = f"{type(inner).__module__}:{type(inner).__name__}"
    for family in families():
        if family.entry_point == entry:
            return family
    raise ValueError(f"{type(inner).__name__} is no registered environment family's environment")


def family_for_robot(robot: str) -> Family:
    """The family whose robot (its datasets' robot_type) is ``robot``."""
    from envs.errors import unknown_name_error

    for family in families():
        if family.robot == robot:
            return family
    raise unknown_name_error("robot", robot, [f.robot for f in families()])


def lazy(path: str) -> Lazy:
    """A descriptor field's function, imported when first called (declaring costs nothing)."""
    return Lazy(path)
