"""Evaluation suites: frozen, versioned lists of episodes, each identified by a content hash.

A suite is generated deterministically from its name and version; every results file records the
suite's hash, so two numbers are comparable only when they were earned on the same episodes.
Building a suite imports the environment package's task list, instruction banks and axes (and
with them the mujoco module) but compiles no model and runs no simulation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np

TABLETOP = "GRBench/Tabletop-v0"
TIDY = "GRBench/Tidy-v0"
TRAINING_SCENES = ("A", "B", "C")
HELD_OUT_SCENE = "D"
MAX_STEPS_PER_TASK = 360  # control steps, as CALVIN
INVALID_MAX_STEPS = 120  # control steps an agent is watched on an impossible request
TIDY_SCENES = ("A", "B")  # the tidying room has no held-out scene: its unseen settings are the axes
# request categories the tidy language phrases with training words in training scenes; the tray
# (unseen_destination) and impossible requests (invalid) are only asked in ood-instruction
TIDY_SEEN_CATEGORIES = ("whole_table", "one_object", "several_objects", "several_destinations")
TIDY_LONG_HORIZON_EPISODES = 50  # full clean-ups, half in each scene


@dataclass(frozen=True)
class Episode:
    """One evaluation episode: everything needed to reproduce it, and what it tests."""

    episode_id: str
    env_id: str
    scene: str
    tasks: tuple[str, ...]  # one task, or a long-horizon chain
    instructions: tuple[str, ...]  # one per task
    seed: int  # seeds the initial state (and a seeded agent)
    # tabletop: train, eval, paraphrase, synonym, abstract, multilingual, distractor, invalid;
    # tidy: the request's category (envs.tidy.tasks.CATEGORIES, invalid among them)
    instruction_category: str
    axis: str  # generalization axis tested: none (seen), an unseen-scene axis, instruction, long_horizon
    variations: dict[str, Any] = field(default_factory=dict)  # axis -> value, applied at reset
    initial_state: dict[str, Any] | None = None  # symbolic state; None: sampled from the seed
    max_steps: int | None = MAX_STEPS_PER_TASK  # per task; None: the environment's own budget (it truncates)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Episode:
        return cls(**{**data, "tasks": tuple(data["tasks"]), "instructions": tuple(data["instructions"])})


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    description: str
    episodes: tuple[Episode, ...]

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the name, version and episodes."""
        payload = {"name": self.name, "version": self.version, "episodes": [e.to_json() for e in self.episodes]}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def with_secret(self, secret: str) -> Suite:
        """The hidden split: the same episodes with seeds drawn from a maintainer's secret, so a
        top submission can be re-run on initial states nobody tuned on."""
        if not secret.strip():
            raise ValueError("the secret for the hidden split is empty")
        episodes = tuple(replace(e, seed=_seed("hidden", secret, e.episode_id)) for e in self.episodes)
        return Suite(self.name, self.version, f"{self.description} (hidden split)", episodes)

    def select(
        self,
        *,
        env: str | None = None,
        task: str | tuple[str, ...] | None = None,
        axis: str | None = None,
        category: str | None = None,
        episodes: int | None = None,
    ) -> Suite:
        """A filtered view (a deterministic evenly spaced subsample when ``episodes`` is given).

        ``task`` keeps episodes that include the task, or any of several tasks; ``category`` keeps
        episodes of one instruction category (train, eval, ..., invalid)."""
        wanted = (task,) if isinstance(task, str) else task
        self._check_names("environment", [env] if env else [], {e.env_id for e in self.episodes})
        self._check_names("task", wanted or [], {t for e in self.episodes for t in e.tasks})
        self._check_names("axis", [axis] if axis else [], {e.axis for e in self.episodes})
        self._check_names(
            "instruction category", [category] if category else [], {e.instruction_category for e in self.episodes}
        )
        if episodes is not None and episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {episodes}")
        chosen = [
            e
            for e in self.episodes
            if (env is None or e.env_id == env)
            and (wanted is None or any(t in e.tasks for t in wanted))
            and (axis is None or e.axis == axis)
            and (category is None or e.instruction_category == category)
        ]
        if episodes is not None and episodes < len(chosen):
            chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, episodes).round().astype(int)]
        return Suite(self.name, self.version, self.description, tuple(chosen))

    def _check_names(self, kind: str, names, known: set[str]) -> None:
        """A name no episode of this suite has is a typo, not an empty selection."""
        from envs.errors import close_matches

        for name in names:
            if name not in known:
                close = close_matches(name, known)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValueError(
                    f"suite {self.name!r} has no episode with {kind} {name!r}.{hint} "
                    f"Its {kind} values: {', '.join(sorted(known))}."
                )


def _rng(*key: Any) -> np.random.Generator:
    """A generator seeded from a readable key, stable across Python versions and machines."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _seed(*key: Any) -> int:
    return int(_rng(*key).integers(2**31 - 1))


def _tabletop_tasks() -> list[str]:
    from envs.tabletop.tasks import TASKS

    return list(TASKS)


def _single(
    suite: str,
    task: str,
    scene: str,
    i: int,
    category: str,
    axis: str,
    instruction: str,
    variations: dict | None = None,
    max_steps: int = MAX_STEPS_PER_TASK,
) -> Episode:
    key = (suite, task, scene, category, axis, i)
    return Episode(
        episode_id="/".join([suite, axis, category, task, scene, str(i)]),
        env_id=TABLETOP,
        scene=scene,
        tasks=(task,),
        instructions=(instruction,),
        seed=_seed(*key),
        instruction_category=category,
        axis=axis,
        variations=variations or {},
        max_steps=max_steps,
    )


def _tidy(
    suite: str, task: str, scene: str, i: int, category: str, axis: str, split: str, variations: dict | None = None
) -> Episode:
    """A table-tidying episode: ``category`` is the request's (``envs.tidy.tasks.CATEGORIES``), the
    phrasing comes from the tidy bank's ``split``, and the environment's own step budget applies."""
    from envs.tidy.language import instructions

    rng = _rng(suite, TIDY, task, scene, category, axis, i)
    phrasings = instructions(task, split)
    return Episode(
        episode_id="/".join([suite, "tidy", axis, category, task, scene, str(i)]),
        env_id=TIDY,
        scene=scene,
        tasks=(task,),
        instructions=(phrasings[int(rng.integers(len(phrasings)))],),
        seed=_seed(suite, TIDY, task, scene, category, axis, i),
        instruction_category=category,
        axis=axis,
        variations=variations or {},
        max_steps=None,
    )


def _pick(tasks: tuple[str, ...], *key: Any) -> str:
    return tasks[int(_rng(*key).integers(len(tasks)))]


def _check_version(name: str, version: int) -> None:
    if version not in VERSIONS[name]:
        raise ValueError(f"suite {name!r} has versions {list(VERSIONS[name])}, not {version!r}")


def _tidy_requests(suite: str, categories, axis: str, split: str, per_scene: int) -> list[Episode]:
    """``per_scene`` tidy episodes of each request category in each tidy scene, a task of the
    category picked per episode from the suite's key, phrased from ``split``."""
    from envs.tidy.tasks import tasks_in_category

    episodes = []
    for category in categories:
        for scene in TIDY_SCENES:
            for i in range(per_scene):
                task = _pick(tasks_in_category(category), suite, TIDY, category, scene, i)
                episodes.append(_tidy(suite, task, scene, i, category, axis, split))
    return episodes


def build_seen(version: int = 2, per_scene: int = 2, tidy_per_scene: int = 2) -> Suite:
    """v1: every tabletop task in training scenes A-C with training phrasings. v2 adds, in the
    tidying room's scenes A and B, tasks of every seen request category with training phrasings."""
    from envs.tabletop.language import instructions

    _check_version("seen", version)
    episodes = []
    for task in _tabletop_tasks():
        phrasings = instructions(task, "train")
        for scene in TRAINING_SCENES:
            for i in range(per_scene):
                phrase = phrasings[int(_rng("seen", task, scene, i).integers(len(phrasings)))]
                episodes.append(_single("seen", task, scene, i, "train", "none", phrase))
    description = "every task in training scenes A-C with training phrasings"
    if version >= 2:
        episodes += _tidy_requests("seen", TIDY_SEEN_CATEGORIES, "none", "train", tidy_per_scene)
        description += "; tidy: every seen request category in scenes A and B"
    return Suite("seen", version, description, tuple(episodes))


def build_smoke(version: int = 1) -> Suite:
    _check_version("smoke", version)
    seen = build_seen(version=1, per_scene=1)
    picks = ("open_drawer", "turn_on_led", "move_slider_left", "lift_red_block_table")
    episodes = tuple(e for e in seen.episodes if e.tasks[0] in picks and e.scene == "A")
    return Suite("smoke", version, "four quick tasks in scene A, for CI", episodes)


def build_ood_instruction(version: int = 2, per_category: int = 1, tidy_per_scene: int = 2) -> Suite:
    """Training scenes, every instruction category (held-out language; the scene is familiar).
    v2 adds tidy requests of every category (the tray, impossible requests) with evaluation phrasings."""
    from envs.tabletop.language import instructions
    from envs.tabletop.language_ood import OOD_CATEGORIES, invalid_instructions, ood_instructions

    _check_version("ood-instruction", version)
    episodes = []
    for task in _tabletop_tasks():
        for category in ("eval", *OOD_CATEGORIES):
            for i in range(per_category):
                rng = _rng("ood", task, category, i)
                scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
                bank = instructions(task, "eval") if category == "eval" else ood_instructions(task, category, scene)
                phrase = bank[int(rng.integers(len(bank)))]
                episodes.append(_single("ood-instruction", task, scene, i, category, "instruction", phrase))
    # impossible requests: the initial state comes from some task, the instruction from none
    invalid = invalid_instructions()
    for i, phrase in enumerate(invalid):
        rng = _rng("ood", "invalid", i)
        tasks = _tabletop_tasks()
        task = tasks[int(rng.integers(len(tasks)))]
        scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
        episodes.append(
            _single("ood-instruction", task, scene, i, "invalid", "instruction", phrase, max_steps=INVALID_MAX_STEPS)
        )
    description = "training scenes, every instruction category incl. invalid"
    if version >= 2:
        from envs.tidy.tasks import CATEGORIES

        episodes += _tidy_requests("ood-instruction", CATEGORIES, "instruction", "eval", tidy_per_scene)
        description += "; tidy: every request category (tray, absent objects) with evaluation phrasings"
    return Suite("ood-instruction", version, description, tuple(episodes))


def build_unseen(version: int = 2, per_axis: int = 1) -> Suite:
    """Every unseen-scene axis, each task under it, training phrasings. v2 adds every tidy axis
    with an unseen value, in scenes A and B: the full clean-up and one request each. The axes and
    their unseen ranges are the version's own (``UNSEEN_AXES``), not the environments' live ones."""
    from envs.tabletop.language import instructions
    from envs.tabletop.variations import AXES
    from envs.utils.axes import axis_named

    _check_version("unseen", version)
    axes = UNSEEN_AXES[version]
    episodes = []
    for axis, unseen_range in axes[TABLETOP]:
        sampler = axis_named(AXES, axis).sampler
        for task in _tabletop_tasks():
            phrasings = instructions(task, "train")
            for i in range(per_axis):
                rng = _rng("unseen", axis, task, i)
                if axis == "layout":
                    scene, variations = HELD_OUT_SCENE, {}
                else:
                    scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
                    variations = {axis: sampler(unseen_range, rng)}
                phrase = phrasings[int(rng.integers(len(phrasings)))]
                episodes.append(_single("unseen", task, scene, i, "train", axis, phrase, variations))
    description = "every task under every unseen-scene axis, training phrasings"
    if TIDY in axes:
        from envs.tidy.objects import TRAIN_KINDS, UNSEEN_KINDS
        from envs.tidy.tasks import tasks_in_category
        from envs.tidy.variations import AXES as TIDY_AXES

        for axis, unseen_range in axes[TIDY]:
            sampler = axis_named(TIDY_AXES, axis).sampler
            # under unseen objects, the request names one of them
            kinds = UNSEEN_KINDS if axis == "object_set" else TRAIN_KINDS
            for scene in TIDY_SCENES:
                rng = _rng("unseen", TIDY, axis, scene)
                request_category = TIDY_SEEN_CATEGORIES[1 + int(rng.integers(len(TIDY_SEEN_CATEGORIES) - 1))]
                requests = tasks_in_category(request_category, kinds)
                request = requests[int(rng.integers(len(requests)))]
                for i, (task, category) in enumerate((("clear_table", "whole_table"), (request, request_category))):
                    variations = {axis: sampler(unseen_range, _rng("unseen", TIDY, axis, scene, i))}
                    episodes.append(_tidy("unseen", task, scene, i, category, axis, "train", variations))
        description += "; tidy: every axis, clean-up and a request, scenes A and B"
    return Suite("unseen", version, description, tuple(episodes))


def build_long_horizon(version: int = 2, chains: int = 1000, tidy: int = TIDY_LONG_HORIZON_EPISODES) -> Suite:
    """CALVIN's protocol: 5-task chains from a symbolic initial state, in the held-out scene D with
    evaluation phrasings (ABC->D), and in scenes A-D. v2 adds the tidying protocol: the full
    clean-up of a table of six objects, in scenes A and B, with evaluation phrasings."""
    from envs.tabletop.chains import sample_chain
    from envs.tabletop.language import instructions

    _check_version("long-horizon", version)
    episodes = []
    for protocol, scenes in (("ABC-D", (HELD_OUT_SCENE,)), ("ABCD-D", ("A", "B", "C", "D"))):
        for i in range(chains):
            rng = _rng("long-horizon", protocol, i)
            start, chain = sample_chain(rng)
            scene = scenes[int(rng.integers(len(scenes)))]
            phrases = tuple(str(rng.choice(instructions(t, "eval"))) for t in chain)
            episodes.append(
                Episode(
                    episode_id=f"long-horizon/{protocol}/{i}",
                    env_id=TABLETOP,
                    scene=scene,
                    tasks=chain,
                    instructions=phrases,
                    seed=_seed("long-horizon", protocol, i),
                    instruction_category="eval",
                    axis=f"long_horizon_{protocol}",
                    initial_state=start.as_dict(),
                )
            )
    description = f"{chains} five-task chains per protocol (ABC->D and ABCD->D)"
    if version >= 2:
        for i in range(tidy):
            scene = TIDY_SCENES[i % len(TIDY_SCENES)]
            episodes.append(_tidy("long-horizon", "clear_table", scene, i, "whole_table", "long_horizon_tidy", "eval"))
        description += f"; tidy: {tidy} full clean-ups in scenes A and B"
    return Suite("long-horizon", version, description, tuple(episodes))


BUILDERS = {
    "smoke": build_smoke,
    "seen": build_seen,
    "unseen": build_unseen,
    "ood-instruction": build_ood_instruction,
    "long-horizon": build_long_horizon,
}
# every released version of each suite, oldest first; the last is the current one. A new version
# keeps the episodes of the one before byte-identical where it can, so records can be reused
VERSIONS = {
    "smoke": (1,),
    "seen": (1, 2),
    "unseen": (1, 2),
    "ood-instruction": (1, 2),
    "long-horizon": (1, 2),
}


# What each released version of `unseen` draws from, per environment: its axes, in the order its
# episodes are built, each with the unseen range it was released with. A version reads only these
# names and ranges (and the axes' samplers), never the live axis lists, so adding an axis or editing
# a range in envs/*/variations.py cannot move a released episode; it reaches the suite as a new
# version with its own entry here. tests/test_suite_versions.py checks every released hash against
# leaderboards/manifest.json and fails while the current version's pins differ from the live axes.
_UNSEEN_TABLE = {
    "rgb": {"hue": [0.2, 0.95], "saturation": [0.45, 0.75], "value": [0.45, 0.8]},
    "grain_scale": [0.75, 0.85],
}
_UNSEEN_LIGHTING = {
    "intensity": [0.5, 0.7],
    "elevation_deg": [15.0, 30.0],
    "azimuth_deg": [0.0, 360.0],
    "rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.6], "value": [1.0, 1.0]},
}
_UNSEEN_BACKGROUND = {
    "wall_rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.7], "value": [0.45, 0.85]},
    "floor_rgb": {"hue": [0.0, 1.0], "saturation": [0.35, 0.7], "value": [0.45, 0.85]},
}
_TABLETOP_UNSEEN_V1 = (
    ("table_appearance", _UNSEEN_TABLE),
    ("lighting", _UNSEEN_LIGHTING),
    ("camera_pose", {"shift_m": [0.03, 0.06], "rotation_deg": [3.0, 6.0]}),
    ("background", _UNSEEN_BACKGROUND),
    (
        "distractors",
        {
            "count": [1, 3],
            "kinds": ["mug", "ball", "box"],
            "rgb": {
                "palette": [
                    [1.0, 0.55, 0.1],
                    [0.1, 0.8, 0.85],
                    [0.5, 0.2, 0.7],
                    [0.6, 0.9, 0.2],
                    [0.95, 0.85, 0.15],
                    [0.1, 0.5, 0.45],
                ],
                "jitter": 0.03,
            },
        },
    ),
    (
        "novel_object_appearance",
        {
            "red": {"palette": [[0.55, 0.04, 0.08], [0.95, 0.35, 0.12], [0.75, 0.1, 0.35]], "jitter": 0.02},
            "blue": {"palette": [[0.1, 0.55, 0.9], [0.06, 0.1, 0.45], [0.38, 0.3, 0.9]], "jitter": 0.02},
            "pink": {"palette": [[0.85, 0.2, 0.6], [1.0, 0.72, 0.78], [0.78, 0.45, 0.88]], "jitter": 0.02},
        },
    ),
    ("layout", {"scene": [HELD_OUT_SCENE]}),  # picks the scene; no value is drawn
)
_TIDY_UNSEEN_V2 = (
    ("object_set", {"unseen_fraction": [0.5, 1.0]}),
    ("object_count", {"count": [8, 9]}),
    ("clutter", {"count": [2, 3], "kinds": ["vase", "salt", "pepper", "napkin_holder", "candle"]}),
    ("table_appearance", _UNSEEN_TABLE),
    ("lighting", _UNSEEN_LIGHTING),
    ("background", _UNSEEN_BACKGROUND),
)
UNSEEN_AXES: dict[int, dict[str, tuple[tuple[str, dict[str, Any]], ...]]] = {
    1: {TABLETOP: _TABLETOP_UNSEEN_V1},
    2: {TABLETOP: _TABLETOP_UNSEEN_V1, TIDY: _TIDY_UNSEEN_V2},
}


@cache
def get_suite(name: str, version: int | None = None) -> Suite:
    """The suite ``name`` at ``version`` (default: the current one)."""
    if name not in BUILDERS:
        from envs.errors import unknown_name_error

        raise unknown_name_error("suite", name, BUILDERS)
    return BUILDERS[name](version=VERSIONS[name][-1] if version is None else version)
