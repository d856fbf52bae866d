"""GR-2's perf workloads on its ``tiny`` preset with random weights: the agent behind a checkpoint
(for ``act()`` latency: a VQGAN tokenization of both cameras every call, the trunk and the cVAE prior
once per chunk) and one training step of fine-tuning (both losses) on a batch of synthetic windows whose
frames come as code ids, as fine-tuning reads them (``agents.gr2.training.CodedWindows``).

Both run on one torch thread, as the evaluator's workers do on a small machine.
"""

from __future__ import annotations

from pathlib import Path

BATCH_SIZE = 8  # windows per step, as `gr-bench train` by default
PRESET = "tiny"


def _tiny_model():
    import torch

    from agents.gr2.config import PRESETS
    from agents.gr2.model import GR2

    torch.set_num_threads(1)
    torch.manual_seed(0)
    return GR2(PRESETS[PRESET])


def tiny_agent(folder: str | Path):
    """A ``GR2Agent`` loaded from a checkpoint of the tiny preset (its random tokenizer inside) written
    into ``folder``."""
    from agents.gr2.agent import GR2Agent
    from agents.train.checkpoint import save_checkpoint

    model = _tiny_model()
    config = model.config
    normalizer = {  # identity statistics, as Normalizer.to_dict writes them
        "mean": {"observation.state": [0.0] * config.state_dim, "action": [0.0] * (config.arm_dim + 1)},
        "std": {"observation.state": [1.0] * config.state_dim, "action": [1.0] * (config.arm_dim + 1)},
    }
    checkpoint = {"agent": "gr2", "stage": "finetune", "model": config.to_dict(), "normalizer": normalizer}
    folder = save_checkpoint(Path(folder) / "gr2-tiny", checkpoint, model)
    return GR2Agent(str(folder), threads=1)


def tiny_train_step(folder: str | Path):
    """``step()``: one AdamW step of the tiny preset (fine-tuning: next-frame tokens and the cVAE) on a
    fixed batch shaped as training windows."""
    import torch

    from gr_bench.perf.workloads import adamw_step

    model = _tiny_model().train()
    config = model.config
    b, t = BATCH_SIZE, config.history
    g = torch.Generator().manual_seed(0)
    batch = {
        # the frames as their codes: fine-tuning reads them from CodedWindows' cache, the tokenizer having
        # encoded each frame once (that one-off cost is not in a step)
        "codes": torch.randint(0, config.codebook_size, (b, t, model.frame_tokens), generator=g),
        "state": torch.randn(b, t, config.state_dim, generator=g),
        "actions": torch.cat(  # (B, T, chunk, 7): arm, then the gripper as -1 or +1
            [
                torch.randn(b, t, config.chunk, config.arm_dim, generator=g),
                torch.randint(0, 2, (b, t, config.chunk, 1), generator=g) * 2.0 - 1,
            ],
            dim=-1,
        ),
        "history_mask": torch.ones(b, t, dtype=torch.bool),
        "action_mask": torch.ones(b, t, config.chunk, dtype=torch.bool),
        "instruction": ["open the drawer"] * b,
    }
    return adamw_step(model, batch)
