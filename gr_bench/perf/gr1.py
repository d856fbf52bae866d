"""GR-1's perf workloads on its ``tiny`` preset with random weights: the agent behind a checkpoint
(for ``act()`` latency) and one training step on a batch of synthetic windows.

Both run on one torch thread, as the evaluator's workers do on a small machine, so the figures
are steady on a shared 2-core machine.
"""

from __future__ import annotations

from pathlib import Path

BATCH_SIZE = 8  # windows per step, as `gr-bench train` by default
PRESET = "tiny"


def tiny_agent(folder: str | Path):
    """A ``GR1Agent`` loaded from a checkpoint of the tiny preset written into ``folder``."""
    import torch

    from agents.gr1.agent import GR1Agent
    from agents.gr1.config import PRESETS
    from agents.gr1.model import GR1
    from agents.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    config = PRESETS[PRESET]
    normalizer = {  # identity statistics, as Normalizer.to_dict writes them
        "mean": {"observation.state": [0.0] * config.state_dim, "action": [0.0] * (config.arm_dim + 1)},
        "std": {"observation.state": [1.0] * config.state_dim, "action": [1.0] * (config.arm_dim + 1)},
    }
    checkpoint = {"agent": "gr1", "stage": "finetune", "model": config.to_dict(), "normalizer": normalizer}
    folder = save_checkpoint(Path(folder) / "gr1-tiny", checkpoint, GR1(config))
    return GR1Agent(str(folder), threads=1)


def tiny_train_step(folder: str | Path):
    """``step()``: one AdamW step of the tiny preset on a fixed batch shaped as training windows."""
    import torch

    from agents.gr1.config import CAMERAS, PRESETS
    from agents.gr1.model import GR1

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = PRESETS[PRESET]
    model = GR1(config).train()
    b, t, s = BATCH_SIZE, config.history, config.image_size
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(b, t, dtype=torch.bool)
    batch = {
        **{cam: torch.randint(0, 256, (b, t, 3, s, s), generator=g, dtype=torch.uint8) for cam in CAMERAS},
        **{f"future_{cam}": torch.randint(0, 256, (b, t, 3, s, s), generator=g, dtype=torch.uint8) for cam in CAMERAS},
        "state": torch.randn(b, t, config.state_dim, generator=g),
        "actions": torch.cat(  # (B, T, chunk, 7): arm, then the gripper as -1 or +1
            [
                torch.randn(b, t, config.chunk, config.arm_dim, generator=g),
                torch.randint(0, 2, (b, t, config.chunk, 1), generator=g) * 2.0 - 1,
            ],
            dim=-1,
        ),
        "history_mask": mask,
        "future_mask": mask.clone(),
        "action_mask": torch.ones(b, t, config.chunk, dtype=torch.bool),
        "instruction": ["open the drawer"] * b,
    }
    from gr_bench.perf.workloads import adamw_step

    return adamw_step(model, batch)
