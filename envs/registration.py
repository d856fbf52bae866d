"""The one place where gr-bench's own environment families are registered.

Each family is declared by its descriptor (``envs/<family>/family.py``); registering it registers
its Gymnasium id too. A released id never changes behaviour: a change gets a new version beside the
old one. Families of other packages register themselves (``envs.family``: entry points or
``GR_BENCH_FAMILIES``).
"""

from __future__ import annotations

from envs.family import NAMESPACE, register_family

__all__ = ["NAMESPACE", "register_all"]


def register_all() -> None:
    from envs.cloth.family import CLOTH
    from envs.cloth_bytemini.family import CLOTH_BYTEMINI
    from envs.tabletop.family import TABLETOP
    from envs.tabletop_bullet.family import TABLETOP_BULLET
    from envs.tidy.family import TIDY

    for family in (TABLETOP, TIDY, CLOTH, CLOTH_BYTEMINI, TABLETOP_BULLET):
        register_family(family)
