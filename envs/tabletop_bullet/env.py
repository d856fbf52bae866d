"""``GRBench/TabletopBullet-v0``: the tabletop environment with PyBullet's physics and renderer.

Everything but the simulator is the MuJoCo tabletop's own code: the same tasks, success oracles,
initial-state sampler, language, visual axes, action and observation contract, scripted expert.
``BulletPlayTableSim`` (generated from the same compiled scene) steps, collides and renders.
"""

from __future__ import annotations

import numpy as np

from envs.tabletop.env import TabletopEnv
from envs.tabletop_bullet.sim import BulletPlayTableSim


class TabletopBulletEnv(TabletopEnv):
    """The play table of ``GRBench/Tabletop-v0`` simulated and rendered by PyBullet (its twin).

    Same arguments, spaces, tasks and options as ``TabletopEnv``; the physics (contacts, solver,
    position servos) and the pictures (PyBullet's software renderer, one light, colours without
    textures) are PyBullet's. See ``envs/tabletop_bullet/sim.py`` for what is emulated.
    """

    sim_class = BulletPlayTableSim

    def _render_camera(self, camera: str) -> np.ndarray:
        height, width = self.resolution[camera]
        return self.sim.render(camera, height, width)

    def __getstate__(self):
        # the state pickled is the mirror's; PyBullet's contact and solver caches are not in it, so
        # the original drops its own too and steps on from a fresh world, as the copy will
        state = super().__getstate__()
        if self.sim is not None:
            self.sim.forget_caches()
        return state

    def close(self):
        super().close()
        for sim in self._sims.values():
            sim.close()
