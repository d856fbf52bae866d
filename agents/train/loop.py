"""The training loop shared by every trainable agent.

AdamW, linear warmup then cosine decay, gradient clipping, a progress bar, metrics to a CSV file
and to TensorBoard, checkpoints every N steps, exact resume, CPU or CUDA (bf16 autocast), and
data-parallel training under ``torchrun`` (DDP; gloo on CPU, NCCL on GPUs).

The batches of step s are a pure function of (seed, s), so a resumed run sees exactly the batches
the uninterrupted run would have seen.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.atomic import atomic_path
from agents.configs import from_known_fields
from agents.train.checkpoint import TRAINING_STATE, last_checkpoint, load_weights, mark_last, save_checkpoint


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # optimizer steps
    batch_size: int = 8  # windows per step per process
    lr: float = 3e-4  # peak learning rate
    weight_decay: float = 0.01
    warmup_steps: int = 100  # linear warmup from 0 to lr
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0  # max global gradient norm
    log_every: int = 10  # steps between metric rows
    checkpoint_every: int = 500  # steps between checkpoints (and one at the end)
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    num_workers: int = 0  # DataLoader workers (data lives in memory; 0 is fastest on a small machine)

    def __post_init__(self):
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"TrainConfig.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        for name in ("warmup_steps", "weight_decay", "num_workers"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.grad_clip > 0:
            raise ValueError(f"TrainConfig.grad_clip (the largest gradient norm) must be > 0, got {self.grad_clip}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return from_known_fields(cls, data)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Multiplier of the peak learning rate at ``step``: linear warmup, then cosine to min_lr_ratio."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine


class StepBatches(torch.utils.data.Sampler):
    """Index batches for steps start..steps-1 of one process: epoch permutations drawn from the
    seed, the global batch split across processes, the tail of each epoch dropped.

    With ``groups`` (a dataset's ``batch_groups``: index ranges with shares, e.g. one per robot),
    each step's batch comes from one group, picked by a hash of (seed, step) in proportion to the
    shares, and each group runs through its own epoch permutations.
    """

    def __init__(self, size: int, config: TrainConfig, start: int, rank: int = 0, world: int = 1, groups=None):
        global_batch = config.batch_size * world
        groups = list(groups or [_Whole(size)])
        small = [(g.start, g.stop) for g in groups if g.stop - g.start < global_batch]
        if small:
            raise ValueError(f"samples {small} hold fewer than one batch of {global_batch}")
        self.size, self.config, self.start, self.rank, self.world = size, config, start, rank, world
        self.groups = groups
        self.per_epoch = [(g.stop - g.start) // global_batch for g in groups]
        self._perms: dict[tuple[int, int], torch.Tensor] = {}
        # which group each step draws from, and how many batches that group gave before it
        self._group = _pick(config.seed, config.steps, [g.weight for g in groups])
        self._nth = np.zeros(config.steps, dtype=np.int64)
        for g in range(len(groups)):
            where = self._group == g
            self._nth[where] = np.arange(int(where.sum()))

    def batch(self, step: int) -> list[int]:
        g = int(self._group[step])
        epoch, index = divmod(int(self._nth[step]), self.per_epoch[g])
        if (g, epoch) not in self._perms:
            seed = self.config.seed * 100003 + epoch + 7919 * g
            group = self.groups[g]
            perm = torch.randperm(group.stop - group.start, generator=torch.Generator().manual_seed(seed))
            self._perms = {key: p for key, p in self._perms.items() if key[0] != g}  # one epoch per group kept
            self._perms[g, epoch] = perm + group.start
        global_batch = self.config.batch_size * self.world
        chosen = self._perms[g, epoch][index * global_batch : (index + 1) * global_batch]
        return chosen[self.rank :: self.world].tolist()

    def __iter__(self):
        for step in range(self.start, self.config.steps):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.config.steps - self.start)


@dataclass(frozen=True)
class _Whole:
    """The whole dataset as one batch group."""

    stop: int
    start: int = 0
    weight: float = 1.0


def _pick(seed: int, steps: int, weights: list[float]) -> np.ndarray:
    """Group index per step, a pure function of (seed, step): a splitmix64 hash to a uniform in [0, 1)."""
    if len(weights) == 1:
        return np.zeros(steps, dtype=np.int64)
    with np.errstate(over="ignore"):
        z = np.arange(steps, dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) / 2.0**53
    edges = np.cumsum(weights) / sum(weights)
    return np.minimum(np.searchsorted(edges, uniform, side="right"), len(weights) - 1)


class _LossModule(nn.Module):
    """DDP synchronises gradients only through its own forward: route ``model.loss`` through it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model.loss(batch)


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    return batch


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name} was asked for but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


def _distributed() -> tuple[int, int, int]:
    """(rank, local_rank, world size) from torchrun's environment; (0, 0, 1) without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


def _truncate_metrics(path: Path, step: int) -> None:
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    column = rows[0].index("step")
    kept = [rows[0]] + [r for r in rows[1:] if int(r[column]) <= step]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(kept)


def _holds_checkpoints(checkpoints: Path) -> bool:
    """Whether a run folder holds checkpoints; what a kill during the first checkpoint write left
    (``*.tmp``) is removed, so that the run starts again."""
    if not checkpoints.is_dir():
        return False
    leftovers = [p for p in checkpoints.iterdir() if p.name.endswith(".tmp")]
    if len(leftovers) < len(list(checkpoints.iterdir())):
        return True
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    return False


def _check_same_run(last: Path, checkpoint_config: dict[str, Any]) -> None:
    """A resumed run trains the same agent, model and data as it did."""
    from agents.train.checkpoint import read_config

    saved = {k: v for k, v in read_config(last).items() if k not in ("train", "step")}
    now = json.loads(json.dumps(checkpoint_config))
    differing = sorted(k for k in saved.keys() | now.keys() if not _same(saved.get(k), now.get(k)))
    if differing:
        raise ValueError(
            f"--resume: {last.parent.parent} was trained with other {', '.join(differing)} (its source: "
            f"{saved.get('source')}); resume with the run's --data/--set options, or choose another --out"
        )


def _same(saved: Any, now: Any) -> bool:
    """``now`` describes what ``saved`` does; a field that code added since (not in ``saved``) is no difference."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return all(_same(value, now.get(key)) for key, value in saved.items()) if saved.keys() <= now.keys() else False
    return saved == now


def train(
    model: nn.Module,
    dataset: torch.utils.data.Dataset,
    config: TrainConfig,
    out: str | Path,
    checkpoint_config: dict[str, Any],
    resume: bool = False,
    init: str | Path | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    max_minutes: float | None = None,
) -> Path:
    """Train ``model`` (which has ``loss(batch) -> (loss, metrics)``) and return the last checkpoint.

    Args:
        checkpoint_config: JSON-able dict stored as each checkpoint's config.json (agent name,
            model config, normaliser, data description); the training config and step are added.
        resume: continue the run in ``out`` from its last checkpoint.
        init: initialise weights from another checkpoint (e.g. fine-tuning after pre-training).
        stop_after: stop (with a checkpoint) once this step is done, as a job scheduler's time slice
            would; ``resume`` continues the same run.
        max_minutes: stop (with a checkpoint) after the first step that ends past this much
            wall-clock training time in this call.
    """
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"--max-minutes must be > 0, got {max_minutes}")
    out = Path(out)
    checkpoints = out / "checkpoints"
    rank, local_rank, world = _distributed()
    device = _device(config.device)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    main_process = rank == 0
    torch.manual_seed(config.seed)
    model.to(device)

    start = 0
    state = None
    if resume:
        last = last_checkpoint(checkpoints)
        if last is None:
            raise ValueError(
                f"--resume: {checkpoints} holds no complete checkpoint to resume from (a run killed before its "
                "first checkpoint starts again without --resume)"
            )
        _check_same_run(last, checkpoint_config)
        load_weights(model, last)
        try:
            state = torch.load(last / TRAINING_STATE, weights_only=False)
        except Exception as exc:  # a file cut short: torch raises several kinds
            raise ValueError(f"--resume: {last / TRAINING_STATE} is missing or damaged ({exc})") from exc
        saved = TrainConfig.from_dict(state["train_config"])
        if asdict(saved) | {"steps": config.steps} != asdict(config) | {"steps": config.steps}:
            raise ValueError(f"--resume with different training options: the run used {asdict(saved)}")
        start = state["step"]
        _truncate_metrics(out / "metrics.csv", start)  # rows logged after the checkpoint are redone
    elif _holds_checkpoints(checkpoints):
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    elif init is not None:
        from agents.train.checkpoint import read_agent_checkpoint

        folder, _ = read_agent_checkpoint(init, checkpoint_config["agent"])  # a run folder: its newest checkpoint
        load_weights(model, folder, strict=False)
    if not resume:
        _truncate_metrics(out / "metrics.csv", 0)  # a run killed before its first checkpoint starts over

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.95),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, config))
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])

    step_model: nn.Module = _LossModule(model)
    if world > 1:
        step_model = nn.parallel.DistributedDataParallel(
            step_model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True
        )
    sampler = StepBatches(len(dataset), config, start, rank, world, groups=getattr(dataset, "batch_groups", None))
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=config.num_workers, persistent_workers=config.num_workers > 0
    )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )

    writer = metrics_file = csv_writer = None
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        checkpoints.mkdir(exist_ok=True)
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tensorboard"))
        metrics_file = open(out / "metrics.csv", "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed below

    def save(step: int) -> Path:
        folder = checkpoints / f"step-{step:07d}"
        training_state = {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "train_config": asdict(config),
        }
        save_checkpoint(folder, {**checkpoint_config, "train": asdict(config), "step": step}, model, training_state)
        mark_last(checkpoints, folder)
        return folder

    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, initial=start, desc="train", unit="step", disable=not (progress and main_process))
    model.train()
    last = None
    started, window = time.perf_counter(), []
    for step, batch in enumerate(loader, start=start):
        with autocast:
            loss, metrics = step_model(_to(batch, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        scheduler.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}; lower --lr or check the data")
        window.append(metrics)
        done = step + 1
        bar.update(1)
        if main_process and (done % config.log_every == 0 or done == config.steps):
            row = {k: sum(m[k] for m in window) / len(window) for k in window[0]}
            row |= {"step": done, "lr": scheduler.get_last_lr()[0], "grad_norm": float(grad_norm)}
            row["seconds"] = round(time.perf_counter() - started, 2)
            if csv_writer is None:
                csv_writer = csv.DictWriter(metrics_file, fieldnames=list(row))
                if metrics_file.tell() == 0:
                    csv_writer.writeheader()
            csv_writer.writerow(row)
            metrics_file.flush()
            for key, value in row.items():
                if key != "step":
                    writer.add_scalar(f"train/{key}", value, done)
            bar.set_postfix(loss=f"{row['loss']:.4f}")
            window = []
        out_of_time = max_minutes is not None and time.perf_counter() - started > 60 * max_minutes
        if world > 1 and max_minutes is not None:  # every process stops at the same step
            import torch.distributed as dist

            flag = torch.tensor(float(out_of_time))
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            out_of_time = bool(flag.item())
        stopping = done == stop_after or out_of_time
        if out_of_time and main_process:
            bar.write(f"stopping at step {done}: the {max_minutes} minute budget is spent")
        if main_process and (done % config.checkpoint_every == 0 or done == config.steps or stopping):
            last = save(done)
        if stopping:
            break
    bar.close()
    if main_process:
        writer.close()
        metrics_file.close()
        (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return last if last is not None else last_checkpoint(checkpoints)
