"""The Agent protocol every gr-bench policy speaks (as GR-3's policy interface).

An agent is reset with the instruction of a new task and then asked for one action per control
step. It may return the action alone, or ``(action, status)`` where status is one of
``TASK_STATUSES``: ``ongoing``, ``terminated`` (it believes the task is done) or ``invalid`` (the
instruction cannot be carried out in this scene). Action chunking and observation history live
inside the agent.

Optional hooks the evaluator calls when an agent has them (agents without them work unchanged):

- ``seed(seed)``, before each episode: seed any randomness from the episode's seed, so that an
  episode's outcome depends only on the episode.
- ``bind_action_space(space)``, before each task's ``reset``: the ``gymnasium.spaces.Box`` of the
  episode's environment (7-D relative end-effector action on the tabletop, 19-D joint action for
  ByteMini), for agents that serve several robots. An agent without it must return actions of
  the environment's shape by itself; a wrong shape fails the episode as ``malformed_action``.

For ``gr-bench serve`` (``gr_bench.serve``), two more, both optional: ``fork()``, a new agent
sharing this one's model with an episode state of its own (one per connection; without it the
server builds the agent again), and ``act_batch(agents, observations) -> outputs``, several
connections' observations in one model call (without it each ``act`` is called in turn).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

ONGOING = "ongoing"
TERMINATED = "terminated"
INVALID = "invalid"
TASK_STATUSES = (ONGOING, TERMINATED, INVALID)


@runtime_checkable
class Agent(Protocol):
    def reset(self, instruction: str) -> None:
        """Forget the previous task; the next ``act`` calls are for ``instruction``."""

    def act(self, observation: dict[str, Any]) -> np.ndarray | tuple[np.ndarray, str]:
        """One action for this observation, optionally with a task status."""


def split_status(output: np.ndarray | tuple[np.ndarray, str]) -> tuple[np.ndarray, str]:
    """Normalise an agent's output to (action, status) and check the status."""
    if isinstance(output, tuple):
        if len(output) != 2:
            raise ValueError(f"an agent returns an action or (action, status), got a tuple of {len(output)}")
        action, status = output
    else:
        action, status = output, ONGOING
    if status not in TASK_STATUSES:
        raise ValueError(f"task status must be one of {TASK_STATUSES}, got {status!r}")
    array = np.asarray(action)
    if array.dtype.kind not in "biuf":  # strings and complex numbers are refused, not converted
        raise ValueError(f"an action is an array of real numbers; got {array.dtype} values: {array.ravel()[:7]!r}")
    return array.astype(np.float64), status


def chunk_execute_steps(requested: int | None, chunk: int, default: int | None = None) -> int:
    """How many actions of each planned chunk an agent executes before planning again: ``requested``,
    else ``default``, else the whole chunk; one clear error outside 1..chunk."""
    steps = requested if requested is not None else (default if default is not None else chunk)
    if not 1 <= int(steps) <= chunk:
        raise ValueError(f"execute_steps must be in [1, {chunk}] (the checkpoint's chunk), got {requested}")
    return int(steps)
