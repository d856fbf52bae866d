"""Tiny random ``transformers`` models and tokenizers built offline, saved as real model folders, so
tests exercise the same loading code as real weights (which cannot be downloaded here)."""

from __future__ import annotations

from pathlib import Path

# the word-level vocabulary of the test tokenizer; anything else maps to [UNK]
VOCABULARY = """open close the drawer slider move left right push pull turn on off light led button switch block
red blue pink lift place stack pick up grasp door cabinet a to in into"""


def _word_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[BOS]", "[EOS]", *VOCABULARY.split()])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", vocab["[BOS]"]), ("[EOS]", vocab["[EOS]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]"
    )
    return tokenizer, len(vocab), vocab["[EOS]"]


def make_clip_text(folder: Path, hidden: int = 32, layers: int = 1, projection_dim: int = 32) -> Path:
    """A random CLIP text model (with projection) and a word-level tokenizer, saved in ``folder``."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    tokenizer, vocab_size, eos = _word_tokenizer()
    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 32),
        max_position_embeddings=77,
        projection_dim=projection_dim,
        eos_token_id=eos,
        pad_token_id=0,
        bos_token_id=2,
    )
    CLIPTextModelWithProjection(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def make_vit_mae(folder: Path, image_size: int = 32, patch_size: int = 8, hidden: int = 32, layers: int = 1) -> Path:
    """A random ViT-MAE image encoder saved in ``folder``."""
    from transformers import ViTMAEConfig, ViTMAEModel

    config = ViTMAEConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 32),
        intermediate_size=2 * hidden,
    )
    ViTMAEModel(config).save_pretrained(folder)
    return Path(folder)


# --- GR-3: a Qwen2.5-VL-style tokenizer and a tiny random Qwen2.5-VL ------------------------------
QWEN_VISION_TOKENS = ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>")


def make_qwen_tokenizer(folder: Path) -> Path:
    """The word-level test tokenizer with Qwen2.5-VL's vision marker tokens, saved in ``folder``."""
    tokenizer, _, _ = _word_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_VISION_TOKENS)})
    tokenizer.save_pretrained(folder)
    return Path(folder)


def tiny_qwen25_vl_fields(layers: int = 4, hidden: int = 32, vision_hidden: int = 32, patch: int = 8) -> dict:
    """``Qwen2_5_VLConfig`` fields of a tiny backbone (2 heads of 16, 1 key-value head), vision tower included."""
    return {
        "text_config": {
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": hidden // 16,
            "num_key_value_heads": 1,
            "max_position_embeddings": 512,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        },
        "vision_config": {
            "depth": 2,
            "hidden_size": vision_hidden,
            "intermediate_size": 2 * vision_hidden,
            "num_heads": 2,
            "out_hidden_size": hidden,
            "patch_size": patch,
            "temporal_patch_size": 2,
            "spatial_merge_size": 2,
            "window_size": 4 * patch,
            "fullatt_block_indexes": [1],
        },
        "tie_word_embeddings": True,
    }


def make_qwen25_vl(folder: Path, tokenizer_folder: Path, **fields) -> Path:
    """A tiny random Qwen2.5-VL and its tokenizer saved in ``folder``, loadable as real weights are."""
    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    from agents.gr3.backbone import random_backbone_config

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    config = random_backbone_config(tiny_qwen25_vl_fields(**fields), tokenizer)
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)
