"""What the variation axes change in a compiled model, remembered so every reset can put it back."""

from __future__ import annotations

import numpy as np

HEADLIGHT_FIELDS = ("ambient", "diffuse")


class Appearance:
    """Mixin for a simulator (with ``self.model``) whose look is varied per episode.

    ``_remember_appearance`` copies the named ``mjModel`` fields, the headlight and the textures as
    compiled; ``restore_visuals`` puts them back. ``texture_version`` moves on whenever the texture
    pixels change, because a renderer uploads textures once, when it is made.
    """

    def _remember_appearance(self, visual_fields: tuple[str, ...]) -> None:
        m = self.model
        self._visual_defaults = {f: getattr(m, f).copy() for f in visual_fields}
        self._headlight_defaults = {f: getattr(m.vis.headlight, f).copy() for f in HEADLIGHT_FIELDS}
        self._tex_defaults = m.tex_data.copy()
        self.texture_version = 0

    def restore_visuals(self) -> None:
        """Put back the remembered fields, the headlight and the textures as compiled."""
        m = self.model
        for field, value in self._visual_defaults.items():
            getattr(m, field)[:] = value
        for field, value in self._headlight_defaults.items():
            getattr(m.vis.headlight, field)[:] = value
        if not np.array_equal(m.tex_data, self._tex_defaults):
            m.tex_data[:] = self._tex_defaults
            self.texture_version += 1

    def default_texture(self, name: str) -> np.ndarray:
        """The pixels of a texture as compiled, (height, width, channels) uint8."""
        return self._texture_view(name, self._tex_defaults).copy()

    def set_texture(self, name: str, pixels: np.ndarray) -> None:
        view = self._texture_view(name, self.model.tex_data)
        if not np.array_equal(view, pixels):
            view[:] = pixels
            self.texture_version += 1

    def _texture_view(self, name: str, tex_data: np.ndarray) -> np.ndarray:
        tex = self.model.texture(name)
        height, width, channels = int(tex.height[0]), int(tex.width[0]), int(tex.nchannel[0])
        adr = int(tex.adr[0])
        return tex_data[adr : adr + height * width * channels].reshape(height, width, channels)
