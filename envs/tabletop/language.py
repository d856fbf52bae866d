"""Instructions for the tabletop tasks, read from ``envs/assets/language/tabletop.yaml``.

``train`` phrasings are what demonstrations are annotated with; ``eval`` phrasings are held out
and only used for evaluation, as CALVIN's are.
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from envs.assets import asset_path
from envs.errors import unknown_name_error


@lru_cache(maxsize=1)
def instruction_bank() -> dict[str, dict[str, tuple[str, ...]]]:
    """task -> split -> phrasings."""
    with open(asset_path("language/tabletop.yaml"), encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return {task: {split: tuple(p) for split, p in splits.items()} for task, splits in raw["tasks"].items()}


def instructions(task: str, split: str = "train") -> tuple[str, ...]:
    bank = instruction_bank()
    if task not in bank:
        raise unknown_name_error("task", task, bank)
    if split not in bank[task]:
        raise unknown_name_error("instruction split", split, bank[task])
    return bank[task][split]
