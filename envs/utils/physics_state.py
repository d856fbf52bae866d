"""A simulation's full physics state as an array, and putting it back exactly (env pickling)."""

from __future__ import annotations

import mujoco
import numpy as np

SPEC = mujoco.mjtState.mjSTATE_INTEGRATION  # everything mj_step reads, warm start included


def save_physics(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    physics = np.empty(mujoco.mj_stateSize(model, SPEC))
    mujoco.mj_getState(model, data, physics, SPEC)
    return physics


def restore_physics(model: mujoco.MjModel, data: mujoco.MjData, physics: np.ndarray) -> None:
    """Put ``physics`` back so that the data steps exactly as the one it was saved from."""
    mujoco.mj_setState(model, data, physics, SPEC)
    mujoco.mj_forward(model, data)  # derived quantities (poses, contacts)
    # mj_forward rewrites the solver's warm start; put the saved one back
    mujoco.mj_setState(model, data, physics, SPEC)
