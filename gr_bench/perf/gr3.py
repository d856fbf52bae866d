"""GR-3's perf workloads on its ``tiny`` preset with random weights: the agent behind a checkpoint
(for ``act()`` latency), one training step on a batch of synthetic windows, and the inference
latency of one action chunk under the design choices GR-3 makes.

``python -m gr_bench.perf.gr3`` measures one chunk's latency (backbone forward plus Euler steps of
the action transformer) with 5 and 10 flow steps, and with the backbone's KV cache reused by every
step against the backbone recomputed at every step, and prints the ratios (CPU time, medians of
interleaved samples, one run).

Everything runs on one torch thread, as the evaluator's workers do on a small machine.
"""

from __future__ import annotations

from pathlib import Path

BATCH_SIZE = 8  # windows per step, as `gr-bench train` by default
PRESET = "tiny"
CHUNK_VARIANTS = {  # name -> (flow steps, recompute the backbone at every step)
    "5 steps, cache reused": (5, False),
    "10 steps, cache reused": (10, False),
    "5 steps, VLM every step": (5, True),
}


def _tiny_model():
    import torch

    from agents.gr3.config import PRESETS
    from agents.gr3.model import GR3
    from gr_bench.train import invalid_requests

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = PRESETS[PRESET]
    return GR3(config, invalid_pool=invalid_requests(config.robots[0]))


def tiny_agent(folder: str | Path):
    """A ``GR3Agent`` loaded from a checkpoint of the tiny preset written into ``folder``.

    Its status head is set to say ``ongoing``, so that ``act()`` runs its chunk queue as it does
    during an episode (random weights could predict ``invalid``, which plans at every call)."""
    import torch

    from agents.gr3.agent import GR3Agent
    from agents.train.checkpoint import save_checkpoint

    model = _tiny_model()
    with torch.no_grad():
        model.status_head.weight.zero_()
        model.status_head.bias.copy_(torch.tensor([1.0, 0.0, 0.0]))  # TASK_STATUSES: ongoing first
    normalizer = _identity_normalizer(model).to_dict()
    checkpoint = {"agent": "gr3", "stage": "finetune", "model": model.config.to_dict(), "normalizer": normalizer}
    folder = save_checkpoint(Path(folder) / "gr3-tiny", checkpoint, model)
    return GR3Agent(str(folder), threads=1)


def tiny_train_step(folder: str | Path):
    """``step()``: one AdamW step of the tiny preset on a fixed batch shaped as training windows."""
    import torch

    from agents.gr3.adapters import ADAPTERS

    model = _tiny_model().train()
    config = model.config
    adapter = ADAPTERS[config.robots[0]]
    b, s, k = BATCH_SIZE, config.image_size, config.chunk
    g = torch.Generator().manual_seed(0)
    actions = torch.randn(b, 1, k, adapter.action_dim, generator=g)
    actions[..., list(adapter.gripper_dims)] = (
        torch.randint(0, 2, (b, 1, k, len(adapter.gripper_dims)), generator=g) * 2.0 - 1
    )
    batch = {
        **{cam: torch.randint(0, 256, (b, 1, 3, s, s), generator=g, dtype=torch.uint8) for cam in adapter.cameras},
        "state": torch.randn(b, 1, adapter.state_dim, generator=g),
        "actions": actions,
        "action_mask": torch.ones(b, 1, k, dtype=torch.bool),
        "instruction": ["open the drawer", "push the red block to the left"] * (b // 2),
    }
    from gr_bench.perf.workloads import adamw_step

    return adamw_step(model, batch)


def chunk_latency(repetitions: int = 7, chunks: int = 5) -> dict[str, dict[str, float]]:
    """CPU milliseconds per action chunk of each variant (median over interleaved samples of
    ``chunks`` chunks each), and each variant's cost relative to the first."""
    import statistics
    import time

    import torch

    from agents.gr3.adapters import ADAPTERS
    from gr_bench.perf.workloads import camera_observation

    model = _tiny_model().eval()
    to_inputs = ADAPTERS[model.config.robots[0]].observation_inputs(model.config.state_dim, _identity_normalizer(model))
    inputs = to_inputs(camera_observation())
    samples: dict[str, list[float]] = {name: [] for name in CHUNK_VARIANTS}
    with torch.inference_mode():
        for repetition in range(repetitions + 1):  # the first round warms up and is dropped
            for name, (steps, recompute) in CHUNK_VARIANTS.items():
                generator = torch.Generator().manual_seed(0)
                start = time.process_time()
                for _ in range(chunks):
                    model.sample(
                        inputs["images"],
                        inputs["state"],
                        ["open the drawer"],
                        steps=steps,
                        generator=generator,
                        recompute_prefix=recompute,
                    )
                if repetition:
                    samples[name].append(1000 * (time.process_time() - start) / chunks)
    first = statistics.median(samples[next(iter(CHUNK_VARIANTS))])
    return {
        name: {"cpu_ms": statistics.median(values), "ratio": statistics.median(values) / first}
        for name, values in samples.items()
    }


def _identity_normalizer(model):
    """Statistics that leave states and actions as they are."""
    from agents.data.normalize import Normalizer
    from agents.gr3.adapters import ADAPTERS

    adapter = ADAPTERS[model.config.robots[0]]
    return Normalizer(
        {"observation.state": [0.0] * adapter.state_dim, "action": [0.0] * adapter.action_dim},
        {"observation.state": [1.0] * adapter.state_dim, "action": [1.0] * adapter.action_dim},
    )


def main() -> None:
    results = chunk_latency()
    print(f"GR-3 tiny, one action chunk ({PRESET} preset, random weights, 1 thread, CPU time, medians):")
    for name, row in results.items():
        print(f"  {name:26s} {row['cpu_ms']:8.2f} ms   x{row['ratio']:.2f}")


if __name__ == "__main__":
    main()
