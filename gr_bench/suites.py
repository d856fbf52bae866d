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
TRAINING_SCENES = ("A", "B", "C")
HELD_OUT_SCENE = "D"
MAX_STEPS_PER_TASK = 360  # control steps, as CALVIN
INVALID_MAX_STEPS = 120  # control steps an agent is watched on an impossible request


@dataclass(frozen=True)
class Episode:
    """One evaluation episode: everything needed to reproduce it, and what it tests."""

    episode_id: str
    env_id: str
    scene: str
    tasks: tuple[str, ...]  # one task, or a long-horizon chain
    instructions: tuple[str, ...]  # one per task
    seed: int  # seeds the initial state (and a seeded agent)
    instruction_category: str  # train, eval, paraphrase, synonym, abstract, multilingual, distractor, invalid
    axis: str  # generalization axis tested: none (seen), an unseen-scene axis, instruction, long_horizon
    variations: dict[str, Any] = field(default_factory=dict)  # axis -> value, applied at reset
    initial_state: dict[str, Any] | None = None  # symbolic state; None: sampled from the seed
    max_steps: int = MAX_STEPS_PER_TASK  # per task

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
        episodes: int | None = None,
    ) -> Suite:
        """A filtered view (a deterministic evenly spaced subsample when ``episodes`` is given).

        ``task`` keeps episodes that include the task, or any of several tasks."""
        wanted = (task,) if isinstance(task, str) else task
        chosen = [
            e
            for e in self.episodes
            if (env is None or e.env_id == env)
            and (wanted is None or any(t in e.tasks for t in wanted))
            and (axis is None or e.axis == axis)
        ]
        if episodes is not None and episodes < len(chosen):
            chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, episodes).round().astype(int)]
        return Suite(self.name, self.version, self.description, tuple(chosen))


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


def build_seen(per_scene: int = 2) -> Suite:
    from envs.tabletop.language import instructions

    episodes = []
    for task in _tabletop_tasks():
        phrasings = instructions(task, "train")
        for scene in TRAINING_SCENES:
            for i in range(per_scene):
                phrase = phrasings[int(_rng("seen", task, scene, i).integers(len(phrasings)))]
                episodes.append(_single("seen", task, scene, i, "train", "none", phrase))
    return Suite("seen", 1, "every task in training scenes A-C with training phrasings", tuple(episodes))


def build_smoke() -> Suite:
    seen = build_seen(per_scene=1)
    picks = ("open_drawer", "turn_on_led", "move_slider_left", "lift_red_block_table")
    episodes = tuple(e for e in seen.episodes if e.tasks[0] in picks and e.scene == "A")
    return Suite("smoke", 1, "four quick tasks in scene A, for CI", episodes)


def build_ood_instruction(per_category: int = 1) -> Suite:
    """Training scenes, every instruction category (held-out language; the scene is familiar)."""
    from envs.tabletop.language import instructions
    from envs.tabletop.language_ood import OOD_CATEGORIES, invalid_instructions, ood_instructions

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
    return Suite("ood-instruction", 1, "training scenes, every instruction category incl. invalid", tuple(episodes))


def build_unseen(per_axis: int = 1) -> Suite:
    """Every unseen-scene axis, each task under it, training phrasings."""
    from envs.tabletop.language import instructions
    from envs.tabletop.variations import AXES, sample_variation

    episodes = []
    for axis in AXES:
        for task in _tabletop_tasks():
            phrasings = instructions(task, "train")
            for i in range(per_axis):
                rng = _rng("unseen", axis, task, i)
                if axis == "layout":
                    scene, variations = HELD_OUT_SCENE, {}
                else:
                    scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
                    variations = {axis: sample_variation(axis, "unseen", rng)}
                phrase = phrasings[int(rng.integers(len(phrasings)))]
                episodes.append(_single("unseen", task, scene, i, "train", axis, phrase, variations))
    return Suite("unseen", 1, "every task under every unseen-scene axis, training phrasings", tuple(episodes))


def build_long_horizon(chains: int = 1000) -> Suite:
    """CALVIN's protocol: 5-task chains from a symbolic initial state, in the held-out scene D with
    evaluation phrasings (ABC->D), and in scenes A-D."""
    from envs.tabletop.chains import sample_chain
    from envs.tabletop.language import instructions

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
    return Suite("long-horizon", 1, "1000 five-task chains per protocol (ABC->D and ABCD->D)", tuple(episodes))


BUILDERS = {
    "smoke": build_smoke,
    "seen": build_seen,
    "unseen": build_unseen,
    "ood-instruction": build_ood_instruction,
    "long-horizon": build_long_horizon,
}


@cache
def get_suite(name: str) -> Suite:
    if name not in BUILDERS:
        from envs.errors import unknown_name_error

        raise unknown_name_error("suite", name, BUILDERS)
    return BUILDERS[name]()
