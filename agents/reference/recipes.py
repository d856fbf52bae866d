"""The reference recipes: which demonstrations each shipped reference is trained on, and how.

``gr-bench train --recipe NAME`` (``gr_bench/recipes.py``) runs one: it collects with the scripted
experts, then trains. Environment ids and robot names are the recipes' data; the harness reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Collection:
    """One ``gr-bench collect`` call."""

    name: str  # folder under the data root
    env: str
    suite: str  # whose tasks and training scenes
    episodes_per_task: int


@dataclass(frozen=True)
class Recipe:
    name: str
    agent: str
    description: str
    collections: tuple[Collection, ...]
    config: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)  # model config fields (--set)
    steps: int = 2000
    batch_size: int = 8
    lr: float = 3e-4
    warmup_steps: int = 500
    checkpoint_every: int = 5000
    seed: int = 0


TABLETOP = Collection("tabletop", "GRBench/Tabletop-v0", "seen", 100)
TIDY = Collection("tidy", "GRBench/Tidy-v0", "seen", 20)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "gr1-tiny",
            "gr1",
            "GR-1 tiny on all 34 tabletop tasks: 100 expert demonstrations per task in scenes A-C",
            (TABLETOP,),
            steps=30000,
            lr=5e-4,
        ),
        Recipe(
            "gr3-tiny",
            "gr3",
            "one GR-3 tiny for both robots: the 34 tabletop tasks (Panda) and the tidy requests (ByteMini), "
            "with task-status training",
            (TABLETOP, TIDY),
            overrides={"robot_weights": {"tabletop_arm": 0.6, "bytemini": 0.4}},
            steps=100000,
        ),
    )
}
