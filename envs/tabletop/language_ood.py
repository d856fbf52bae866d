"""Out-of-distribution instructions for the tabletop tasks, read from
``envs/assets/language/tabletop_ood.yaml``: held-out paraphrases, synonyms, abstract references
(by size or by common sense), other languages, long instructions with distracting context, and
impossible requests that should be refused.
"""

from __future__ import annotations

from functools import cache

import yaml

from envs.assets import asset_path
from envs.errors import unknown_name_error
from envs.tabletop.scenes import get_scene
from envs.tabletop.tasks import TASKS

OOD_CATEGORIES = ("paraphrase", "synonym", "abstract", "multilingual", "distractor")
# how an abstract instruction names a block by its size in a scene
SIZE_WORDS = {"small": "smallest", "medium": "medium-sized", "large": "largest"}


@cache
def ood_bank() -> dict:
    with open(asset_path("language/tabletop_ood.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def ood_instructions(task: str, category: str, scene: str) -> tuple[str, ...]:
    """The phrasings of ``category`` for ``task``; ``{size}`` is filled in for ``scene``, where
    block sizes differ from scene to scene."""
    tasks = ood_bank()["tasks"]
    if task not in tasks:
        raise unknown_name_error("task", task, tasks)
    if category not in OOD_CATEGORIES:
        raise unknown_name_error("instruction category", category, OOD_CATEGORIES)
    phrasings = tasks[task][category]
    colour = TASKS[task].block
    if colour is None:
        return tuple(phrasings)
    size = SIZE_WORDS[get_scene(scene).block_size[colour]]
    return tuple(p.replace("{size}", size) for p in phrasings)


def invalid_instructions() -> tuple[str, ...]:
    """Requests about things that are not in the scene: the right answer is to touch nothing."""
    return tuple(ood_bank()["invalid"])
