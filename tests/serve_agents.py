"""Agents the policy-server tests serve (as ``serve_agents:Name``; tests/ is on the path)."""

from __future__ import annotations

import numpy as np

CALLS = {"act_batch": [], "act": 0}  # what the server called, for the batching tests
ON_ACT = []  # callables run on every act() (a test stops its server from here)


class EchoAgent:
    """Deterministic: the action depends on the seed, the instruction, the act count and robot_obs."""

    def __init__(self, action_dim: int = 7):
        self.action_dim = action_dim
        self._seed, self._instruction, self._acts = 0, "", 0

    def seed(self, seed: int) -> None:
        self._seed = seed

    def bind_action_space(self, space) -> None:
        self.action_dim = space.shape[0]

    def reset(self, instruction: str) -> None:
        self._instruction, self._acts = instruction, 0

    def act(self, observation):
        CALLS["act"] += 1
        for hook in ON_ACT:
            hook()
        self._acts += 1
        base = float(np.asarray(observation["robot_obs"], dtype=np.float64).sum())
        value = np.sin(base + self._seed + len(self._instruction) + self._acts)
        return np.full(self.action_dim, 0.1 * value)


class BatchAgent(EchoAgent):
    """An EchoAgent with the server's batching hook: one call for several sessions' observations."""

    def act_batch(self, agents, observations):
        CALLS["act_batch"].append(len(agents))
        return [agent.act(observation) for agent, observation in zip(agents, observations, strict=True)]


class TabletopOnlyAgent(EchoAgent):
    """Refuses every robot but a 7-D one."""

    def bind_action_space(self, space) -> None:
        if space.shape != (7,):
            raise ValueError(f"TabletopOnlyAgent drives a 7-D arm, not {space.shape}")
        super().bind_action_space(space)


class DiesOnceAgent(EchoAgent):
    """Its process is killed (SIGKILL) at its first act() of a run while fewer than ``times`` runs
    have died: the Ray backend must run that episode again. Deaths are claimed atomically, one file
    per death in the ``marker`` folder, so two workers starting together cannot both die for one."""

    def __init__(self, marker: str, times: int = 1):
        super().__init__()
        self.marker, self.times = marker, times

    def act(self, observation):
        import os
        import signal
        from pathlib import Path

        folder = Path(self.marker)
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(self.times):
            try:
                os.close(os.open(folder / str(n), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            os.kill(os.getpid(), signal.SIGKILL)
        return super().act(observation)
