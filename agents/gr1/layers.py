"""Building blocks of GR-1: a pre-norm transformer block (GPT style), a perceiver resampler, the
MAE-style decoder and the attention mask of the trunk."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D); mask (B or 1, L, L) bool, True where query i may attend to key j."""
        b, length, dim = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)  # 3x (B,H,L,d)
        attn_mask = None if mask is None else mask.unsqueeze(1)  # (B, 1, L, L)
        dropout = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)  # (B, H, L, d)
        return self.proj(out.transpose(1, 2).reshape(b, length, dim))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, mlp_ratio: int = 4):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), mask))
        return x + self.drop(self.mlp(self.ln2(x)))


class PerceiverResampler(nn.Module):
    """Flamingo's perceiver resampler: learned latents cross-attend to [inputs; latents]."""

    def __init__(self, dim: int, latents: int, layers: int, heads: int = 8):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(latents, dim) * 0.02)
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                {
                    "ln_x": nn.LayerNorm(dim),
                    "ln_latents": nn.LayerNorm(dim),
                    "attn": nn.MultiheadAttention(dim, heads, batch_first=True),
                    "ln_ff": nn.LayerNorm(dim),
                    "ff": nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)),
                }
            )
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, P, dim) tokens -> (N, latents, dim)."""
        latents = self.latents.expand(len(x), -1, -1)  # (N, n, dim)
        for layer in self.layers:
            q = layer["ln_latents"](latents)
            kv = torch.cat([layer["ln_x"](x), q], dim=1)  # (N, P + n, dim)
            latents = latents + layer["attn"](q, kv, kv, need_weights=False)[0]
            latents = latents + layer["ff"](layer["ln_ff"](latents))
        return self.norm(latents)


def sincos_2d(grid: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding, (grid * grid, dim), as MAE's decoder uses."""
    if dim % 4:
        raise ValueError(f"2-D sincos embedding needs dim divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    coords = torch.arange(grid, dtype=torch.float64)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    parts = [torch.sin(xs.reshape(-1, 1) * omega), torch.cos(xs.reshape(-1, 1) * omega)]
    parts += [torch.sin(ys.reshape(-1, 1) * omega), torch.cos(ys.reshape(-1, 1) * omega)]
    return torch.cat(parts, dim=1).float()


class FrameDecoder(nn.Module):
    """MAE-style decoder: from the trunk's [OBS] query outputs, predict every patch of a future frame.

    Mask tokens (one per patch, with fixed 2-D positions) attend jointly with the query tokens
    through a few transformer blocks; each mask token's output becomes that patch's pixels.
    """

    def __init__(self, hidden: int, dim: int, layers: int, heads: int, image_size: int, patch_size: int):
        super().__init__()
        grid = image_size // patch_size
        self.num_patches = grid * grid
        self.embed = nn.Linear(hidden, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos", sincos_2d(grid, dim).unsqueeze(0), persistent=False)  # (1, P, dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, patch_size * patch_size * 3)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        """(N, Q, hidden) query outputs -> (N, P, patch*patch*3) predicted patches."""
        context = self.embed(queries)  # (N, Q, dim)
        masks = self.mask_token.expand(len(queries), self.num_patches, -1) + self.pos  # (N, P, dim)
        x = torch.cat([context, masks], dim=1)  # (N, Q + P, dim)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, context.shape[1] :]))


def to_unit_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (..., 3, h, w) -> float (..., 3, size, size) in [0, 1] (bilinear, antialiased resize)."""
    lead = images.shape[:-3]
    x = images.reshape(-1, *images.shape[-3:]).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.reshape(*lead, 3, size, size)


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, 3, S, S) -> (N, (S/patch)^2, patch*patch*3), patches in raster order."""
    n, c, s, _ = images.shape
    g = s // patch
    x = images.reshape(n, c, g, patch, g, patch)  # (N, C, gy, p, gx, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, g * g, patch * patch * c)


def trunk_mask(history_mask: torch.Tensor, tokens_per_step: int, is_query: torch.Tensor) -> torch.Tensor:
    """The trunk's attention mask, (B, T*S, T*S) bool, True where query i may attend to key j.

    Causal over the flattened sequence (a step sees earlier steps and the tokens before it in its
    own step); no token attends to a query token ([ACT], [OBS]) except that token itself; no token
    attends to a padded step (history_mask False) except itself, so no row is empty.

    Args:
        history_mask: (B, T) bool, True for real steps.
        tokens_per_step: S.
        is_query: (S,) bool, True at the positions of query tokens within a step.
    """
    b, t = history_mask.shape
    length = t * tokens_per_step
    causal = torch.ones(length, length, dtype=torch.bool, device=history_mask.device).tril()  # (L, L)
    key_is_query = is_query.repeat(t)  # (L,)
    key_valid = history_mask.repeat_interleave(tokens_per_step, dim=1)  # (B, L)
    allowed = causal & ~key_is_query.unsqueeze(0)  # (L, L)
    allowed = allowed.unsqueeze(0) & key_valid.unsqueeze(1)  # (B, L, L)
    eye = torch.eye(length, dtype=torch.bool, device=history_mask.device).unsqueeze(0)
    return allowed | eye
