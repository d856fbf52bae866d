"""GR-2's VQGAN-style image tokenizer: a conv encoder, a vector-quantised codebook, a conv decoder.

Shapes follow taming-transformers' VQGAN (stages of residual blocks, stride-2 downsampling, nearest
upsampling), without its attention blocks. The codebook learns by EMA updates of code sums and counts
(VQ-VAE-2), or, with ``ema_codebook=False``, by the codebook loss; either way the encoder gets the
commitment loss and gradients pass the quantiser straight through. No perceptual or adversarial loss:
the issue asks for them only if they are measured to help, and that has not been measured yet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from agents.gr2.config import GR2Config


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, channels // 4) or 1, channels)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            _norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1), _norm(cout), nn.SiLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
        )  # fmt: skip
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class Encoder(nn.Module):
    def __init__(self, config: GR2Config):
        super().__init__()
        widths = [config.tok_channels * m for m in config.tok_channel_mult]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1)]
        cin = widths[0]
        for i, width in enumerate(widths):
            for _ in range(config.tok_res_blocks):
                layers.append(ResBlock(cin, width))
                cin = width
            if i < len(widths) - 1:
                layers.append(nn.Conv2d(cin, cin, 3, stride=2, padding=1))
        layers += [_norm(cin), nn.SiLU(), nn.Conv2d(cin, config.codebook_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, config: GR2Config):
        super().__init__()
        widths = [config.tok_channels * m for m in config.tok_channel_mult][::-1]
        layers: list[nn.Module] = [nn.Conv2d(config.codebook_dim, widths[0], 3, padding=1)]
        cin = widths[0]
        for i, width in enumerate(widths):
            for _ in range(config.tok_res_blocks):
                layers.append(ResBlock(cin, width))
                cin = width
            if i < len(widths) - 1:
                layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cin, 3, padding=1)]
        layers += [_norm(cin), nn.SiLU(), nn.Conv2d(cin, 3, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Codebook(nn.Module):
    """Nearest-code quantiser with a commitment loss and EMA or gradient (codebook-loss) updates."""

    def __init__(self, size: int, dim: int, commitment: float, ema: bool, decay: float):
        super().__init__()
        self.size, self.dim, self.commitment, self.ema, self.decay = size, dim, commitment, ema, decay
        embed = torch.randn(size, dim) / dim**0.5
        if ema:  # updated by running averages, not by the optimiser
            self.register_buffer("embed", embed)
            self.register_buffer("cluster_size", torch.ones(size))
            self.register_buffer("embed_sum", embed.clone())
        else:
            self.embed = nn.Parameter(embed)

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) vectors -> (N,) nearest code ids."""
        distances = z.pow(2).sum(1, keepdim=True) - 2 * z @ self.embed.t() + self.embed.pow(2).sum(1)[None]
        return distances.argmin(1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, D) -> quantised (N, D) with straight-through gradients, ids (N,), VQ loss ()."""
        ids = self.indices(z.detach())
        quantised = F.embedding(ids, self.embed)
        commit = F.mse_loss(z, quantised.detach())
        if self.ema:
            loss = self.commitment * commit
            if self.training and torch.is_grad_enabled():
                self._ema_update(z.detach(), ids)
        else:
            loss = self.commitment * commit + F.mse_loss(quantised, z.detach())
        return z + (quantised - z).detach(), ids, loss

    @torch.no_grad()
    def _ema_update(self, z: torch.Tensor, ids: torch.Tensor) -> None:
        onehot = F.one_hot(ids, self.size).to(z.dtype)  # (N, K)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.t() @ z, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + 1e-5) / (n + self.size * 1e-5) * n  # Laplace smoothing
        self.embed.copy_(self.embed_sum / size[:, None])


class VQGAN(nn.Module):
    """Images in [0, 1] <-> a (grid x grid) map of code ids."""

    def __init__(self, config: GR2Config):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.codebook = Codebook(
            config.codebook_size, config.codebook_dim, config.commitment, config.ema_codebook, config.ema_decay
        )

    def _quantise(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.encoder(images * 2 - 1)  # (N, D, g, g)
        n, d, g, _ = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        quantised, ids, vq_loss = self.codebook(flat)
        quantised = quantised.view(n, g, g, d).permute(0, 3, 1, 2)
        return quantised, ids.view(n, g, g), vq_loss

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1] -> (N, g, g) code ids, in float32 even under autocast (bf16 training on
        CUDA), so that training and inference see the same codes of the same frame."""
        with torch.autocast(images.device.type, enabled=False):
            return self._quantise(images.float())[1]

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, g, g) code ids -> (N, 3, S, S) images in [0, 1]."""
        z = F.embedding(ids, self.codebook.embed).permute(0, 3, 1, 2)
        return ((self.decoder(z) + 1) / 2).clamp(0, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, 3, S, S) in [0, 1] -> reconstruction in [-1, 1] scale, ids, VQ loss."""
        quantised, ids, vq_loss = self._quantise(images)
        return self.decoder(quantised), ids, vq_loss

    def loss(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """L1 reconstruction plus the VQ loss, on images in [0, 1]."""
        recon, ids, vq_loss = self(images)
        rec = F.l1_loss(recon, images * 2 - 1)
        total = rec + vq_loss
        with torch.no_grad():
            mse = F.mse_loss(((recon + 1) / 2).clamp(0, 1), images)
            psnr = -10 * torch.log10(mse.clamp(min=1e-10))
            usage = ids.unique().numel() / self.codebook.size
        return total, {"loss": total.item(), "recon_l1": rec.item(), "vq_loss": vq_loss.item(),
                       "psnr": psnr.item(), "code_usage": usage}  # fmt: skip
