"""The one place where gr-bench environment ids are registered.

A released id never changes behaviour: a change gets a new version beside the old one.
"""

from __future__ import annotations

import gymnasium as gym

NAMESPACE = "GRBench"
# id -> (entry point, max episode steps; None where the environment truncates by itself, per task)
ENVIRONMENTS = {
    f"{NAMESPACE}/Tabletop-v0": ("envs.tabletop.env:TabletopEnv", 360),
    f"{NAMESPACE}/Tidy-v0": ("envs.tidy.env:TidyEnv", None),
}


def register_all() -> None:
    for env_id, (entry_point, max_steps) in ENVIRONMENTS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)
