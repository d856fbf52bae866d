"""Instructions for the tidying tasks, read from ``envs/assets/language/tidy.yaml``.

``train`` phrasings are what demonstrations are annotated with; ``eval`` phrasings (other templates,
other words for the objects and containers) are held out for evaluation.
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from envs.assets import asset_path
from envs.errors import unknown_name_error
from envs.tidy.tasks import CLEAR_TABLE, get_task
from envs.utils.conventions import INSTRUCTION_SPLITS

SPLITS = INSTRUCTION_SPLITS


@lru_cache(maxsize=1)
def language_bank() -> dict:
    """The raw bank: whole_table, requests, destinations, objects and absent, each split train/eval."""
    with open(asset_path("language/tidy.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _the(nouns: list[str]) -> str:
    things = [f"the {n}" for n in nouns]
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]


@lru_cache(maxsize=4096)
def instructions(task: str, split: str = "train") -> tuple[str, ...]:
    """Every phrasing of ``task`` in ``split``, the canonical one first.

    A request's phrasings are its templates, each with the first, second, ... words of every object
    and destination (a word list shorter than the others repeats)."""
    if split not in SPLITS:
        raise unknown_name_error("instruction split", split, SPLITS)
    parsed = get_task(task)
    bank = language_bank()
    if parsed.name == CLEAR_TABLE:
        return tuple(bank["whole_table"][split])
    words = {**bank["objects"], **bank["absent"]}
    # clauses: (object kinds, destination), consecutive objects with one destination grouped
    clauses: list[tuple[list[str], str]] = []
    for kind, dest in parsed.request:
        if clauses and clauses[-1][1] == dest:
            clauses[-1][0].append(kind)
        else:
            clauses.append(([kind], dest))
    lists = [words[k][split] for kinds, _ in clauses for k in kinds]
    lists += [bank["destinations"][d][split] for _, d in clauses]
    variants = max(len(w) for w in lists)
    phrasings = []
    for template in bank["requests"][split]:
        for i in range(variants):
            goals_text = " and ".join(
                f"{_the([words[k][split][i % len(words[k][split])] for k in kinds])} "
                f"{bank['destinations'][dest][split][i % len(bank['destinations'][dest][split])]}"
                for kinds, dest in clauses
            )
            phrasings.append(template.format(goals=goals_text))
    return tuple(dict.fromkeys(phrasings))
