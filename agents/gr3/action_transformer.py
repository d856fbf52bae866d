"""GR-3's action transformer (DiT): the flow-matching velocity of an action chunk, read off the VLM.

Tokens of one flow sample: ``[state, a_1 .. a_k]`` (N = 1 + k). Block i attends jointly to
- the keys and values that VLM layer L/2 + i cached for the prompt (rotary positions already
  applied there), and
- its own tokens' keys and values, causally within the chunk: a_j sees the state and a_1 .. a_j.

Its queries have the VLM's head width and its keys and values the VLM's key-value heads, so the
cache is used as it is, without a projection. The flow time enters through adaptive LayerNorm
(shift, scale and gate from t, zero-initialised as DiT's adaLN-Zero). RMSNorm follows the linear
layers inside attention (queries and keys, per head) and feed-forward (its hidden layer), which
GR-3 reports stabilises training.

Several flow samples of one observation share one sequence, block-diagonal over samples, so one
read of the VLM's cache serves all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb

from agents.weights import init_weights

RMS_EPS = 1e-6


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of flow times in [0, 1], (...,) -> (..., dim), as DiT embeds its timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[..., None] * freqs  # t scaled to DiT's 0..1000 range
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, dim % 2))


def attention_mask(prefix_mask: torch.Tensor, tokens: int, samples: int) -> torch.Tensor:
    """Which keys each DiT query may attend to, (B, S*N, Lp + S*N) bool.

    Keys are the prompt's Lp cached tokens, then the DiT's own S*N tokens. Every query sees the real
    (not padded) prompt tokens; among its own, a token sees those of its flow sample up to itself.

    Args:
        prefix_mask: (B, Lp) bool, True on real prompt tokens.
        tokens: N, tokens per flow sample (state + chunk).
        samples: S, flow samples in the sequence.
    """
    b, lp = prefix_mask.shape
    causal = torch.ones(tokens, tokens, dtype=torch.bool, device=prefix_mask.device).tril()  # (N, N)
    own = torch.block_diag(*[causal.int()] * samples).bool()  # (S*N, S*N)
    prefix = prefix_mask[:, None, :].expand(b, samples * tokens, lp)
    return torch.cat([prefix, own.expand(b, -1, -1)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class CacheAttention(nn.Module):
    """Attention of the DiT's tokens over [a VLM layer's cached keys/values ; their own]."""

    def __init__(self, hidden: int, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        if heads % kv_heads:
            raise ValueError(f"query heads ({heads}) must be a multiple of key-value heads ({kv_heads})")
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(hidden, heads * head_dim)
        self.k_proj = nn.Linear(hidden, kv_heads * head_dim)
        self.v_proj = nn.Linear(hidden, kv_heads * head_dim)
        self.q_norm = nn.RMSNorm(head_dim, eps=RMS_EPS)
        self.k_norm = nn.RMSNorm(head_dim, eps=RMS_EPS)
        self.o_proj = nn.Linear(heads * head_dim, hidden)

    def forward(
        self,
        x: torch.Tensor,
        prefix_key: torch.Tensor,
        prefix_value: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """x (B, Q, hidden); prefix_key/value (B, kv_heads, Lp, head_dim); rope cos/sin (B, Q, head_dim);
        mask (B, Q, Lp + Q) bool. Returns (B, Q, hidden)."""
        b, q_len, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, q_len, self.heads, self.head_dim)).transpose(1, 2)  # (B, H, Q, d)
        k = self.k_norm(self.k_proj(x).view(b, q_len, self.kv_heads, self.head_dim)).transpose(1, 2)  # (B, Hkv, Q, d)
        v = self.v_proj(x).view(b, q_len, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, *rope)
        k = torch.cat([prefix_key.to(k.dtype), k], dim=2)  # (B, Hkv, Lp + Q, d)
        v = torch.cat([prefix_value.to(v.dtype), v], dim=2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None], enable_gqa=True)  # (B, H, Q, d)
        return self.o_proj(out.transpose(1, 2).reshape(b, q_len, -1))


class FeedForward(nn.Module):
    def __init__(self, hidden: int, mlp: int):
        super().__init__()
        self.fc1 = nn.Linear(hidden, mlp)
        self.norm = nn.RMSNorm(mlp, eps=RMS_EPS)
        self.fc2 = nn.Linear(mlp, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.norm(self.fc1(x)), approximate="tanh"))


class DiTBlock(nn.Module):
    def __init__(self, hidden: int, mlp: int, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = CacheAttention(hidden, heads, kv_heads, head_dim)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(hidden, mlp)
        self.modulation = nn.Linear(hidden, 6 * hidden)  # shift, scale, gate for attention, then feed-forward

    def forward(self, x, cond, prefix_key, prefix_value, rope, mask) -> torch.Tensor:
        """x (B, S*N, hidden); cond (B, S*N, hidden), the flow time's embedding at every token."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(cond)).chunk(6, dim=-1)
        x = x + gate1 * self.attn(modulate(self.norm1(x), shift1, scale1), prefix_key, prefix_value, rope, mask)
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))


class ActionTransformer(nn.Module):
    """The DiT. ``layers`` must be half the VLM's depth; block i reads the i-th cache it is given."""

    def __init__(
        self,
        layers: int,
        hidden: int,
        mlp: int,
        heads: int,
        kv_heads: int,
        head_dim: int,
        state_dim: int,
        action_dim: int,
    ):
        super().__init__()
        self.embed_state = nn.Linear(state_dim, hidden)
        self.embed_action = nn.Linear(action_dim, hidden)
        self.embed_time = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.blocks = nn.ModuleList(DiTBlock(hidden, mlp, heads, kv_heads, head_dim) for _ in range(layers))
        self.final_norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Linear(hidden, 2 * hidden)
        self.head = nn.Linear(hidden, action_dim)
        self.apply(init_weights)
        for block in self.blocks:  # adaLN-Zero: every block starts as the identity
            nn.init.zeros_(block.modulation.weight)
            nn.init.zeros_(block.modulation.bias)
        for layer in (self.final_modulation, self.head):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(
        self,
        noisy_actions: torch.Tensor,
        t: torch.Tensor,
        state: torch.Tensor,
        prefix_keys: Sequence[torch.Tensor],
        prefix_values: Sequence[torch.Tensor],
        prefix_mask: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """The velocity of each flow sample's noisy chunk.

        Args:
            noisy_actions: (B, S, k, action_dim) chunks a_t.
            t: (B, S) their flow times.
            state: (B, state_dim).
            prefix_keys, prefix_values: one (B, kv_heads, Lp, head_dim) tensor per block.
            prefix_mask: (B, Lp) bool, True on real prompt tokens.
            rope: cos, sin (B, 1 + k, head_dim) of the state and action tokens' positions.
        Returns:
            (B, S, k, action_dim).
        """
        if len(prefix_keys) != len(self.blocks) or len(prefix_values) != len(self.blocks):
            raise ValueError(f"the DiT has {len(self.blocks)} blocks but was given {len(prefix_keys)} caches")
        b, s, k, _ = noisy_actions.shape
        n = 1 + k
        state_token = self.embed_state(state)[:, None, None].expand(b, s, 1, -1)  # (B, S, 1, h)
        x = torch.cat([state_token, self.embed_action(noisy_actions)], dim=2).reshape(b, s * n, -1)  # (B, S*N, h)
        cond = self.embed_time(timestep_embedding(t, x.shape[-1]))  # (B, S, h)
        token_cond = cond.repeat_interleave(n, dim=1)  # (B, S*N, h)
        mask = attention_mask(prefix_mask, n, s)  # (B, S*N, Lp + S*N)
        rope = (rope[0].repeat(1, s, 1), rope[1].repeat(1, s, 1))  # every sample has the same positions
        for block, key, value in zip(self.blocks, prefix_keys, prefix_values, strict=True):
            x = block(x, token_cond, key, value, rope, mask)
        actions = x.view(b, s, n, -1)[:, :, 1:]  # (B, S, k, h): the action tokens
        shift, scale = self.final_modulation(F.silu(cond))[:, :, None].chunk(2, dim=-1)  # (B, S, 1, h) each
        return self.head(modulate(self.final_norm(actions), shift, scale))
