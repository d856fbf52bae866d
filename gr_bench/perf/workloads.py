"""Inputs and steps the agent figures share (``benchmarks/bench_agents.py``): a camera
observation, the random agent, one AdamW step. GR-1's, GR-2's and GR-3's tiny workloads are in
``gr1.py``, ``gr2.py`` and ``gr3.py`` beside this module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SEED = 0


def camera_observation() -> dict[str, Any]:
    """An observation of the first environment family as a learned agent gets it (its cameras at
    their default sizes, robot_obs, instruction; no scene_obs)."""
    import numpy as np

    import envs  # noqa: F401  (registers the built-in families)
    from envs.family import families

    family = families()[0]
    rng = np.random.default_rng(SEED)
    obs: dict[str, Any] = {
        f"rgb_{camera.name}": rng.integers(0, 256, (camera.default_size, camera.default_size, 3), dtype=np.uint8)
        for camera in family.cameras
    }
    obs["robot_obs"] = rng.standard_normal(len(family.robot_obs_names)).astype(np.float32)
    obs["instruction"] = "open the drawer"
    return obs


def random_agent(folder: str | Path):
    """The registry's ``random`` agent (``folder`` is unused: the agent figures' builders take one)."""
    from gr_bench.agents import make_agent

    return make_agent("random")


def adamw_step(model, batch: dict[str, Any], lr: float = 3e-4):
    """``step()``: one AdamW step of ``model.loss`` on ``batch`` (the trainable parameters only)."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    def step() -> None:
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step
