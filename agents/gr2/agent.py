"""GR-2 behind the Agent protocol: load a checkpoint, keep the last ``history`` observations as frame
codes and states, act with action chunks from the cVAE's prior.

Each observation is tokenized once, when it arrives, by the checkpoint's frozen VQGAN (both cameras,
resized to the model's square image size) and its state normalised; the history is reset per task and
left-padded exactly as training windows are at an episode start, so step t of an episode sees the
timestep embeddings it was trained with. To plan, the trunk runs over the history and the [ACT] output
of the newest step conditions the cVAE, whose latent is its prior's mean (no sampling: the agent is
deterministic given its observations).

Execution: the chunk's first ``execute_steps`` actions are executed in order, one per ``act()``, before
planning again (default: the whole chunk, as GR-1's agent does; ``--set execute_steps=1`` plans at every
step; ``--set ensemble=0.01`` plans at every step and averages the chunks that cover it, ACT's temporal
ensembling). Observations that arrive while a chunk runs still join the history. Action: the tabletop arm's
7-D relative action, the arm un-normalised with the statistics of the fine-tuning data, the gripper +1
(open) where its logit is positive, else -1.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import chunk_execute_steps
from agents.data.lerobot_format import ACTION_KEY, STATE_KEY
from agents.gr1.agent import require_tabletop_arm
from agents.gr2.config import CAMERAS, GR2Config
from agents.gr2.model import GR2
from agents.train.checkpoint import action_normalizer, policy_model
from agents.train.checkpoint import load_model as load_checkpoint_model


def load_model(checkpoint: str | Path) -> tuple[GR2, dict[str, Any]]:
    """The GR-2 model of a checkpoint (or a run's newest, or ``reference:NAME``), in eval mode, and its config."""
    return load_checkpoint_model(checkpoint, "gr2", GR2, GR2Config)


class GR2Agent:
    """Args:
    checkpoint: a checkpoint folder, a training run (its newest checkpoint), or ``reference:NAME``
        (default: ``reference:gr2-tiny``, the shipped reference).
    execute_steps: actions executed per chunk before planning again (default: the whole chunk).
    ensemble: temporal ensembling, as ACT's: plan at every step and act on the weighted mean of the
        actions that the chunks still covering this step give for it, weights ``exp(-ensemble * i)``
        with ``i = 0`` the oldest chunk (ACT: 0.01); the gripper opens where the mean of its +1/-1
        commands is positive. None (default): off, chunks are executed as planned.
    """

    DEFAULT_CHECKPOINT = "reference:gr2-tiny"  # shipped with gr-bench (agents/reference/)

    def __init__(
        self,
        checkpoint: str = DEFAULT_CHECKPOINT,
        device: str = "cpu",
        threads: int | None = 1,
        execute_steps: int | None = None,
        ensemble: float | None = None,
    ):
        self.model, saved, self.device = policy_model(checkpoint, "gr2", GR2, GR2Config, device, threads)
        self.normalizer = action_normalizer(saved, checkpoint, "gr2")
        self.config: GR2Config = self.model.config
        self.execute_steps = chunk_execute_steps(execute_steps, self.config.chunk)
        if ensemble is not None and (not np.isfinite(ensemble) or ensemble < 0):
            raise ValueError(f"ensemble must be a weight decay >= 0 (ACT uses 0.01), got {ensemble}")
        if ensemble is not None and execute_steps not in (None, 1):
            raise ValueError("ensemble plans at every step: leave execute_steps out")
        self.ensemble = None if ensemble is None else float(ensemble)
        self._history: deque[tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=self.config.history)
        self._queue: deque[np.ndarray] = deque()
        self._chunks: deque[np.ndarray] = deque(maxlen=self.config.chunk)  # ensembling: the last plans, oldest first
        self._lang: torch.Tensor | None = None

    def bind_action_space(self, space) -> None:
        """GR-2 serves the tabletop arm: CALVIN's 7-D relative action; another robot is refused."""
        require_tabletop_arm(space, "GR-2")

    def reset(self, instruction: str) -> None:
        self._history.clear()
        self._queue.clear()
        self._chunks.clear()
        with torch.inference_mode():
            self._lang = self.model.text([instruction]).to(self.device)  # (1, text dim), frozen

    def _tokenize(self, observation: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """One observation -> its frame codes (cameras * g * g,) and normalised state (state_dim,)."""
        codes = []
        for cam in CAMERAS:
            frame = torch.from_numpy(np.ascontiguousarray(observation[cam])).to(self.device)  # (h, w, 3) uint8
            codes.append(self.model.encode_frames(frame.permute(2, 0, 1)))
        state = self.normalizer.normalize(STATE_KEY, np.asarray(observation["robot_obs"], dtype=np.float32))
        return torch.cat(codes), torch.from_numpy(state).to(self.device)

    @torch.inference_mode()
    def act(self, observation: dict[str, Any]) -> np.ndarray:
        if self._lang is None:
            raise RuntimeError("call reset(instruction) before act()")
        self._history.append(self._tokenize(observation))
        if self._queue:
            return self._queue.popleft()
        t, n = self.config.history, len(self._history)
        codes = torch.zeros(1, t, self.model.frame_tokens, dtype=torch.long, device=self.device)  # left padding
        state = torch.zeros(1, t, self.config.state_dim, device=self.device)
        mask = torch.zeros(1, t, dtype=torch.bool, device=self.device)
        codes[0, t - n :] = torch.stack([c for c, _ in self._history])
        state[0, t - n :] = torch.stack([s for _, s in self._history])
        mask[0, t - n :] = True
        arm, gripper = self.model.action_chunk(codes, state, self._lang, mask)  # (1, chunk, 6), (1, chunk)
        actions = torch.cat([arm[0], torch.where(gripper[0] > 0, 1.0, -1.0)[:, None]], dim=-1)  # (chunk, 7)
        actions = self.normalizer.unnormalize(ACTION_KEY, actions.float().cpu().numpy())
        if self.ensemble is not None:
            return self._ensembled(np.asarray(actions, dtype=np.float64))
        self._queue.extend(np.asarray(a, dtype=np.float64) for a in actions[: self.execute_steps])
        return self._queue.popleft()

    def _ensembled(self, actions: np.ndarray) -> np.ndarray:
        """This step's action from every chunk that covers it: the chunk planned ``age`` steps ago
        gives its action ``age``; weights ``exp(-ensemble * i)``, ``i = 0`` for the oldest."""
        self._chunks.append(actions)
        n = len(self._chunks)
        votes = np.stack([chunk[n - 1 - k] for k, chunk in enumerate(self._chunks)])  # oldest first
        weights = np.exp(-self.ensemble * np.arange(n))
        mean = weights @ votes / weights.sum()
        mean[-1] = 1.0 if mean[-1] > 0 else -1.0
        return mean
