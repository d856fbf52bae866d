"""The PyBullet twin's descriptor: the tabletop family's, with PyBullet's environment."""

from __future__ import annotations

from dataclasses import replace

from envs.tabletop.family import TABLETOP


def tracks() -> tuple:
    """None yet: the cross-simulator track comes with its measurements."""
    return ()


TABLETOP_BULLET = replace(
    TABLETOP,
    id="tabletop_bullet",
    env_id="GRBench/TabletopBullet-v0",
    entry_point="envs.tabletop_bullet.env:TabletopBulletEnv",
    description="the tabletop's twin in PyBullet: the same scene description, tasks, oracles and expert; "
    "PyBullet's physics and renderer (pip install -e '.[bullet]')",
    tracks=tracks,
)
