"""The GR-1 network: frozen encoders, a perceiver resampler, a GPT-style causal trunk over a history
of timesteps, [ACT] and [OBS] query tokens, an action head and an MAE-style future-frame decoder.

Per timestep the trunk sees, in this order (S tokens):

    [lang] [state] [static latents x n] [static CLS] [gripper latents x n] [gripper CLS]
    [OBS static x (n+1)] [OBS gripper x (n+1)] [ACT]

Every token of step t gets the same learned timestep embedding; there is no absolute position
embedding. Query tokens come last in a step, so they see all of its observation tokens, and no
token attends to a query token: the queries read the sequence without changing it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.gr1.config import CAMERAS, GR1Config
from agents.gr1.encoders import TextEncoder, VisionEncoder
from agents.gr1.layers import Block, FrameDecoder, PerceiverResampler, patchify, to_unit_images, trunk_mask
from agents.weights import init_weights


class GR1(nn.Module):
    def __init__(self, config: GR1Config):
        super().__init__()
        self.config = config
        hidden, n = config.hidden, config.resampler_latents
        self.text = TextEncoder(config.text_encoder, frozen=config.freeze_text)
        self.vision = VisionEncoder(config.vision_encoder, config.vision_config, frozen=config.freeze_vision)
        if self.vision.image_size != config.image_size:
            raise ValueError(
                f"GR1Config.image_size is {config.image_size} but the vision encoder takes {self.vision.image_size}"
            )
        self.resampler = PerceiverResampler(self.vision.dim, n, config.resampler_layers, heads=_heads(self.vision.dim))
        self.embed_lang = nn.Linear(self.text.dim, hidden)
        self.embed_state = nn.Linear(config.state_dim, hidden)
        self.embed_latents = nn.ModuleDict({cam: nn.Linear(self.vision.dim, hidden) for cam in CAMERAS})
        self.embed_cls = nn.ModuleDict({cam: nn.Linear(self.vision.dim, hidden) for cam in CAMERAS})
        self.embed_step = nn.Embedding(config.history, hidden)
        self.embed_norm = nn.LayerNorm(hidden)
        self.obs_queries = nn.Parameter(torch.randn(len(CAMERAS), n + 1, hidden) * 0.02)
        self.act_query = nn.Parameter(torch.randn(1, hidden) * 0.02)
        self.blocks = nn.ModuleList(Block(hidden, config.heads, config.dropout) for _ in range(config.layers))
        self.norm = nn.LayerNorm(hidden)
        self.arm_head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, config.chunk * config.arm_dim)
        )
        self.gripper_head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, config.chunk))
        self.decoder = FrameDecoder(
            hidden,
            config.decoder_hidden,
            config.decoder_layers,
            config.decoder_heads,
            config.image_size,
            self.vision.patch_size,
        )
        # token bookkeeping within one step
        self.obs_tokens = 2 + len(CAMERAS) * (n + 1)  # lang, state, latents + CLS per camera
        self.query_tokens = len(CAMERAS) * (n + 1) + 1
        self.tokens_per_step = self.obs_tokens + self.query_tokens
        is_query = torch.zeros(self.tokens_per_step, dtype=torch.bool)
        is_query[self.obs_tokens :] = True
        self.register_buffer("is_query", is_query, persistent=False)
        for name, module in self.named_children():
            if name not in ("text", "vision"):
                module.apply(init_weights)

    # --- inputs ----------------------------------------------------------------------------
    def prepare_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (..., 3, h, w) -> float (..., 3, S, S) in [0, 1] at the model's image size."""
        return to_unit_images(images, self.config.image_size)

    def encode_observation(self, images: dict[str, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """One step's observation tokens without language.

        Args:
            images: camera -> (N, 3, S, S) floats in [0, 1].
            state: (N, state_dim) normalised robot state.
        Returns:
            (N, obs_tokens - 1, hidden): state, then latents and CLS per camera.
        """
        tokens = [self.embed_state(state).unsqueeze(1)]  # (N, 1, H)
        for cam in CAMERAS:
            features = self.vision(images[cam])  # (N, 1 + P, Dv)
            latents = self.resampler(features[:, 1:])  # (N, n, Dv)
            tokens.append(self.embed_latents[cam](latents))  # (N, n, H)
            tokens.append(self.embed_cls[cam](features[:, :1]))  # (N, 1, H)
        return torch.cat(tokens, dim=1)

    def encode_language(self, instructions: list[str]) -> torch.Tensor:
        """(B,) strings -> (B, hidden)."""
        device = self.act_query.device
        return self.embed_lang(self.text(list(instructions)).to(device))

    # --- trunk -----------------------------------------------------------------------------
    def trunk(self, obs: torch.Tensor, lang: torch.Tensor, history_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the causal trunk.

        Args:
            obs: (B, T, obs_tokens - 1, H) per-step observation tokens.
            lang: (B, H) instruction token, repeated at every step.
            history_mask: (B, T) bool, True for real steps.
        Returns:
            ``act`` (B, T, H) and ``obs_queries`` (B, T, cameras, n + 1, H) outputs.
        """
        b, t = obs.shape[:2]
        queries = torch.cat([self.obs_queries.flatten(0, 1), self.act_query], dim=0)  # (Q, H)
        step_tokens = torch.cat(
            [lang[:, None, None].expand(b, t, 1, -1), obs, queries.expand(b, t, -1, -1)], dim=2
        )  # (B, T, S, H)
        step_tokens = step_tokens + self.embed_step.weight[:t][None, :, None]  # same embedding for a step's tokens
        x = self.embed_norm(step_tokens.reshape(b, t * self.tokens_per_step, -1))  # (B, T*S, H)
        mask = trunk_mask(history_mask, self.tokens_per_step, self.is_query)  # (B, T*S, T*S)
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x).reshape(b, t, self.tokens_per_step, -1)  # (B, T, S, H)
        n1 = self.config.resampler_latents + 1
        return {
            "act": x[:, :, -1],
            "obs_queries": x[:, :, self.obs_tokens : -1].reshape(b, t, len(CAMERAS), n1, -1),
        }

    def action_heads(self, act: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., H) -> arm (..., chunk, arm_dim) normalised, gripper logits (..., chunk)."""
        arm = self.arm_head(act).unflatten(-1, (self.config.chunk, self.config.arm_dim))
        return arm, self.gripper_head(act)

    # --- training ---------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Predictions for a batch of training windows (see agents.data.EpisodeWindows)."""
        history_mask = batch["history_mask"]  # (B, T)
        b, t = history_mask.shape
        images = {cam: self.prepare_images(batch[cam]).flatten(0, 1) for cam in CAMERAS}  # (B*T, 3, S, S)
        state = batch.get("state")
        if state is None:  # plain video has no robot state
            state = torch.zeros(b, t, self.config.state_dim, device=history_mask.device)
        obs = self.encode_observation(images, state.flatten(0, 1).float()).unflatten(0, (b, t))  # (B, T, K, H)
        lang = self.encode_language(batch.get("instruction", batch.get("caption")))
        out = self.trunk(obs, lang, history_mask)
        arm, gripper = self.action_heads(out["act"])  # (B, T, chunk, 6), (B, T, chunk)
        frames = {cam: self.decoder(out["obs_queries"][:, :, i].flatten(0, 1)) for i, cam in enumerate(CAMERAS)}
        return {"arm": arm, "gripper": gripper, "frames": frames}  # frames: cam -> (B*T, P, p*p*3)

    def shifted(self, batch: dict[str, Any]) -> dict[str, Any]:
        """``batch`` with each camera's frames (and the future frames it predicts) shifted by one
        random offset per window (``augment_shift`` pixels at most, of the frames as the data
        gives them: the model's image size, as the fine-tuning data is loaded)."""
        from agents.train.augment import random_shift

        batch = dict(batch)
        for cam in CAMERAS:
            keys = [k for k in (cam, f"future_{cam}") if k in batch]
            frames = [batch[k] for k in keys]  # uint8 (B, T, 3, h, w)
            for key, frame in zip(keys, random_shift(frames, self.config.augment_shift), strict=True):
                batch[key] = frame
        return batch

    def loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of smooth-L1 (arm), BCE (gripper) and normalised-patch MSE (future frames)."""
        config = self.config
        if self.training and config.augment_shift:
            batch = self.shifted(batch)
        pred = self(batch)
        history_mask = batch["history_mask"]
        metrics: dict[str, float] = {}
        total = pred["arm"].new_zeros(())
        if config.action_loss:
            actions = batch["actions"]  # (B, T, chunk, 7)
            mask = batch["action_mask"] & history_mask[..., None]  # (B, T, chunk)
            weight = mask.float()
            denom = weight.sum().clamp(min=1.0)
            arm = F.smooth_l1_loss(pred["arm"], actions[..., : config.arm_dim], reduction="none").mean(-1)
            arm = (arm * weight).sum() / denom
            target = (actions[..., config.arm_dim] > 0).float()  # +1 open -> 1, -1 close -> 0
            grip = F.binary_cross_entropy_with_logits(pred["gripper"], target, reduction="none")
            grip = (grip * weight).sum() / denom
            accuracy = (((pred["gripper"] > 0).float() == target).float() * weight).sum() / denom
            total = total + config.arm_weight * arm + config.gripper_weight * grip
            metrics.update(arm_loss=arm.item(), gripper_loss=grip.item(), gripper_acc=accuracy.item())
        video = pred["arm"].new_zeros(())
        if config.video_weight > 0:
            patch = self.vision.patch_size
            for cam in CAMERAS:
                target = patchify(self.prepare_images(batch[f"future_{cam}"]).flatten(0, 1), patch)  # (B*T, P, p*p*3)
                mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
                target = (target - mean) / (var + 1e-6).sqrt()  # MAE's normalised-pixel target
                per_frame = ((pred["frames"][cam] - target) ** 2).mean(dim=(1, 2))  # (B*T,)
                mask = (batch["future_mask"] & history_mask).flatten().float()
                if cam != CAMERAS[0] and "has_rgb_gripper" in batch:
                    mask = mask * batch["has_rgb_gripper"].float().repeat_interleave(history_mask.shape[1])
                cam_loss = (per_frame * mask).sum() / mask.sum().clamp(min=1.0)
                metrics[f"video_loss_{cam}"] = cam_loss.item()
                video = video + cam_loss
            total = total + config.video_weight * video
        metrics["loss"] = total.item()
        return total, metrics


def _heads(dim: int) -> int:
    """Resampler attention heads: 64-wide heads where the width allows it."""
    for heads in (dim // 64, 8, 4, 2, 1):
        if heads >= 1 and dim % heads == 0:
            return heads
    return 1
