"""What an evaluation episode is, and the seeding every suite track draws from.

Both live in ``envs/`` because each environment family generates its own suite tracks
(``envs/<family>/tracks.py``); ``gr_bench.suites`` composes the tracks into versioned suites.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

MAX_STEPS_PER_TASK = 360  # control steps, as CALVIN
# scoring rules of an episode: 2, an impossible request succeeds when the agent reports `invalid`
# or touches nothing; 3, only when it reports `invalid` (idling earns nothing), and after each
# task's success the agent is asked once whether it is done (status calibration)
RULES = (2, 3)


@dataclass(frozen=True)
class Episode:
    """One evaluation episode: everything needed to reproduce it, and what it tests."""

    episode_id: str
    env_id: str
    scene: str
    tasks: tuple[str, ...]  # one task, or a long-horizon chain
    instructions: tuple[str, ...]  # one per task
    seed: int  # seeds the initial state (and a seeded agent)
    # the family's instruction category: train, eval, an out-of-distribution kind, invalid, or the
    # category of a request (the family's own names)
    instruction_category: str
    axis: str  # generalization axis tested: none (seen), an unseen-scene axis, instruction, long_horizon_*
    variations: dict[str, Any] = field(default_factory=dict)  # axis -> value, applied at reset
    initial_state: dict[str, Any] | None = None  # symbolic state; None: sampled from the seed
    max_steps: int | None = MAX_STEPS_PER_TASK  # per task; None: the environment's own budget (it truncates)
    # how the episode is scored (``RULES``); written only where it is not 2, so that the episodes
    # of suites released before there were other rules keep their JSON and hashes
    rules: int = 2
    # False: scored and reported beside the headline, not in it (a task a blind control solves
    # whatever the initial state: docs/blind_controls.md); written only where False
    headline: bool = True

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["rules"] == 2:
            del data["rules"]
        if data["headline"]:
            del data["headline"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Episode:
        return cls(**{**data, "tasks": tuple(data["tasks"]), "instructions": tuple(data["instructions"])})


def rules_3(episodes: list[Episode]) -> list[Episode]:
    """``episodes`` scored by rules 3 (``RULES``): what a track of a version from 3 on does to the
    episodes of its earlier version."""
    return [replace(e, rules=3) for e in episodes]


def keyed_rng(*key: Any) -> np.random.Generator:
    """A generator seeded from a readable key, stable across Python versions and machines."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def keyed_seed(*key: Any) -> int:
    """An episode seed (below 2**31 - 1) from a readable key."""
    return int(keyed_rng(*key).integers(2**31 - 1))


def pick(options: tuple[str, ...], *key: Any) -> str:
    """One of ``options``, chosen by ``key``."""
    return options[int(keyed_rng(*key).integers(len(options)))]
