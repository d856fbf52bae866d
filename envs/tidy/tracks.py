"""The tidying room's suite tracks (first released in version 2 of each suite).

As the tabletop's (``envs/tabletop/tracks.py``): each builder is the room's part of a suite exactly
as released, and `unseen` reads its axes and ranges from ``UNSEEN_V2``, pinned here.
"""

from __future__ import annotations

from typing import Any

from envs.episodes import Episode, keyed_rng, keyed_seed, pick, rules_3
from envs.family import Track
from envs.tabletop.tracks import UNSEEN_BACKGROUND, UNSEEN_LIGHTING, UNSEEN_TABLE

ENV_ID = "GRBench/Tidy-v0"
SCENES = ("A", "B")  # the room has no held-out scene: its unseen settings are the axes
# request categories phrased with training words in training scenes; the tray (unseen_destination)
# and impossible requests (invalid) are only asked in ood-instruction
SEEN_CATEGORIES = ("whole_table", "one_object", "several_objects", "several_destinations")
LONG_HORIZON_EPISODES = 50  # full clean-ups, half in each scene


def _episode(
    suite: str, task: str, scene: str, i: int, category: str, axis: str, split: str, variations: dict | None = None
) -> Episode:
    """A tidying episode: ``category`` is the request's (``envs.tidy.tasks.CATEGORIES``), the
    phrasing comes from the room's bank ``split``, and the environment's own step budget applies."""
    from envs.tidy.language import instructions

    rng = keyed_rng(suite, ENV_ID, task, scene, category, axis, i)
    phrasings = instructions(task, split)
    return Episode(
        episode_id="/".join([suite, "tidy", axis, category, task, scene, str(i)]),
        env_id=ENV_ID,
        scene=scene,
        tasks=(task,),
        instructions=(phrasings[int(rng.integers(len(phrasings)))],),
        seed=keyed_seed(suite, ENV_ID, task, scene, category, axis, i),
        instruction_category=category,
        axis=axis,
        variations=variations or {},
        max_steps=None,
    )


def _requests(suite: str, categories, axis: str, split: str, per_scene: int = 2) -> list[Episode]:
    """``per_scene`` episodes of each request category in each scene, a task of the category
    picked per episode from the suite's key, phrased from ``split``."""
    from envs.tidy.tasks import tasks_in_category

    episodes = []
    for category in categories:
        for scene in SCENES:
            for i in range(per_scene):
                task = pick(tasks_in_category(category), suite, ENV_ID, category, scene, i)
                episodes.append(_episode(suite, task, scene, i, category, axis, split))
    return episodes


def seen() -> list[Episode]:
    return _requests("seen", SEEN_CATEGORIES, "none", "train")


def ood_instruction() -> list[Episode]:
    from envs.tidy.tasks import CATEGORIES

    return _requests("ood-instruction", CATEGORIES, "instruction", "eval")


def unseen(axes: tuple[tuple[str, dict[str, Any]], ...]) -> list[Episode]:
    """Every pinned axis with an unseen value, in scenes A and B: the full clean-up and one request
    each (under unseen objects, the request names one of them)."""
    from envs.tidy.objects import TRAIN_KINDS, UNSEEN_KINDS
    from envs.tidy.tasks import tasks_in_category
    from envs.tidy.variations import AXES
    from envs.utils.axes import axis_named

    episodes = []
    for axis, unseen_range in axes:
        sampler = axis_named(AXES, axis).sampler
        kinds = UNSEEN_KINDS if axis == "object_set" else TRAIN_KINDS
        for scene in SCENES:
            rng = keyed_rng("unseen", ENV_ID, axis, scene)
            request_category = SEEN_CATEGORIES[1 + int(rng.integers(len(SEEN_CATEGORIES) - 1))]
            requests = tasks_in_category(request_category, kinds)
            request = requests[int(rng.integers(len(requests)))]
            for i, (task, category) in enumerate((("clear_table", "whole_table"), (request, request_category))):
                variations = {axis: sampler(unseen_range, keyed_rng("unseen", ENV_ID, axis, scene, i))}
                episodes.append(_episode("unseen", task, scene, i, category, axis, "train", variations))
    return episodes


def long_horizon(episodes: int = LONG_HORIZON_EPISODES) -> list[Episode]:
    """The tidying protocol: full clean-ups of a table of six objects, with evaluation phrasings."""
    return [
        _episode("long-horizon", "clear_table", SCENES[i % len(SCENES)], i, "whole_table", "long_horizon_tidy", "eval")
        for i in range(episodes)
    ]


UNSEEN_V2 = (
    ("object_set", {"unseen_fraction": [0.5, 1.0]}),
    ("object_count", {"count": [8, 9]}),
    ("clutter", {"count": [2, 3], "kinds": ["vase", "salt", "pepper", "napkin_holder", "candle"]}),
    ("table_appearance", UNSEEN_TABLE),
    ("lighting", UNSEEN_LIGHTING),
    ("background", UNSEEN_BACKGROUND),
)

TRACKS = (
    Track("seen", 2, "tidy: every seen request category in scenes A and B", seen),
    Track(
        "unseen",
        2,
        "tidy: every axis, clean-up and a request, scenes A and B",
        lambda: unseen(UNSEEN_V2),
        axes=UNSEEN_V2,
    ),
    Track(
        "ood-instruction",
        2,
        "tidy: every request category (tray, absent objects) with evaluation phrasings",
        ood_instruction,
    ),
    Track("long-horizon", 2, f"tidy: {LONG_HORIZON_EPISODES} full clean-ups in scenes A and B", long_horizon),
    # v3: the same episodes scored by rules 3 (an impossible request succeeds only when refused)
    Track("seen", 3, "tidy: every seen request category in scenes A and B", lambda: rules_3(seen())),
    Track(
        "unseen",
        3,
        "tidy: every axis, clean-up and a request, scenes A and B",
        lambda: rules_3(unseen(UNSEEN_V2)),
        axes=UNSEEN_V2,
    ),
    Track(
        "ood-instruction",
        3,
        "tidy: every request category (tray, absent objects) with evaluation phrasings; refusals scored by status",
        lambda: rules_3(ood_instruction()),
    ),
    Track(
        "long-horizon",
        3,
        f"tidy: {LONG_HORIZON_EPISODES} full clean-ups in scenes A and B",
        lambda: rules_3(long_horizon()),
    ),
)


def tracks() -> tuple[Track, ...]:
    return TRACKS
