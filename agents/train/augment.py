"""Image augmentation for training visuomotor policies.

``random_shift`` is DrQ's random shift (Kostrikov et al., 2020; Yarats et al., 2021): pad a frame
by its edge pixels and crop it back at a random offset, so a policy cannot key its actions to
exact pixel positions. Each training window is shifted by one offset, the same for all its time
steps and for the future frames it predicts, so motion between frames is kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(frames: list[torch.Tensor], pad: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Shift every tensor in ``frames`` (each (B, T, C, H, W), the same B, H and W) by up to
    ``pad`` pixels each way, one random offset per window b shared by all of them and all T."""
    if pad < 0:
        raise ValueError(f"random_shift's pad must be >= 0, got {pad}")
    if pad == 0 or not frames:
        return list(frames)
    b, _, _, h, w = frames[0].shape
    for f in frames:
        if f.dim() != 5 or f.shape[0] != b or f.shape[-2:] != (h, w):
            raise ValueError(f"random_shift needs (B, T, C, H, W) frames of one size; got {tuple(f.shape)}")
    device = frames[0].device
    dy, dx = torch.randint(0, 2 * pad + 1, (2, b), generator=generator, device="cpu").to(device)
    rows = (torch.arange(h, device=device)[None] + dy[:, None]).clamp(0, h + 2 * pad - 1)  # (B, H)
    cols = (torch.arange(w, device=device)[None] + dx[:, None]).clamp(0, w + 2 * pad - 1)  # (B, W)
    out = []
    for f in frames:
        t, c = f.shape[1], f.shape[2]
        flat = f.reshape(b, t * c, h, w)
        padded = F.pad(flat.float(), (pad, pad, pad, pad), mode="replicate")
        idx_r = rows[:, None, :, None].expand(b, t * c, h, w + 2 * pad)
        picked = padded.gather(2, idx_r)
        idx_c = cols[:, None, None, :].expand(b, t * c, h, w)
        shifted = picked.gather(3, idx_c).to(f.dtype).reshape(f.shape)
        out.append(shifted)
    return out
