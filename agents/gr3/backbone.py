"""GR-3's vision-language backbone: a Qwen2.5-VL from ``transformers``, given every camera view and the
instruction as one multimodal prompt, run once per observation for its KV cache.

Prompt (right-padded), each view laid out as the Qwen2.5-VL processor lays out an image:

    <|vision_start|> <|image_pad|> x tokens_per_view <|vision_end|>   (once per view)   instruction

Views are patchified as ``Qwen2VLImageProcessor`` does (CLIP normalisation; patches grouped by the
2x2 windows the vision tower merges; a still image repeated over the temporal patch), in torch on
the model's device; a test checks the layout against the real image processor.

Positions are Qwen2.5-VL's 3-D rotary ones (M-RoPE: temporal, height, width for image tokens, all
three equal for text), computed by the model's own ``get_rope_index`` from the image grids and token
types and passed as ``position_ids``: given neither, the model silently falls back to 1-D positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.gr3.config import GR3Config
from agents.pretrained import resolve_model_path

MAX_ANSWER_TOKENS = 64  # longer co-training answers are cut (before the end token)
VISION_START, IMAGE_PAD, VISION_END, VIDEO_PAD = "<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>"
VISION_TOKENS = (VISION_START, IMAGE_PAD, VISION_END, VIDEO_PAD)


def load_tokenizer(name: str):
    """A tokenizer by path, hub name or MINILM, with Qwen's vision marker tokens (added if it lacks them)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name))
    missing = [t for t in VISION_TOKENS if t not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    return tokenizer


def random_backbone_config(fields: dict[str, Any], tokenizer):
    """A ``Qwen2_5_VLConfig`` from ``fields``, its vocabulary and marker-token ids taken from ``tokenizer``."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in VISION_TOKENS}
    text = {
        **fields.get("text_config", {}),
        "vocab_size": len(tokenizer),
        "bos_token_id": None,
        "eos_token_id": None,
        "pad_token_id": tokenizer.pad_token_id,
    }
    return Qwen2_5_VLConfig(
        **{
            **fields,
            "text_config": text,
            "vision_start_token_id": ids[VISION_START],
            "image_token_id": ids[IMAGE_PAD],
            "vision_end_token_id": ids[VISION_END],
            "video_token_id": ids[VIDEO_PAD],
        }
    )


def patchify(images: torch.Tensor, patch: int, merge: int, temporal: int) -> torch.Tensor:
    """Normalised images -> Qwen2.5-VL's ``pixel_values`` rows.

    Args:
        images: (N, C, H, W) floats; H and W multiples of patch * merge.
    Returns:
        (N, gh * gw, C * temporal * patch * patch), gh = H / patch, gw = W / patch; patches ordered by
        merge window (row-major), then within the window, as the vision tower's merger expects.
    """
    n, c, h, w = images.shape
    gh, gw = h // patch, w // patch
    x = images.reshape(n, c, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.permute(0, 2, 5, 3, 6, 1, 4, 7)  # (N, gh/m, gw/m, m, m, C, p, p)
    x = x.unsqueeze(6).expand(-1, -1, -1, -1, -1, -1, temporal, -1, -1)  # (N, gh/m, gw/m, m, m, C, T, p, p)
    return x.reshape(n, gh * gw, c * temporal * patch * patch)


def _store_tied_head_once(module, state_dict, prefix, local_metadata) -> None:
    """A tied output head is the input embedding's tensor: keep it once in state dicts (and so in
    checkpoints, which safetensors refuses to write with a tensor twice); loading the embedding
    restores both."""
    del state_dict[prefix + "vlm.lm_head.weight"]


@dataclass
class Prefix:
    """What the DiT and the status head read from one backbone forward."""

    keys: list[torch.Tensor]  # per DiT block i: VLM layer L/2 + i's cached keys, (B, kv_heads, Lp, head_dim)
    values: list[torch.Tensor]  # the same layers' cached values
    layers: tuple[int, ...]  # the VLM layers those are, L/2 .. L-1
    mask: torch.Tensor  # (B, Lp) bool, True on real (not padding) prompt tokens
    next_position: torch.Tensor  # (B,) long: the position a text token after the prompt would get
    features: torch.Tensor  # (B, hidden): the last prompt token's final hidden state
    position_ids: torch.Tensor  # (3, B, Lp): the M-RoPE positions the prompt was run with

    def rows(self, n: int) -> Prefix:
        """The first ``n`` samples' prefix."""
        return Prefix(
            keys=[k[:n] for k in self.keys],
            values=[v[:n] for v in self.values],
            layers=self.layers,
            mask=self.mask[:n],
            next_position=self.next_position[:n],
            features=self.features[:n],
            position_ids=self.position_ids[:, :n],
        )


class Backbone(nn.Module):
    def __init__(self, config: GR3Config):
        super().__init__()
        from transformers import Qwen2_5_VLForConditionalGeneration
        from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

        if config.backbone is not None:
            path = resolve_model_path(config.backbone)
            self.vlm = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=torch.float32)
            self.tokenizer = load_tokenizer(config.tokenizer or path)
        else:
            self.tokenizer = load_tokenizer(config.tokenizer)
            self.vlm = Qwen2_5_VLForConditionalGeneration(
                random_backbone_config(config.backbone_config, self.tokenizer)
            )
        if self.vlm.lm_head.weight is self.vlm.get_input_embeddings().weight:
            self.register_state_dict_post_hook(_store_tied_head_once)
        vlm_config = self.vlm.config
        for token, expected in (
            (IMAGE_PAD, vlm_config.image_token_id),
            (VISION_START, vlm_config.vision_start_token_id),
        ):
            if self.tokenizer.convert_tokens_to_ids(token) != expected:
                raise ValueError(
                    f"the tokenizer's {token} is not the backbone's token {expected}: use the backbone's tokenizer"
                )
        vision, text = vlm_config.vision_config, vlm_config.text_config
        self.patch, self.merge, self.temporal = vision.patch_size, vision.spatial_merge_size, vision.temporal_patch_size
        factor = self.patch * self.merge
        if config.image_size % factor:
            raise ValueError(
                f"GR3Config.image_size ({config.image_size}) must be a multiple of patch * merge ({factor})"
            )
        self.image_size = config.image_size
        self.tokens_per_view = (config.image_size // factor) ** 2
        self.max_instruction_tokens = config.max_instruction_tokens
        self.depth = text.num_hidden_layers
        if self.depth % 2:
            raise ValueError(f"the backbone has {self.depth} layers; GR-3's DiT takes half of an even depth")
        self.read_layers = tuple(range(self.depth // 2, self.depth))
        self.hidden = text.hidden_size
        self.heads, self.kv_heads = text.num_attention_heads, text.num_key_value_heads
        self.head_dim = text.hidden_size // text.num_attention_heads  # as Qwen2.5-VL's attention computes it
        self.register_buffer("mean", torch.tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(OPENAI_CLIP_STD).view(1, 3, 1, 1), persistent=False)

    # --- inputs ----------------------------------------------------------------------------
    def prompt(self, instructions: list[str], views: int, answers: list[str] | None = None) -> dict[str, torch.Tensor]:
        """Token ids of the prompts, right-padded: input_ids, attention_mask and mm_token_type_ids (B, L).

        With ``answers`` (co-training), each prompt is followed by its answer and an end token, and
        ``labels`` (B, L) holds those tokens' ids where they are predicted, -100 elsewhere; a row whose
        answer is None has none (a robot sample sharing the forward)."""
        config = self.vlm.config
        block = [config.vision_start_token_id] + [config.image_token_id] * self.tokens_per_view
        block.append(config.vision_end_token_id)
        texts = self.tokenizer(
            list(instructions), add_special_tokens=False, truncation=True, max_length=self.max_instruction_tokens
        )["input_ids"]
        rows = [block * views + list(text) for text in texts]
        targets = [[] for _ in rows]
        if answers is not None:
            end = (
                self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else self.tokenizer.sep_token_id
            )
            if end is None:
                raise ValueError("the tokenizer has neither an end-of-sequence nor a separator token to end answers")
            given = [a for a in answers if a is not None]
            said = iter(
                self.tokenizer(given, add_special_tokens=False, truncation=True, max_length=MAX_ANSWER_TOKENS)[
                    "input_ids"
                ]
                if given
                else []
            )
            targets = [[] if a is None else list(next(said)) + [end] for a in answers]
        length = max(len(r) + len(t) for r, t in zip(rows, targets, strict=True))
        pad = self.tokenizer.pad_token_id or 0
        device = self.mean.device
        full = [r + t + [pad] * (length - len(r) - len(t)) for r, t in zip(rows, targets, strict=True)]
        input_ids = torch.tensor(full, device=device)
        attention_mask = torch.tensor(
            [[1] * (len(r) + len(t)) + [0] * (length - len(r) - len(t)) for r, t in zip(rows, targets, strict=True)],
            device=device,
        )
        mm_token_type_ids = (input_ids == config.image_token_id).int()  # 1 on image tokens, 0 on text
        out = {"input_ids": input_ids, "attention_mask": attention_mask, "mm_token_type_ids": mm_token_type_ids}
        if answers is not None:
            labels = [
                [-100] * len(r) + t + [-100] * (length - len(r) - len(t)) for r, t in zip(rows, targets, strict=True)
            ]
            out["labels"] = torch.tensor(labels, device=device)
        return out

    def pixel_values(self, images: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """V views of (B, 3, h, w) uint8 -> pixel_values (B*V*P, 3*T*p*p) and image_grid_thw (B*V, 3),
        ordered sample by sample, view by view, as the prompt's image placeholders are."""
        size = self.image_size
        views = []
        for view in images:
            x = view.float() / 255.0
            if x.shape[-2:] != (size, size):
                x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            views.append((x - self.mean) / self.std)
        x = torch.stack(views, dim=1).flatten(0, 1)  # (B*V, 3, S, S)
        patches = patchify(x, self.patch, self.merge, self.temporal)  # (B*V, P, 3*T*p*p)
        grid = torch.tensor([1, size // self.patch, size // self.patch], device=x.device).expand(len(x), 3)
        return patches.flatten(0, 1), grid

    # --- forward ---------------------------------------------------------------------------
    def _run(self, prompt: dict[str, torch.Tensor], images: list[torch.Tensor], use_cache: bool):
        pixel_values, grid = self.pixel_values(images)
        positions, _ = self.vlm.model.get_rope_index(
            prompt["input_ids"],
            prompt["mm_token_type_ids"],
            image_grid_thw=grid,
            attention_mask=prompt["attention_mask"],
        )  # (3, B, L)
        out = self.vlm.model(
            input_ids=prompt["input_ids"],
            attention_mask=prompt["attention_mask"],
            position_ids=positions,
            pixel_values=pixel_values,
            image_grid_thw=grid,
            use_cache=use_cache,
        )
        return out, positions

    def forward(self, images: list[torch.Tensor], instructions: list[str]) -> Prefix:
        """One VLM forward over the prompt; its latter half's KV cache and the last token's state."""
        prompt = self.prompt(instructions, len(images))
        out, positions = self._run(prompt, images, use_cache=True)
        return self._prefix(prompt, out, positions)

    def forward_with_answers(
        self, images: list[torch.Tensor], instructions: list[str], answers: list[str | None]
    ) -> tuple[Prefix, torch.Tensor, torch.Tensor]:
        """Robot samples (answer None) and question-answer samples in ONE forward (co-training without a
        second pass over the backbone): the prefix of every row (meaningful for the rows without an
        answer, whose prompts end where the robot's do), and the answers' next-token loss and accuracy.
        Rows are right-padded and masked, so each row's result is what it would be alone."""
        prompt = self.prompt(instructions, len(images), answers)
        out, positions = self._run(prompt, images, use_cache=True)
        loss, accuracy = self._answer_loss(out.last_hidden_state, prompt["labels"])
        return self._prefix(prompt, out, positions), loss, accuracy

    def answer_loss(
        self, images: list[torch.Tensor], questions: list[str], answers: list[str]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-token cross-entropy of the answers given the views and questions (co-training), and
        the fraction of answer tokens the argmax gets right."""
        prompt = self.prompt(questions, len(images), answers)
        out, _ = self._run(prompt, images, use_cache=False)
        return self._answer_loss(out.last_hidden_state, prompt["labels"])

    @torch.no_grad()
    def answer(
        self, images: list[torch.Tensor], questions: list[str], max_tokens: int = MAX_ANSWER_TOKENS
    ) -> list[str]:
        """Greedy answers to questions about the views (to measure what co-training taught the VLM).

        Each new token reruns the prompt (no cache): simple, and cheap for the short answers here."""
        end = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else self.tokenizer.sep_token_id
        said: list[list[int]] = [[] for _ in questions]
        done = [False] * len(questions)
        prompt = self.prompt(questions, len(images))
        asked = [
            ids[: int(m.sum())].tolist() for ids, m in zip(prompt["input_ids"], prompt["attention_mask"], strict=True)
        ]
        pad = self.tokenizer.pad_token_id or 0
        device = self.mean.device
        for _ in range(max_tokens):
            rows = [q + s for q, s in zip(asked, said, strict=True)]  # the prompt, then the answer so far
            length = max(len(r) for r in rows)
            grown = {
                "input_ids": torch.tensor([r + [pad] * (length - len(r)) for r in rows], device=device),
                "attention_mask": torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows], device=device),
            }
            grown["mm_token_type_ids"] = (grown["input_ids"] == self.vlm.config.image_token_id).int()
            out, _ = self._run(grown, images, use_cache=False)
            last = grown["attention_mask"].sum(dim=1) - 1
            hidden = out.last_hidden_state[torch.arange(len(rows), device=device), last]
            tokens = self.vlm.lm_head(hidden).argmax(-1).tolist()
            for i, token in enumerate(tokens):
                if done[i]:
                    continue
                if token == end:
                    done[i] = True
                else:
                    said[i].append(token)
            if all(done):
                break
        return [self.tokenizer.decode(s, skip_special_tokens=True).strip() for s in said]

    def _answer_loss(self, hidden: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits only where an answer token is predicted (the vocabulary is large; the prompt's
        positions need none)."""
        labels = labels[:, 1:]  # the hidden state at position i predicts token i + 1
        where = labels != -100
        logits = self.vlm.lm_head(hidden[:, :-1][where])  # (N, vocab)
        targets = labels[where]
        loss = F.cross_entropy(logits.float(), targets)
        accuracy = (logits.argmax(-1) == targets).float().mean()
        return loss, accuracy

    def _prefix(self, prompt: dict[str, torch.Tensor], out, positions: torch.Tensor) -> Prefix:
        mask = prompt["attention_mask"].bool()
        last = mask.sum(dim=1) - 1  # right padding: the last real token
        batch = torch.arange(len(mask), device=mask.device)
        return Prefix(
            keys=[out.cache.layers[j].keys for j in self.read_layers],
            values=[out.cache.layers[j].values for j in self.read_layers],
            layers=self.read_layers,
            mask=mask,
            next_position=positions.masked_fill(~mask[None], -1).amax(dim=(0, 2)) + 1,
            features=out.last_hidden_state[batch, last],
            position_ids=positions,
        )

    def rope(self, positions: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin (B, N, head_dim) of text-like positions (B, N): the three M-RoPE axes all equal."""
        return self.vlm.model.language_model.rotary_emb(like, positions[None].expand(3, -1, -1))
