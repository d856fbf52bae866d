"""The cloth table's suite tracks (first released in version 4 of each suite; hanging on the rack
joined in version 5).

As the other families' (``envs/tabletop/tracks.py``): each builder is the table's part of a suite
exactly as released, scored by rules 3, and ``unseen`` reads its axes and ranges from
``UNSEEN_V4``, pinned here. Every episode runs to the environment's own step budget per task
(``max_steps=None``: a larger garment gets proportionally more, ``envs.cloth.env._budget``).

- ``seen``: every task in every training garment it applies to (flatten, fold in half and, from v5,
  hang on the square and the towel, the diagonal fold on the square), training phrasings.
- ``unseen``: the square under each pinned axis, every task that axis changes; the held-out
  T-shirt (``garment_shape``) flattened and folded.
- ``ood-instruction``: every task under evaluation phrasings and each out-of-distribution
  category, in a training garment; the two kinds of impossible request.
- ``long-horizon``: flatten a crumpled garment, then fold it (in half, or on the square
  diagonally) and, from v5, hang it on the rack, evaluation phrasings.

Version 5 adds ``hang`` to every track (v4's episodes are all in v5, each the same episode: a task's
episodes are keyed by the task, never by the list of tasks) and makes each chain a three-task one.

Every builder takes the cloth table's ``env_id``: ByteMini's cloth table (``envs.cloth_bytemini.tracks``)
builds its tracks with these, its own episodes drawn from keys with its own env id.
"""

from __future__ import annotations

from typing import Any

from envs.episodes import Episode, keyed_rng, keyed_seed
from envs.family import Track

ENV_ID = "GRBench/Cloth-v0"
TRAINING_SCENES = ("square", "towel")
HELD_OUT_SCENE = "tshirt"
V4_TASKS = ("flatten", "fold_in_half", "fold_diagonally")
VALID_TASKS = (*V4_TASKS, "hang")  # v5 on
INVALID_TASKS = ("absent_garment", "impossible_fold")
PER_TASK = 6  # seen episodes of each task in each garment it applies to
PER_AXIS = 2  # unseen episodes of each task an axis changes
INVALID_PER_TASK = 3
CHAINS = 20


def _scenes(task: str, scenes: tuple[str, ...] = TRAINING_SCENES) -> tuple[str, ...]:
    """The garments of ``scenes`` that ``task`` applies to (the diagonal fold needs a square)."""
    from envs.cloth.env import GARMENTS
    from envs.cloth.tasks import get_task

    return tuple(s for s in scenes if get_task(task).feasible(GARMENTS[s]))


def _episode(
    suite: str,
    tasks: tuple[str, ...],
    scene: str,
    i: int,
    category: str,
    axis: str,
    split: str,
    variations: dict | None = None,
    env_id: str = ENV_ID,
) -> Episode:
    """One episode of the cloth table ``env_id`` (a chain where ``tasks`` has several), each task
    phrased from ``split`` with the garment's word, drawn from the suite's key."""
    from envs.cloth.language import instructions
    from envs.family import family_named

    key = (suite, env_id, "/".join(tasks), scene, category, axis, i)
    rng = keyed_rng(*key)
    phrases = []
    for task in tasks:
        bank = instructions(task, split, scene)
        phrases.append(bank[int(rng.integers(len(bank)))])
    return Episode(
        episode_id="/".join([suite, family_named(env_id).id, axis, category, "+".join(tasks), scene, str(i)]),
        env_id=env_id,
        scene=scene,
        tasks=tasks,
        instructions=tuple(phrases),
        seed=keyed_seed(*key),
        instruction_category=category,
        axis=axis,
        variations=variations or {},
        max_steps=None,
        rules=3,
    )


def seen(tasks: tuple[str, ...] = VALID_TASKS, per_task: int = PER_TASK, env_id: str = ENV_ID) -> list[Episode]:
    return [
        _episode("seen", (task,), scene, i, "train", "none", "train", env_id=env_id)
        for task in tasks
        for scene in _scenes(task)
        for i in range(per_task)
    ]


def unseen(
    axes: tuple[tuple[str, dict[str, Any]], ...],
    tasks: tuple[str, ...] = VALID_TASKS,
    per_axis: int = PER_AXIS,
    env_id: str = ENV_ID,
) -> list[Episode]:
    """The square under every pinned axis (``crumple`` changes only how a flatten starts, so it
    has flatten episodes only, twice as many); ``garment_shape`` is the held-out T-shirt."""
    from envs.cloth.variations import AXES
    from envs.utils.axes import axis_named

    episodes = []
    for axis, unseen_range in axes:
        sampler = axis_named(AXES, axis).sampler
        scene = HELD_OUT_SCENE if axis == "garment_shape" else "square"
        changed = ("flatten",) if axis == "crumple" else tuple(t for t in tasks if _scenes(t, (scene,)))
        count = 2 * per_axis if axis == "crumple" else per_axis
        for task in changed:
            for i in range(count):
                variations = {}
                if axis != "garment_shape":  # a scene axis: the scene is its value
                    variations[axis] = sampler(unseen_range, keyed_rng("unseen", env_id, axis, task, i))
                episodes.append(_episode("unseen", (task,), scene, i, "train", axis, "train", variations, env_id))
    return episodes


def ood_instruction(tasks: tuple[str, ...] = VALID_TASKS, env_id: str = ENV_ID) -> list[Episode]:
    """Every task under evaluation phrasings and each out-of-distribution category (one episode
    each, in a training garment drawn per episode); each impossible request phrased from its
    evaluation and out-of-distribution banks."""
    from envs.cloth.language import OOD_CATEGORIES

    episodes = []
    for task in tasks:
        for category in ("eval", *OOD_CATEGORIES):
            scenes = _scenes(task)
            scene = scenes[int(keyed_rng("ood-instruction", env_id, task, category).integers(len(scenes)))]
            episodes.append(
                _episode("ood-instruction", (task,), scene, 0, category, "instruction", category, env_id=env_id)
            )
    for task in INVALID_TASKS:
        for i in range(INVALID_PER_TASK):
            rng = keyed_rng("ood-instruction", env_id, task, i)
            scene = TRAINING_SCENES[int(rng.integers(len(TRAINING_SCENES)))]
            split = ("eval", *OOD_CATEGORIES)[int(rng.integers(1 + len(OOD_CATEGORIES)))]
            episodes.append(
                _episode("ood-instruction", (task,), scene, i, "invalid", "instruction", split, env_id=env_id)
            )
    return episodes


def long_horizon(hang: bool = True, chains: int = CHAINS, env_id: str = ENV_ID) -> list[Episode]:
    """Flatten, then fold, then (``hang``) hang on the rack: half the chains on the square (folded
    in half or diagonally, drawn per chain), half on the towel (in half), evaluation phrasings.
    The chains' axis names the table (the evaluator aggregates chains per axis)."""
    from envs.family import family_named

    axis = f"long_horizon_{family_named(env_id).id}"
    episodes = []
    for i in range(chains):
        scene = TRAINING_SCENES[i % len(TRAINING_SCENES)]
        folds = tuple(t for t in V4_TASKS if t != "flatten" and _scenes(t, (scene,)))
        fold = folds[int(keyed_rng("long-horizon", env_id, scene, i).integers(len(folds)))]
        tasks = ("flatten", fold, "hang") if hang else ("flatten", fold)
        episodes.append(_episode("long-horizon", tasks, scene, i, "eval", axis, "eval", env_id=env_id))
    return episodes


UNSEEN_V4 = (
    ("garment_shape", {"scene": ["tshirt"]}),
    ("garment_size", {"low": 1.25, "high": 1.4}),
    ("stiffness", {"choices": [[0.2, 0.3], [3.0, 4.5]]}),
    ("crumple", {"folds": 1, "lines": "diagonal"}),
    ("colour", {"hue": [0.0, 0.12], "saturation": [0.6, 0.9], "value": [0.6, 0.9]}),
    ("lighting", {"azimuth": [-1.0, 0.2], "elevation": [0.6, 0.9], "intensity": [0.2, 0.35]}),
    ("table", {"hue": [0.3, 0.45], "saturation": [0.3, 0.6], "value": [0.25, 0.45]}),
)

TRACKS = (
    Track("seen", 4, "cloth: every task in the training garments (square, towel)", lambda: seen(V4_TASKS)),
    Track(
        "unseen",
        4,
        "cloth: the square under every axis, the held-out T-shirt",
        lambda: unseen(UNSEEN_V4, V4_TASKS),
        axes=UNSEEN_V4,
    ),
    Track(
        "ood-instruction",
        4,
        "cloth: every task under each held-out phrasing category; impossible requests refused by status",
        lambda: ood_instruction(V4_TASKS),
    ),
    Track(
        "long-horizon",
        4,
        f"cloth: {CHAINS} flatten-then-fold chains, square and towel",
        lambda: long_horizon(hang=False),
    ),
    # v5: hanging on the rack joins every track (the expert's table: docs/cloth.md)
    Track("seen", 5, "cloth: every task, hang included, in the training garments (square, towel)", seen),
    Track(
        "unseen",
        5,
        "cloth: the square under every axis (hang included), the held-out T-shirt",
        lambda: unseen(UNSEEN_V4),
        axes=UNSEEN_V4,
    ),
    Track(
        "ood-instruction",
        5,
        "cloth: every task, hang included, under each held-out phrasing category; impossible requests refused",
        ood_instruction,
    ),
    Track("long-horizon", 5, f"cloth: {CHAINS} flatten, fold, then hang chains, square and towel", long_horizon),
)


def tracks() -> tuple[Track, ...]:
    return TRACKS
