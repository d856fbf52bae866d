"""GR-3 behind the Agent protocol: load a checkpoint, plan an action chunk, execute it from a queue.

Every ``execute_steps`` calls, ``act`` runs the backbone once on the current observation and the
DiT for ``flow_steps`` Euler steps, and queues the chunk's first ``execute_steps`` actions; in between
it pops the queue. Actions go through the robot's adapter: cut to the robot's width, un-normalised
with the statistics of the data the checkpoint was trained on, grippers made +-1.

Task status, as GR-3 reports it, once ``status_patience`` consecutive plans agree on it (a single
plan's status head is noisier than its actions; one premature stop ends an episode):
- ``invalid`` is reported by the plan that completes the agreement, before its chunk is executed;
- ``terminated`` is reported once the chunk planned with the agreeing prediction has been executed
  (the label marks the last steps of a demonstration, whose remaining actions finish the task);
- otherwise ``ongoing``. ``status_patience=1`` reports the first plan's status, as GR-3 describes.
The flow noise comes from the agent's own generator, re-seeded by ``seed`` (the evaluator calls it
per episode), so an episode's actions do not depend on what ran before it.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import INVALID, ONGOING, TASK_STATUSES, TERMINATED, chunk_execute_steps
from agents.gr3.adapters import Compose, adapter_for_action_space, checkpoint_normalizers
from agents.gr3.config import GR3Config
from agents.gr3.model import GR3
from agents.train.checkpoint import load_model as load_checkpoint_model
from agents.train.checkpoint import policy_model


def load_model(checkpoint: str | Path) -> tuple[GR3, dict[str, Any]]:
    """The GR-3 model of a checkpoint (or a run's newest, or ``reference:NAME``), in eval mode, and its config."""
    return load_checkpoint_model(checkpoint, "gr3", GR3, GR3Config)


@dataclass(frozen=True)
class _RobotIO:
    """One robot's way in and out of the model: observation -> inputs, model actions -> env actions."""

    inputs: Compose
    outputs: Compose


class GR3Agent:
    """Args:
    checkpoint: a checkpoint folder, a training run (its newest checkpoint), or ``reference:NAME``
        (default: ``reference:gr3-tiny``, the shipped reference).
    execute_steps: actions executed per chunk before planning again (default: the config's).
    flow_steps: Euler steps per chunk (default: the config's).
    seed: of the flow noise.
    status_patience: consecutive plans that must predict ``invalid`` (or ``terminated``) before the
        agent reports it.
    """

    DEFAULT_CHECKPOINT = "reference:gr3-tiny"  # shipped with gr-bench (agents/reference/)

    def __init__(
        self,
        checkpoint: str = DEFAULT_CHECKPOINT,
        device: str = "cpu",
        threads: int | None = 1,
        execute_steps: int | None = None,
        flow_steps: int | None = None,
        seed: int = 0,
        status_patience: int = 2,
    ):
        self.model, saved, self.device = policy_model(checkpoint, "gr3", GR3, GR3Config, device, threads)
        self.config: GR3Config = self.model.config
        self.execute_steps = chunk_execute_steps(execute_steps, self.config.chunk, self.config.execute_steps)
        self.flow_steps = flow_steps or self.config.flow_steps
        if status_patience < 1:
            raise ValueError(f"status_patience must be >= 1 (plans), got {status_patience}")
        self.status_patience = status_patience
        normalizers = checkpoint_normalizers(saved)
        self.io = {  # robot -> its way in and out of the model
            robot: _RobotIO(
                adapter.observation_inputs(self.config.state_dim, normalizers[robot]),
                adapter.action_outputs(normalizers[robot]),
            )
            for robot, adapter in self.model.adapters.items()
        }
        self.robot: str | None = self.config.robots[0] if len(self.config.robots) == 1 else None
        self._first_seed = seed
        self.generator = torch.Generator(device=self.device)
        self.seed(seed)
        self._queue: deque[np.ndarray] = deque()
        self._instruction: str | None = None
        self._terminating = False
        self._last_action: np.ndarray | None = None
        self._streak: tuple[str, int] = (ONGOING, 0)  # the status the latest plans agree on, and how many

    def seed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def fork(self) -> GR3Agent:
        """A new agent sharing this one's model (weights, normalisers) with an episode state and a
        noise generator of its own, as the constructor leaves them: what a policy server gives each
        connection (``gr-bench serve``) instead of loading the checkpoint again."""
        other = copy.copy(self)
        other.robot = self.config.robots[0] if len(self.config.robots) == 1 else None
        other.generator = torch.Generator(device=self.device)
        other.seed(self._first_seed)
        other._queue = deque()
        other._instruction, other._terminating, other._last_action = None, False, None
        other._streak = (ONGOING, 0)
        return other

    def bind_action_space(self, space) -> None:
        """The episode's robot, told by its action space (the evaluator calls this before each task);
        a robot the checkpoint was not trained for is refused with the robots it knows."""
        self.robot = adapter_for_action_space(self.config.robots, space.shape).name

    def _robot_of(self, observation: dict[str, Any]) -> str:
        """Without ``bind_action_space``: the one robot of the model whose cameras the observation has."""
        if self.robot is None:
            fits = [r for r, a in self.model.adapters.items() if all(c in observation for c in a.cameras)]
            if len(fits) != 1:
                raise ValueError(
                    f"cannot tell the robot from the observation's keys {sorted(observation)}: the checkpoint serves "
                    f"{list(self.config.robots)}; call bind_action_space(env.action_space) first"
                )
            self.robot = fits[0]
        return self.robot

    def reset(self, instruction: str) -> None:
        self._queue.clear()
        self._instruction = instruction
        self._terminating = False
        self._last_action = None
        self._streak = (ONGOING, 0)

    @torch.inference_mode()
    def plan(self, observation: dict[str, Any]) -> tuple[np.ndarray, str]:
        """A whole chunk of env actions (chunk, robot action_dim) and the predicted status."""
        io = self.io[self._robot_of(observation)]
        inputs = io.inputs(observation)
        images = [view.to(self.device) for view in inputs["images"]]
        actions, status = self.model.sample(
            images,
            inputs["state"].to(self.device),
            [self._instruction],
            steps=self.flow_steps,
            generator=self.generator,
        )
        env_actions = io.outputs({"actions": actions[0].float().cpu()})["actions"]
        return env_actions.numpy().astype(np.float64), TASK_STATUSES[int(status[0].argmax())]

    def act(self, observation: dict[str, Any]) -> tuple[np.ndarray, str]:
        if self._instruction is None:
            raise RuntimeError("call reset(instruction) before act()")
        if not self._queue:
            if self._terminating:  # the chunk planned as the last one has been executed
                self._terminating = False
                return self._last_action, TERMINATED
            chunk, status = self.plan(observation)
            previous, count = self._streak
            self._streak = (status, count + 1 if status == previous else 1)
            agreed = self._streak[1] >= self.status_patience
            if status == INVALID and agreed:
                return chunk[0], INVALID
            self._terminating = status == TERMINATED and agreed
            self._queue.extend(chunk[: self.execute_steps])
        self._last_action = self._queue.popleft()
        return self._last_action, ONGOING
