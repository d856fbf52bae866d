"""Camera rendering shared by the environments."""

from __future__ import annotations

import mujoco
import numpy as np


class CameraRenderers:
    """One ``mujoco.Renderer`` per (scene, camera), kept across episodes.

    A renderer uploads the model's textures once, when it is made, so a sim whose textures were
    repainted (its ``texture_version`` moved on) gets a new renderer for that camera.
    """

    def __init__(self):
        self._renderers: dict[tuple[str, str], tuple[mujoco.Renderer, int]] = {}

    def render(self, sim, camera: str, height: int, width: int) -> np.ndarray:
        """(height, width, 3) uint8 image of ``camera`` in ``sim`` (which has scene, model, data, texture_version)."""
        key = (sim.scene.name, camera)
        renderer, version = self._renderers.get(key, (None, None))
        if version != sim.texture_version:
            if renderer is not None:
                renderer.close()
            renderer = mujoco.Renderer(sim.model, height, width)
            self._renderers[key] = (renderer, sim.texture_version)
        renderer.update_scene(sim.data, camera)
        return renderer.render()

    def close(self) -> None:
        for renderer, _ in self._renderers.values():
            renderer.close()
        self._renderers.clear()
