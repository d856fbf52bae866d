"""A blind control: any agent with every camera image replaced by one constant grey image.

Run beside the agent itself, it tells which successes needed the cameras: a task the blind
control solves as often as the agent is solvable by replaying a memorised motion, a weakness of
the task, not a skill of the agent. ``gr-bench eval --set blind=true`` wraps the agent in it; the
agent's config records ``blind: true``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GREY = 128  # the constant pixel value of every channel
CAMERA_PREFIX = "rgb_"  # observation keys of camera images


class BlindAgent:
    """Args:
    agent: the agent that acts; it gets observations whose ``rgb_*`` images are all ``GREY``,
        of their own shapes, and everything else unchanged.
    """

    def __init__(self, agent: Any):
        if getattr(agent, "privileged", False):
            raise ValueError("a blind control is for agents that see camera images; the oracle reads simulator state")
        self.agent = agent
        for hook in ("seed", "bind_action_space"):  # forward the optional hooks the agent has
            if callable(getattr(agent, hook, None)):
                setattr(self, hook, getattr(agent, hook))

    def reset(self, instruction: str) -> None:
        self.agent.reset(instruction)

    def act(self, observation: dict[str, Any]):
        return self.agent.act(blind(observation))


def blind(observation: dict[str, Any]) -> dict[str, Any]:
    """``observation`` with every camera image a constant grey image of the same shape and dtype."""
    return {
        k: np.full_like(v, GREY) if k.startswith(CAMERA_PREFIX) and isinstance(v, np.ndarray) else v
        for k, v in observation.items()
    }
