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
class Stage:
    """A training run before the recipe's own, into its own folder of the work folder: an image
    tokenizer (GR-2's VQGAN) or a pre-training stage, on the recipe's demonstrations."""

    name: str  # its folder; what a later stage's ``tokenizer`` or ``init`` names
    agent: str
    steps: int
    stage: str = "finetune"  # the trainer's --stage
    config: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)  # config fields (--set)
    batch_size: int = 8
    lr: float = 3e-4
    warmup_steps: int = 200
    checkpoint_every: int = 500
    tokenizer: str | None = None  # an earlier stage's name: its checkpoint is this stage's --tokenizer


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
    before: tuple[Stage, ...] = ()  # runs trained first, in order
    tokenizer: str | None = None  # a stage of ``before`` whose checkpoint is the model's --tokenizer
    init: str | None = None  # a stage of ``before`` whose checkpoint the model starts from (--init)

    def __post_init__(self):
        earlier: list[str] = []
        for stage in self.before:
            if stage.tokenizer is not None and stage.tokenizer not in earlier:
                raise ValueError(
                    f"recipe {self.name}: stage {stage.name}'s tokenizer {stage.tokenizer!r} is no earlier stage"
                )
            earlier.append(stage.name)
        for field_name in ("tokenizer", "init"):
            if getattr(self, field_name) not in (None, *earlier):
                raise ValueError(
                    f"recipe {self.name}: {field_name} {getattr(self, field_name)!r} is none of its stages {earlier}"
                )


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
        Recipe(
            "gr1-tiny-scene-state",
            "gr1",
            "a diagnostic control, not a reference: gr1-tiny's recipe with the simulator's scene_obs (object "
            "poses, drawer and slider positions) joined to its state, to measure how much of its gap is perception",
            (TABLETOP,),
            overrides={"scene_state": True},
            steps=30000,
            lr=5e-4,
        ),
        Recipe(
            "gr2-tiny",
            "gr2",
            "GR-2 tiny on all 34 tabletop tasks: its image tokenizer, then fine-tuning on the demonstrations with "
            "actions and next-frame tokens (video weight 0.1)",
            (TABLETOP,),
            # the stages as measured on four tasks (docs/training.md, scripts/gr2_experiment.sh): the tokenizer's
            # 1,500 steps of batch 16 reach 24 dB; fine-tuning at video weight 0.1 from the tokenizer alone solved
            # 17, 11 and 12 of 24 seen episodes (seeds 0-2), from 1,500 steps of video pre-training 13/24 (6/24
            # against 8/24 at GR-2's weight 1): pre-training on the same demonstrations' frames did not help, so
            # its 9 CPU-minutes are not spent.
            # 20,000 steps at 0.36 CPU-s are 2 CPU-h, about 3 with the tokenizer and the collection
            before=(Stage("vqgan", "vqgan", 1500, batch_size=16, warmup_steps=100),),
            tokenizer="vqgan",
            overrides={"video_weight": 0.1},
            steps=20000,
        ),
    )
}
