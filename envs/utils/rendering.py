"""Camera rendering shared by the environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.errors import unknown_name_error
from envs.utils.conventions import INSTRUCTION_CHARSET, INSTRUCTION_SPLITS, MAX_INSTRUCTION_CHARS


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


class CameraEnv(gym.Env):
    """What every gr-bench env shares: its observation (each camera's picture, the robot's and the
    scene's state, the instruction), ``render()`` and ``close()``.

    A subclass sets ``render_camera`` (what ``render()`` shows) and, once made, ``sim``, ``cameras``,
    ``resolution`` (camera -> (height, width)), ``_renderers`` (a ``CameraRenderers``) and, at each
    reset, ``instruction``; it overrides ``_render_camera`` where another renderer draws the
    pictures, ``_prepare_render`` where the sim must update its visuals first and ``_scene_obs``
    where the scene's state takes an argument.
    """

    render_camera = "static"

    def _init_common(
        self,
        task: str | None,
        scene: str,
        cameras: tuple[str, ...] | list[str],
        resolution: dict[str, int | tuple[int, int]] | None,
        instruction_split: str,
        render_mode: str | None,
        default_resolution: dict[str, int],
    ) -> None:
        """Check and keep the constructor arguments every env takes (the subclass checks its own
        task and scene names), and start with no episode."""
        if instruction_split not in INSTRUCTION_SPLITS:
            raise ValueError(f"instruction_split must be 'train' or 'eval', got {instruction_split!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.default_task = task
        self.default_scene = scene
        self.cameras = tuple(cameras)
        self.resolution = camera_resolutions(cameras, resolution, default_resolution)
        self.instruction_split = instruction_split
        self.render_mode = render_mode
        self._renderers = CameraRenderers()  # kept across episodes and scenes
        self.sim = None
        self.task = None
        self.instruction = ""
        self.variations: dict[str, Any] = {}

    def _observation_space(self, robot_obs: int, scene_obs: int) -> spaces.Dict:
        """Each camera's picture, the robot's and the scene's state (sizes given), the instruction."""
        obs: dict[str, spaces.Space] = {
            f"rgb_{c}": spaces.Box(0, 255, (*self.resolution[c], 3), np.uint8) for c in self.cameras
        }
        obs["robot_obs"] = spaces.Box(-np.inf, np.inf, (robot_obs,), np.float32)
        obs["scene_obs"] = spaces.Box(-np.inf, np.inf, (scene_obs,), np.float32)
        obs["instruction"] = spaces.Text(max_length=MAX_INSTRUCTION_CHARS, min_length=0, charset=INSTRUCTION_CHARSET)
        return spaces.Dict(obs)

    def render(self):
        if self.sim is None:
            raise RuntimeError("call reset() before render()")
        return self._render_camera(self.render_camera)

    def close(self):
        self._renderers.close()

    def _render_camera(self, camera: str) -> np.ndarray:
        height, width = self.resolution[camera]
        return self._renderers.render(self.sim, camera, height, width)

    def _prepare_render(self) -> None:
        """Called once before an observation's pictures are taken."""

    def _scene_obs(self) -> np.ndarray:
        return self.sim.scene_obs()

    def _observation(self) -> dict[str, Any]:
        obs: dict[str, Any] = {}
        if self.cameras:
            self._prepare_render()
            for camera in self.cameras:
                obs[f"rgb_{camera}"] = self._render_camera(camera)
        obs["robot_obs"] = self.sim.robot_obs()
        obs["scene_obs"] = self._scene_obs()
        obs["instruction"] = self.instruction
        return obs


def camera_resolutions(
    cameras: tuple[str, ...] | list[str], resolution: dict[str, int | tuple[int, int]] | None, defaults: dict[str, int]
) -> dict[str, tuple[int, int]]:
    """Check the cameras asked for and their sizes; (height, width) of every camera of the env.

    Args:
        cameras: the cameras to render.
        resolution: camera -> size in pixels (square) or (height, width); others keep ``defaults``.
        defaults: every camera of the env -> its default square size.
    """
    for camera in [*cameras, *(resolution or {})]:
        if camera not in defaults:
            raise unknown_name_error("camera", camera, tuple(defaults))
    sizes = {c: _hw(r) for c, r in {**defaults, **(resolution or {})}.items()}
    for camera in resolution or {}:
        if min(sizes[camera]) <= 0:
            raise ValueError(f"resolution of camera {camera!r} must be positive, got {resolution[camera]!r}")
    return sizes


def _hw(resolution: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(resolution, int):
        return resolution, resolution
    height, width = resolution
    return int(height), int(width)
