"""Out-of-distribution instructions for the tabletop tasks, read from
``envs/assets/language/tabletop_ood.yaml``, for generalisation tests in the spirit of GR-3's.

Per task: held-out paraphrases, synonyms, abstract references (a block by its size, everything else
by function or common sense), other languages (Chinese, German, French) and long instructions with
distracting context. A shared list of invalid requests names things that are not in the scene; the
right behaviour there is to touch nothing.
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from envs.assets import asset_path
from envs.errors import unknown_name_error
from envs.tabletop.scenes import get_scene
from envs.tabletop.tasks import TASKS

OOD_CATEGORIES = ("paraphrase", "synonym", "abstract", "multilingual", "distractor")
# how an abstract instruction names a block by its size; the sizes of the colours differ per scene
SIZE_WORDS = {"small": "smallest", "medium": "medium-sized", "large": "largest"}


@lru_cache(maxsize=1)
def ood_bank() -> dict:
    """The raw bank: ``{"tasks": {task: {category: [phrasing, ...]}}, "invalid": [...], ...}``."""
    with open(asset_path("language/tabletop_ood.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def ood_instructions(task: str, category: str, scene: str) -> tuple[str, ...]:
    """The ``category`` phrasings of ``task`` with ``{size}`` filled in for ``scene``.

    Only abstract phrasings of tasks that name a block contain ``{size}``: "lift the {size} block
    off the table" becomes "lift the medium-sized block off the table" in scene A, where the red
    block is the medium one.
    """
    tasks = ood_bank()["tasks"]
    if task not in tasks:
        raise unknown_name_error("task", task, tasks)
    if category not in OOD_CATEGORIES:
        raise unknown_name_error("instruction category", category, OOD_CATEGORIES)
    block_size = get_scene(scene).block_size  # checks the scene's name even when no block is named
    colour = TASKS[task].block
    size = SIZE_WORDS[block_size[colour]] if colour else None
    phrasings = tasks[task][category]
    return tuple(p.replace("{size}", size) if size else p for p in phrasings)


def invalid_instructions() -> tuple[str, ...]:
    """Requests about colours, objects or appliances that are not in the scene (for evaluation)."""
    return tuple(ood_bank()["invalid"])


def invalid_training_instructions() -> tuple[str, ...]:
    """Requests about things that are not in the scene, for training a task-status output; they
    name no colour, object or appliance of ``invalid_instructions``."""
    return tuple(ood_bank()["invalid_train"])
