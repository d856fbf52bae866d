"""The GR-2 network: a frozen text encoder, a frozen VQGAN tokenizer, a GPT-style causal transformer over
interleaved text, frame and state tokens, a next-frame-token head and a conditional-VAE action head.

The sequence of a window of T steps (L = 1 + T * (cameras * g * g + 2) tokens):

    [lang] | [static codes x g*g] [gripper codes x g*g] [state] [ACT] | ... step t+1 ...

or, with ``lang_every_step``, GR-1's layout: the instruction's token opens every step as well (T tokens more),

    [lang] | [lang] [static codes x g*g] [gripper codes x g*g] [state] [ACT] | ... step t+1 ...

The attention is causal. The output at the position before each frame code predicts that code
(cross-entropy, every camera): the frames of step t are predicted from the text, every earlier step
and the codes of step t before them. [ACT] of step t sees step t's frames and state (and, with
``lang_in_act``, carries the instruction's embedding itself: the one [lang] token at the head of a long
window was found to be ignored once the history fills, docs/training.md); its output
conditions the cVAE, whose encoder reads the true chunk at training time and whose learned prior
p(z | ACT) gives the latent at inference (its mean, or a sample).

The frozen tokenizer's weights are held as persistent buffers, not parameters: nothing optimises them,
and every GR-2 checkpoint carries the tokenizer its trunk was trained with (``trained_state_dict`` keeps
buffers), so a checkpoint acts on its own and its sha256 covers the tokenizer too.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.gr1.layers import Block, to_unit_images
from agents.gr2.config import CAMERAS, GR2Config
from agents.gr2.tokenizer import VQGAN
from agents.weights import init_weights


def _mlp(din: int, hidden: int, layers: int, dout: int) -> nn.Sequential:
    modules: list[nn.Module] = []
    for _ in range(layers):
        modules += [nn.Linear(din, hidden), nn.GELU()]
        din = hidden
    return nn.Sequential(*modules, nn.Linear(din, dout))


def _hold_as_buffers(module: nn.Module) -> None:
    """Turn every parameter of ``module`` into a persistent buffer of the same name (frozen, saved)."""
    for sub in module.modules():
        for name, param in list(sub._parameters.items()):
            if param is not None:
                del sub._parameters[name]
                sub.register_buffer(name, param.detach())


class CVAEHead(nn.Module):
    """Conditional VAE over a chunk of actions (arm normalised, gripper as a logit), given a context h.

    encoder q(z | h, chunk), prior p(z | h), decoder (h, z) -> chunk; MLPs (the paper gives no sizes).
    """

    def __init__(self, config: GR2Config):
        super().__init__()
        self.config = config
        c, width, depth, latent = config.chunk, config.cvae_hidden, config.cvae_layers, config.latent_dim
        self.encoder = _mlp(config.hidden + c * (config.arm_dim + 1), width, depth, 2 * latent)
        self.prior = _mlp(config.hidden, width, depth, 2 * latent)
        self.decoder = _mlp(config.hidden + latent, width, depth, c * (config.arm_dim + 1))

    def forward(
        self, h: torch.Tensor, actions: torch.Tensor | None = None, sample: bool = False
    ) -> dict[str, torch.Tensor]:
        """h (N, hidden); actions (N, chunk, arm_dim + 1) with the gripper in {-1, +1}, or None (inference).

        Returns ``arm`` (N, chunk, arm_dim), ``gripper`` logits (N, chunk) and, with actions, ``kl`` (N,).
        """
        prior_mu, prior_logvar = self.prior(h).chunk(2, -1)
        out: dict[str, torch.Tensor] = {}
        if actions is not None:
            mu, logvar = self.encoder(torch.cat([h, actions.flatten(1)], -1)).chunk(2, -1)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
            out["kl"] = 0.5 * (
                prior_logvar - logvar + (logvar.exp() + (mu - prior_mu) ** 2) / prior_logvar.exp() - 1
            ).sum(-1)
        else:
            z = prior_mu + torch.randn_like(prior_mu) * (0.5 * prior_logvar).exp() if sample else prior_mu
        chunk = self.decoder(torch.cat([h, z], -1)).unflatten(-1, (self.config.chunk, self.config.arm_dim + 1))
        out["arm"], out["gripper"] = chunk[..., :-1], chunk[..., -1]
        return out


class GR2(nn.Module):
    def __init__(self, config: GR2Config, text_encoder: nn.Module | None = None):
        """``text_encoder``: a module with ``dim`` mapping (B,) strings to (B, dim); default: the configured
        frozen encoder (GR-1's ``TextEncoder``). Passing one lets a test build the model on the meta device."""
        super().__init__()
        self.config = config
        hidden, g = config.hidden, config.grid
        if text_encoder is None:
            from agents.gr1.encoders import TextEncoder

            text_encoder = TextEncoder(config.text_encoder, frozen=config.freeze_text)
        self.text = text_encoder
        self.tokenizer = VQGAN(config)
        if config.freeze_tokenizer:
            _hold_as_buffers(self.tokenizer)
        self.embed_lang = nn.Linear(self.text.dim, hidden)
        self.embed_state = nn.Sequential(nn.Linear(config.state_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.embed_code = nn.Embedding(config.codebook_size, hidden)
        self.embed_pos = nn.Parameter(torch.zeros(len(CAMERAS), g * g, hidden))  # per camera and grid cell
        self.embed_step = nn.Embedding(config.history, hidden)
        self.act_query = nn.Parameter(torch.zeros(1, hidden))
        self.blocks = nn.ModuleList(Block(hidden, config.heads, config.dropout) for _ in range(config.layers))
        self.norm = nn.LayerNorm(hidden)
        self.frame_head = nn.Linear(hidden, config.codebook_size)
        self.action_head = CVAEHead(config)
        self.frame_tokens = len(CAMERAS) * g * g
        self.lead_tokens = int(config.lang_every_step)  # the step's own [lang] before its frames
        self.tokens_per_step = self.lead_tokens + self.frame_tokens + 2  # ([lang]), frames, state, ACT
        for name, module in self.named_children():
            if name not in ("text", "tokenizer"):
                module.apply(init_weights)
        nn.init.normal_(self.embed_pos, std=0.02)
        nn.init.normal_(self.act_query, std=0.02)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze_tokenizer:
            self.tokenizer.eval()
        return self

    # --- inputs ----------------------------------------------------------------------------
    def prepare_images(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (..., 3, h, w) -> float (..., 3, S, S) in [0, 1] at the model's image size."""
        return to_unit_images(images, self.config.image_size)

    def encode_frames(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (..., 3, h, w) frames of one camera -> (..., g * g) code ids, from the frozen tokenizer."""
        lead = images.shape[:-3]
        unit = self.prepare_images(images.reshape(-1, *images.shape[-3:]))  # (N, 3, S, S)
        return self.tokenizer.encode(unit).reshape(*lead, -1)

    def frame_codes(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, T, cameras * g * g) code ids of every camera's frames: the batch's ``codes`` where a training
        set has tokenized its frames already (``agents.gr2.training.CodedWindows``), else from the frozen
        tokenizer."""
        if "codes" in batch:
            return batch["codes"].long()
        return torch.cat([self.encode_frames(batch[cam]) for cam in CAMERAS], -1)

    # --- trunk -----------------------------------------------------------------------------
    def trunk(
        self, codes: torch.Tensor, state: torch.Tensor, lang: torch.Tensor, history_mask: torch.Tensor
    ) -> torch.Tensor:
        """codes (B, T, F) ids, state (B, T, state_dim), lang (B, text dim), history_mask (B, T) bool
        -> (B, 1 + T * tokens_per_step, H) outputs."""
        b, t, _ = codes.shape
        frames = self.embed_code(codes) + self.embed_pos.flatten(0, 1)  # (B, T, F, H)
        lang = self.embed_lang(lang)  # (B, H)
        act = self.act_query.expand(b, t, 1, -1)
        if self.config.lang_in_act:
            act = act + lang[:, None, None]
        parts = [frames, self.embed_state(state).unsqueeze(2), act]
        if self.config.lang_every_step:
            parts.insert(0, lang[:, None, None].expand(b, t, 1, -1))
        step_tokens = torch.cat(parts, dim=2)  # (B, T, S, H)
        step_tokens = step_tokens + self.embed_step.weight[:t][None, :, None]
        x = torch.cat([lang.unsqueeze(1), step_tokens.flatten(1, 2)], dim=1)  # (B, L, H)
        length = x.shape[1]
        valid = torch.cat(
            [history_mask.new_ones(b, 1), history_mask.repeat_interleave(self.tokens_per_step, dim=1)], dim=1
        )  # (B, L): the language token is always valid, so no query row is empty
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        mask = causal[None] & valid[:, None, :]  # (B, L, L)
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)

    def split(self, x: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk outputs -> frame-predicting outputs (B, T, F, H) (the position before each code) and
        ACT outputs (B, T, H)."""
        b, _, h = x.shape
        before = x[:, :-1].reshape(b, t, self.tokens_per_step, h)  # position i predicts token i + 1
        steps = x[:, 1:].reshape(b, t, self.tokens_per_step, h)
        return before[:, :, self.lead_tokens : self.lead_tokens + self.frame_tokens], steps[:, :, -1]

    @torch.no_grad()
    def action_chunk(
        self, codes: torch.Tensor, state: torch.Tensor, lang: torch.Tensor, history_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The chunk of the window's last step from the cVAE prior's mean: arm (B, chunk, arm_dim)
        normalised and gripper logits (B, chunk). Inputs as ``trunk``'s."""
        x = self.trunk(codes, state, lang, history_mask)
        _, act = self.split(x, codes.shape[1])
        out = self.action_head(act[:, -1])
        return out["arm"], out["gripper"]

    # --- training ---------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any], with_actions: bool = True) -> dict[str, torch.Tensor]:
        history_mask = batch["history_mask"]  # (B, T)
        b, t = history_mask.shape
        codes = self.frame_codes(batch)
        state = batch.get("state")
        if state is None:  # plain video has no robot state
            state = torch.zeros(b, t, self.config.state_dim, device=history_mask.device)
        lang = self.text(list(batch.get("instruction", batch.get("caption")))).to(history_mask.device)
        x = self.trunk(codes, state.float(), lang, history_mask)
        frame_out, act = self.split(x, t)
        out = {"codes": codes, "frame_logits": self.frame_head(frame_out)}  # (B, T, F, K)
        actions = batch.get("actions") if with_actions else None
        if actions is not None:
            out.update(self.action_head(act.flatten(0, 1), actions.flatten(0, 1).float()))
        else:
            out.update(self.action_head(act.flatten(0, 1)))
        out["arm"] = out["arm"].unflatten(0, (b, t))
        out["gripper"] = out["gripper"].unflatten(0, (b, t))
        if "kl" in out:
            out["kl"] = out["kl"].unflatten(0, (b, t))
        return out

    def loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """Next-frame-token cross-entropy (every camera) plus, with actions, the cVAE's smooth-L1 (arm),
        BCE (gripper) and KL terms."""
        config = self.config
        pred = self(batch, with_actions=config.action_loss)
        history_mask = batch["history_mask"]
        metrics: dict[str, float] = {}
        total = pred["frame_logits"].new_zeros(())
        if config.video_weight > 0:
            g2 = config.grid**2
            video = total
            for i, cam in enumerate(CAMERAS):
                logits = pred["frame_logits"][:, :, i * g2 : (i + 1) * g2]  # (B, T, g*g, K)
                target = pred["codes"][:, :, i * g2 : (i + 1) * g2]
                ce = F.cross_entropy(logits.flatten(0, 2), target.flatten(), reduction="none").view(target.shape)
                mask = history_mask.float()
                if cam != CAMERAS[0] and "has_rgb_gripper" in batch:
                    mask = mask * batch["has_rgb_gripper"].float()[:, None]
                denom = mask.sum().clamp(min=1.0)
                cam_loss = (ce.mean(-1) * mask).sum() / denom
                accuracy = ((logits.argmax(-1) == target).float().mean(-1) * mask).sum() / denom
                metrics[f"video_loss_{cam}"] = cam_loss.item()
                metrics[f"token_acc_{cam}"] = accuracy.item()
                video = video + cam_loss
            total = total + config.video_weight * video
        if config.action_loss:
            actions = batch["actions"]  # (B, T, chunk, 7)
            weight = (batch["action_mask"] & history_mask[..., None]).float()  # (B, T, chunk)
            denom = weight.sum().clamp(min=1.0)
            arm = F.smooth_l1_loss(pred["arm"], actions[..., : config.arm_dim], reduction="none").mean(-1)
            arm = (arm * weight).sum() / denom
            target = (actions[..., config.arm_dim] > 0).float()  # +1 open -> 1, -1 close -> 0
            grip = F.binary_cross_entropy_with_logits(pred["gripper"], target, reduction="none")
            grip = (grip * weight).sum() / denom
            step_mask = history_mask.float()
            kl = (pred["kl"] * step_mask).sum() / step_mask.sum().clamp(min=1.0)
            total = total + config.arm_weight * arm + config.gripper_weight * grip + config.kl_weight * kl
            metrics.update(arm_loss=arm.item(), gripper_loss=grip.item(), kl=kl.item())
        metrics["loss"] = total.item()
        return total, metrics
