"""The PyBullet twin's descriptor: the tabletop family's, with PyBullet's environment."""

from __future__ import annotations

from dataclasses import replace

from envs.tabletop.family import TABLETOP

ENV_ID = "GRBench/TabletopBullet-v0"


def cross_sim() -> list:
    from envs.tabletop.tracks import cross_sim

    return cross_sim(ENV_ID, "pybullet")


def rescreen(episodes: list) -> list:
    """A hidden split's starts screened as the tabletop's are (in MuJoCo, against the same blind motions)."""
    from envs.tabletop.tracks import ENV_ID as TABLETOP_ENV
    from envs.tabletop.tracks import rescreen_v3

    as_tabletop = [replace(e, env_id=TABLETOP_ENV) if e.env_id == ENV_ID else e for e in episodes]
    screened = rescreen_v3(as_tabletop)
    return [replace(s, env_id=e.env_id) for s, e in zip(screened, episodes, strict=True)]


def tracks() -> tuple:
    """The twin's part of `cross-sim`: the tabletop's seen and unseen v3 episodes in PyBullet."""
    from envs.family import Track

    return (
        Track(
            "cross-sim",
            1,
            "the same seen and unseen v3 tabletop episodes in the PyBullet twin",
            cross_sim,
            rescreen=rescreen,
        ),
    )


TABLETOP_BULLET = replace(
    TABLETOP,
    id="tabletop_bullet",
    env_id=ENV_ID,
    entry_point="envs.tabletop_bullet.env:TabletopBulletEnv",
    description="the tabletop's twin in PyBullet: the same scene description, tasks, oracles and expert; "
    "PyBullet's physics and renderer (pip install -e '.[bullet]')",
    tracks=tracks,
    requires=(("pybullet", "bullet"),),
)
