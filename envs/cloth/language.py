"""Instructions for the cloth tasks, read from ``envs/assets/language/cloth.yaml``.

``train`` phrasings are what demonstrations are annotated with; ``eval`` phrasings (other templates
and other words for the garment) are held out; the out-of-distribution categories are the other
families' (paraphrase, synonym, abstract, multilingual, distractor).
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from envs.assets import asset_path
from envs.cloth.garments import SHAPES
from envs.cloth.tasks import get_task
from envs.errors import unknown_name_error
from envs.utils.conventions import INSTRUCTION_SPLITS

SPLITS = INSTRUCTION_SPLITS
OOD_CATEGORIES = ("paraphrase", "synonym", "abstract", "multilingual", "distractor")


@lru_cache(maxsize=1)
def language_bank() -> dict:
    with open(asset_path("language/cloth.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def garment_word(shape: str, split: str) -> str:
    if shape not in SHAPES:
        raise unknown_name_error("garment shape", shape, SHAPES)
    return language_bank()["garment_words"][shape]["train" if split == "train" else "eval"]


@lru_cache(maxsize=512)
def instructions(task: str, split: str = "train", shape: str = "square") -> tuple[str, ...]:
    """Every phrasing of ``task`` in ``split`` (train, eval or an out-of-distribution category),
    with the garment named as ``split`` names it."""
    get_task(task)
    if split not in (*SPLITS, *OOD_CATEGORIES):
        raise unknown_name_error("instruction split", split, (*SPLITS, *OOD_CATEGORIES))
    word = garment_word(shape, split)
    return tuple(p.format(garment=word) for p in language_bank()["tasks"][task][split])


def invalid_training_requests() -> tuple[str, ...]:
    """The impossible requests a policy may train on (train phrasings of the invalid tasks)."""
    return tuple(
        dict.fromkeys(
            p
            for task in ("absent_garment", "impossible_fold")
            for shape in SHAPES
            for p in instructions(task, "train", shape)
        )
    )
