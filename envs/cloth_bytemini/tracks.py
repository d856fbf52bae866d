"""ByteMini's cloth table's suite tracks (first released in version 6 of each suite).

The Panda cloth table's tracks (``envs.cloth.tracks``: the same builders, tasks, garments, axes and
unseen ranges, counts and rules) with ByteMini's two arms: every episode runs in
``GRBench/ClothByteMini-v0`` and is drawn from keys with that env id, so its seeds and phrasings are
its own, not the Panda table's.

- ``seen``: every task in every training garment it applies to (flatten, fold in half and hang on
  the square and the towel, the diagonal fold on the square), training phrasings.
- ``unseen``: the square under each axis the Panda table's v4 pinned (``UNSEEN``), every task
  that axis changes; the held-out T-shirt flattened and folded.
- ``ood-instruction``: every task under evaluation phrasings and each out-of-distribution
  category; the two kinds of impossible request.
- ``long-horizon``: flatten, fold, then hang on the rack at the robot's left.
"""

from __future__ import annotations

from envs.cloth import tracks as cloth
from envs.family import Track

ENV_ID = "GRBench/ClothByteMini-v0"
UNSEEN = cloth.UNSEEN_V4  # pinned there: the Panda table's axes and unseen ranges, unchanged

TRACKS = (
    Track(
        "seen",
        6,
        "cloth with ByteMini: every task in the training garments (square, towel), both arms",
        lambda: cloth.seen(env_id=ENV_ID),
    ),
    Track(
        "unseen",
        6,
        "cloth with ByteMini: the square under every axis, the held-out T-shirt",
        lambda: cloth.unseen(UNSEEN, env_id=ENV_ID),
        axes=UNSEEN,
    ),
    Track(
        "ood-instruction",
        6,
        "cloth with ByteMini: every task under each held-out phrasing category; impossible requests refused",
        lambda: cloth.ood_instruction(env_id=ENV_ID),
    ),
    Track(
        "long-horizon",
        6,
        f"cloth with ByteMini: {cloth.CHAINS} flatten, fold, then hang chains, square and towel",
        lambda: cloth.long_horizon(env_id=ENV_ID),
    ),
)


def tracks() -> tuple[Track, ...]:
    return TRACKS
