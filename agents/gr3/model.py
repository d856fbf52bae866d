"""The GR-3 network: a Qwen2.5-VL backbone run once per observation, a task-status head on its last
prompt token, and an action transformer that turns noise into an action chunk by flow matching,
reading the KV cache of the backbone's latter half.

Training (``loss``), per batch of observations:
1. some instructions are swapped for requests about things not in the scene (``swap_prob``); those samples are labelled
   ``invalid`` and get no flow loss; the others are ``ongoing`` or ``terminated`` (agents.gr3.status);
2. one backbone forward gives the prompt's KV cache and the status logits (cross-entropy);
3. ``flow_samples`` flow times t ~ U(0, 1) per sample, each with its own noise, go through the DiT
   in one sequence that reads that one cache; MSE between its velocity and ``actions - noise`` on
   the robot's real action dimensions and on steps inside the episode;
4. co-training (batches with ``vl_*`` keys): the next-token loss of question answers about
   simulated scenes, through the backbone alone, added with weight ``vl_weight`` (GR-3: equal).

Inference (``sample``): one backbone forward, then ``flow_steps`` Euler steps of the DiT from noise,
every step reading the same cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.base import INVALID, TASK_STATUSES
from agents.data.mix import ROBOT_KEY
from agents.gr3.action_transformer import ActionTransformer
from agents.gr3.adapters import ADAPTERS
from agents.gr3.backbone import Backbone, Prefix
from agents.gr3.config import GR3Config
from agents.gr3.cotraining import VL_ANSWER, VL_PREFIX, VL_QUESTION
from agents.gr3.flow import euler, interpolate, velocity_target
from agents.gr3.status import STATUS_INDEX, status_labels, swap_instructions


class GR3(nn.Module):
    """Args:
    config: the model; ``config.robots`` are the robots it serves, each through its adapter.
    invalid_pool: the requests swapped in for training the ``invalid`` status, per robot (``gr-bench
        train`` gives each robot's environment's training bank; one sequence serves every robot);
        needed when ``swap_prob`` > 0.
    """

    def __init__(self, config: GR3Config, invalid_pool: Mapping[str, Sequence[str]] | Sequence[str] | None = None):
        super().__init__()
        self.config = config
        self.adapters = {robot: ADAPTERS[robot] for robot in config.robots}
        self.backbone = Backbone(config)
        backbone = self.backbone
        self.dit = ActionTransformer(
            layers=backbone.depth // 2,
            hidden=config.dit_hidden,
            mlp=config.dit_mlp,
            heads=backbone.heads,
            kv_heads=backbone.kv_heads,
            head_dim=backbone.head_dim,
            state_dim=config.state_dim,
            action_dim=config.action_dim,
        )
        self.status_head = nn.Linear(backbone.hidden, len(TASK_STATUSES))
        nn.init.zeros_(self.status_head.bias)
        nn.init.normal_(self.status_head.weight, std=0.02)
        if isinstance(invalid_pool, Mapping):
            self.invalid_pool = {robot: tuple(invalid_pool.get(robot, ())) for robot in config.robots}
        else:
            self.invalid_pool = {robot: tuple(invalid_pool or ()) for robot in config.robots}
        self.training_inputs = {
            robot: adapter.training_inputs(config.state_dim, config.action_dim)
            for robot, adapter in self.adapters.items()
        }

    def batch_robot(self, batch: dict[str, Any]) -> str:
        """The robot a training batch comes from (its ``robot`` key; a one-robot model's own without one)."""
        if ROBOT_KEY not in batch:
            if len(self.config.robots) > 1:
                raise ValueError(f"a batch for a GR-3 of robots {list(self.config.robots)} must say its {ROBOT_KEY!r}")
            return self.config.robots[0]
        robots = set(batch[ROBOT_KEY])
        if len(robots) != 1 or not robots <= set(self.config.robots):
            raise ValueError(f"a batch must hold one of the model's robots {list(self.config.robots)}, got {robots}")
        return robots.pop()

    def velocity(self, prefix: Prefix, state: torch.Tensor, noisy_actions: torch.Tensor, t: torch.Tensor):
        """The DiT's velocity, (B, S, k, action_dim), for noisy chunks (B, S, k, action_dim) at times (B, S).

        The state and action tokens continue the prompt's positions, as text after it would.
        """
        k = noisy_actions.shape[2]
        offsets = torch.arange(1 + k, device=state.device)
        rope = self.backbone.rope(prefix.next_position[:, None] + offsets, like=prefix.features)  # (B, 1+k, d)
        return self.dit(noisy_actions, t, state, prefix.keys, prefix.values, prefix.mask, rope)

    def sample(
        self,
        images: list[torch.Tensor],
        state: torch.Tensor,
        instructions: list[str],
        noise: torch.Tensor | None = None,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        recompute_prefix: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """An action chunk and the task-status logits for a batch of observations.

        Args:
            images: V views of (B, 3, H, W) uint8; state: (B, state_dim) normalised and padded.
            noise: (B, chunk, action_dim) starting point; drawn from ``generator`` when None.
            steps: Euler steps (default ``flow_steps``).
            recompute_prefix: rerun the backbone at every Euler step instead of reusing its cache
                (one forward per step): the same result, slower; only to measure what the cache saves.
        Returns:
            actions (B, chunk, action_dim) normalised and padded; status logits (B, 3) over TASK_STATUSES.
        """
        config = self.config
        prefix = self.backbone(images, instructions)
        if noise is None:
            shape = (len(instructions), config.chunk, config.action_dim)
            noise = torch.randn(shape, generator=generator, device=generator.device if generator else "cpu")
        noise = noise.to(state.device)

        def field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            recompute = recompute_prefix and bool(t[0] > 0)  # the first step has the forward just run
            step_prefix = self.backbone(images, instructions) if recompute else prefix
            return self.velocity(step_prefix, state, x[:, None], t[:, None])[:, 0]

        actions = euler(field, noise, steps or config.flow_steps)
        return actions, self.status_head(prefix.features)

    def loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Flow matching on action chunks plus task-status cross-entropy, for EpisodeWindows batches."""
        config = self.config
        robot = self.batch_robot(batch)
        inputs = self.training_inputs[robot](batch)
        actions, action_mask = inputs["actions"], inputs["action_mask"]  # (B, k, A), (B, k)
        b, k, a = actions.shape
        if k != config.chunk:
            raise ValueError(f"the batch has action chunks of {k} steps but GR3Config.chunk is {config.chunk}")
        device = actions.device
        pool = self.invalid_pool[robot]
        if config.swap_prob > 0 and not pool:
            raise ValueError(
                f"GR3 with swap_prob > 0 needs invalid_pool for {robot!r} (requests about things not in the scene); "
                "gr-bench train gives the environment's bank, or set swap_prob=0 for no invalid-status training"
            )
        instructions, swapped = swap_instructions(list(inputs["instruction"]), config.swap_prob, pool)
        swapped = swapped.to(device)
        labels = status_labels(action_mask, config.terminal_steps).masked_fill(swapped, STATUS_INDEX[INVALID])

        vl = self._vl_samples(batch, robot)
        if vl is None:
            prefix = self.backbone(inputs["images"], instructions)
        else:  # co-training: the question-answer samples ride in the same backbone forward
            views, questions, answers = vl
            images = [
                torch.cat([robot, _resized(extra, robot)]) for robot, extra in zip(inputs["images"], views, strict=True)
            ]
            prefix, vl_loss, vl_accuracy = self.backbone.forward_with_answers(
                images, instructions + questions, [None] * b + answers
            )
            prefix = prefix.rows(b)
        status_logits = self.status_head(prefix.features)  # (B, 3)
        status_loss = F.cross_entropy(status_logits, labels)

        s = config.flow_samples
        clean = actions[:, None].expand(b, s, k, a)  # (B, S, k, A)
        noise = torch.randn_like(clean)
        t = torch.rand(b, s, device=device)
        velocity = self.velocity(prefix, inputs["state"], interpolate(noise, clean, t), t)  # (B, S, k, A)
        # supervised: real action dimensions, steps inside the episode, samples with their own instruction
        weight = action_mask[:, None, :, None] & inputs["action_dims"] & ~swapped[:, None, None, None]  # (B, 1, k, A)
        weight = weight.expand_as(velocity).float()
        error = (velocity - velocity_target(noise, clean)) ** 2
        flow_loss = (error * weight).sum() / weight.sum().clamp(min=1.0)

        total = flow_loss + config.status_weight * status_loss
        vl_metrics = {}
        if vl is not None:
            total = total + config.vl_weight * vl_loss
            vl_metrics = {"vl_loss": vl_loss.item(), "vl_token_acc": vl_accuracy.item()}
        metrics = {
            "loss": total.item(),
            "flow_loss": flow_loss.item(),
            "status_loss": status_loss.item(),
            "status_acc": (status_logits.argmax(-1) == labels).float().mean().item(),
            "swapped": swapped.float().mean().item(),
            **vl_metrics,
        }
        return total, metrics

    def _vl_samples(self, batch: dict[str, Any], robot: str):
        """The batch's co-training samples (``vl_*`` keys, see agents.gr3.cotraining), the first
        ``vl_fraction`` of them: (views, questions, answers), or None without any (or vl_weight 0)."""
        if VL_QUESTION not in batch or self.config.vl_weight == 0:
            return None
        questions = list(batch[VL_QUESTION])
        n = max(1, round(len(questions) * self.config.vl_fraction))
        views = [batch[VL_PREFIX + cam][:n] for cam in self.adapters[robot].cameras]
        return views, questions[:n], list(batch[VL_ANSWER][:n])

    def vl_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """The co-training loss alone (next-token loss of the answers; it reaches the backbone only)."""
        views, questions, answers = self._vl_samples(batch, self.batch_robot(batch))
        return self.backbone.answer_loss(views, questions, answers)


def _resized(images: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 3, h, w) at ``like``'s height and width (area interpolation), to share a batch."""
    if images.shape[-2:] == like.shape[-2:]:
        return images
    resized = F.interpolate(images.float(), size=tuple(like.shape[-2:]), mode="area")
    return resized.round().clamp(0, 255).to(like.dtype)
