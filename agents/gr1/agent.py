"""GR-1 behind the Agent protocol: load a checkpoint, keep the last ``history`` observations, act.

The history is reset per task (as CALVIN's evaluation resets the policy between the subtasks of a
chain) and left-padded exactly as training windows are at an episode start, so step t of an
episode sees the same timestep embeddings it was trained with. Each observation is encoded once,
when it arrives; the trunk reruns over the cached tokens of the whole history.

Action: CALVIN's 7-D relative action (TCP translation and rotation, gripper +1 open / -1 close),
un-normalised with the statistics of the data the checkpoint was trained on. A checkpoint trained
with ``chunk`` > 1 plans that many actions at once; the first ``execute_steps`` of them (default:
all) are executed, one per ``act()``, before it plans again.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import chunk_execute_steps
from agents.data.lerobot_format import ACTION_KEY, STATE_KEY
from agents.data.privileged import SCENE_STATE_KEY
from agents.gr1.config import CAMERAS, GR1Config
from agents.gr1.model import GR1
from agents.train.checkpoint import action_normalizer, policy_model
from agents.train.checkpoint import load_model as load_checkpoint_model

ACTION_DIM = 7  # CALVIN's relative TCP motion and gripper


def load_model(checkpoint: str | Path) -> tuple[GR1, dict[str, Any]]:
    """The GR-1 model of a checkpoint (or a run's newest, or ``reference:NAME``), in eval mode, and its config."""
    return load_checkpoint_model(checkpoint, "gr1", GR1, GR1Config)


def require_tabletop_arm(space, agent: str) -> None:
    """Refuse an episode whose action space is not the tabletop arm's (GR-1 and GR-2 drive it alone)."""
    if tuple(space.shape) != (ACTION_DIM,):
        raise ValueError(
            f"{agent} was trained for the tabletop arm's {ACTION_DIM}-D action, but the episode's action space has "
            f"shape {tuple(space.shape)}; evaluate it on GRBench/Tabletop-v0 episodes (--env GRBench/Tabletop-v0)"
        )


class GR1Agent:
    """Args:
    checkpoint: a checkpoint folder, a training run (its newest checkpoint), or ``reference:NAME``
        (default: ``reference:gr1-tiny``, the shipped reference).
    execute_steps: actions of a chunk executed before planning again (default: the whole chunk; the
        reference plans one action per step, chunk 1).
    """

    DEFAULT_CHECKPOINT = "reference:gr1-tiny"  # shipped with gr-bench (agents/reference/)

    def __init__(
        self,
        checkpoint: str = DEFAULT_CHECKPOINT,
        device: str = "cpu",
        threads: int | None = 1,
        execute_steps: int | None = None,
    ):
        self.model, saved, self.device = policy_model(checkpoint, "gr1", GR1, GR1Config, device, threads)
        self.normalizer = action_normalizer(saved, checkpoint, "gr1")
        self.config: GR1Config = self.model.config
        self.execute_steps = chunk_execute_steps(execute_steps, self.config.chunk)
        self._history: deque[torch.Tensor] = deque(maxlen=self.config.history)
        self._queue: deque[np.ndarray] = deque()
        self._lang: torch.Tensor | None = None

    def bind_action_space(self, space) -> None:
        """GR-1 serves the tabletop arm: CALVIN's 7-D relative action; another robot is refused."""
        require_tabletop_arm(space, "GR-1")

    def reset(self, instruction: str) -> None:
        self._history.clear()
        self._queue.clear()
        with torch.inference_mode():
            self._lang = self.model.encode_language([instruction])  # (1, H)

    @torch.inference_mode()
    def act(self, observation: dict[str, Any]) -> np.ndarray:
        if self._lang is None:
            raise RuntimeError("call reset(instruction) before act()")
        model, config = self.model, self.config
        images = {}
        for cam in CAMERAS:
            frame = torch.from_numpy(np.ascontiguousarray(observation[cam])).to(self.device)  # (h, w, 3) uint8
            images[cam] = model.prepare_images(frame.permute(2, 0, 1)[None])  # (1, 3, S, S)
        state = self.normalizer.normalize(STATE_KEY, np.asarray(observation["robot_obs"], dtype=np.float32))
        if self.config.scene_state:
            if "scene_obs" not in observation:
                raise ValueError(
                    "this GR-1 is the scene-state control: it needs the observation's scene_obs (its checkpoint's "
                    "privileged_inputs tell the evaluator to pass it)"
                )
            scene = np.asarray(observation["scene_obs"], dtype=np.float32)
            state = np.concatenate([state, self.normalizer.normalize(SCENE_STATE_KEY, scene)])
        tokens = model.encode_observation(images, torch.from_numpy(state)[None].to(self.device))  # (1, K, H)
        self._history.append(tokens)
        if self._queue:
            return self._queue.popleft()
        t, n = config.history, len(self._history)
        obs = torch.zeros(1, t, *tokens.shape[1:], device=self.device)  # (1, T, K, H), left padding
        obs[0, t - n :] = torch.cat(list(self._history))
        mask = torch.zeros(1, t, dtype=torch.bool, device=self.device)
        mask[0, t - n :] = True
        out = model.trunk(obs, self._lang, mask)
        arm, gripper = model.action_heads(out["act"][:, -1])  # (1, chunk, 6), (1, chunk)
        actions = torch.cat([arm[0], torch.where(gripper[0] > 0, 1.0, -1.0)[:, None]], dim=-1)  # (chunk, 7)
        actions = self.normalizer.unnormalize(ACTION_KEY, actions.float().cpu().numpy())
        self._queue.extend(np.asarray(a, dtype=np.float64) for a in actions[: self.execute_steps])
        return self._queue.popleft()
