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

    saved = {k: v for k, v in read_config(last).items() if k not in ("train", "step", "cpu_seconds")}
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
    rank, world, device = _join_processes(config)
    main_process = rank == 0
    torch.manual_seed(config.seed)
    model.to(device)
    start, state = _starting_point(model, config, out, checkpoint_config, resume, init)
    learner = _Learner.build(model, config, state, world, device)
    sampler = StepBatches(len(dataset), config, start, rank, world, groups=getattr(dataset, "batch_groups", None))
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=config.num_workers, persistent_workers=config.num_workers > 0
    )
    log = None
    if main_process:
        checkpoints.mkdir(parents=True, exist_ok=True)
        log = _MetricsLog(out)

    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, initial=start, desc="train", unit="step", disable=not (progress and main_process))
    model.train()
    last = None
    started = time.perf_counter()
    for step, batch in enumerate(loader, start=start):
        metrics, grad_norm = learner.step(batch, step)
        done = step + 1
        bar.update(1)
        if log is not None:
            log.add(metrics)
            if done % config.log_every == 0 or done == config.steps:
                row = log.write(
                    done, learner.scheduler.get_last_lr()[0], float(grad_norm), time.perf_counter() - started
                )
                bar.set_postfix(loss=f"{row['loss']:.4f}")
        out_of_time = _out_of_time(started, max_minutes, world)
        if out_of_time and main_process:
            bar.write(f"stopping at step {done}: the {max_minutes} minute budget is spent")
        stopping = done == stop_after or out_of_time
        if main_process and (done % config.checkpoint_every == 0 or done == config.steps or stopping):
            last = learner.save(checkpoints, done, checkpoint_config)
        if stopping:
            break
    bar.close()
    if log is not None:
        log.close()
        (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return last if last is not None else last_checkpoint(checkpoints)


def _join_processes(config: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process; under torchrun it joins the process group, on
    the GPU of its local rank."""
    rank, local_rank, world = _distributed()
    device = _device(config.device)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def _starting_point(
    model: nn.Module,
    config: TrainConfig,
    out: Path,
    checkpoint_config: dict[str, Any],
    resume: bool,
    init: str | Path | None,
) -> tuple[int, dict[str, Any] | None]:
    """(first step, training state to restore): the run's last checkpoint when resuming, else step 0
    from fresh or ``init`` weights; metrics rows past the starting step are dropped, to be redone."""
    checkpoints = out / "checkpoints"
    if resume:
        state = _resume(model, config, checkpoints, checkpoint_config)
        _truncate_metrics(out / "metrics.csv", state["step"])
        return state["step"], state
    if _holds_checkpoints(checkpoints):
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    if init is not None:
        from agents.train.checkpoint import read_agent_checkpoint

        folder, _ = read_agent_checkpoint(init, checkpoint_config["agent"])  # a run folder: its newest checkpoint
        load_weights(model, folder, strict=False)
    _truncate_metrics(out / "metrics.csv", 0)  # a run killed before its first checkpoint starts over
    return 0, None


def _resume(
    model: nn.Module, config: TrainConfig, checkpoints: Path, checkpoint_config: dict[str, Any]
) -> dict[str, Any]:
    """Load the last checkpoint's weights into ``model`` and return its training state, after
    checking that it is the same run with the same options (only ``steps`` may grow)."""
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
    return state


@dataclass
class _Learner:
    """The model with its optimiser and schedule: one optimisation step, and the checkpoint that
    lets a resumed run continue exactly (weights, optimiser, schedule, RNG state)."""

    model: nn.Module
    step_model: nn.Module  # the loss, wrapped in DDP when there are several processes
    params: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    autocast: Any  # bf16 on CUDA, off on CPU
    config: TrainConfig
    # the CPU seconds (this process, all its threads) each checkpoint records, carried across
    # resumes: those of the run before this process began (None where it resumed from a checkpoint
    # that predates the count), and time.process_time() when this process began
    cpu_before: float | None
    cpu_started: float

    @classmethod
    def build(
        cls, model: nn.Module, config: TrainConfig, state: dict[str, Any] | None, world: int, device: torch.device
    ) -> _Learner:
        """AdamW (no weight decay on biases and norms) with warmup + cosine; ``state`` restores them
        and the RNG of a resumed run."""
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
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if device.type == "cuda"
            else torch.autocast("cpu", enabled=False)
        )
        cpu_before = 0.0 if state is None else state.get("cpu_seconds")
        return cls(
            model, step_model, params, optimizer, scheduler, device, autocast, config, cpu_before, time.process_time()
        )

    def step(self, batch: Any, step: int) -> tuple[dict[str, float], torch.Tensor]:
        """One optimisation step on ``batch``: its metrics and the gradient norm before clipping."""
        with self.autocast:
            loss, metrics = self.step_model(_to(batch, self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}; lower --lr or check the data")
        return metrics, grad_norm

    def save(self, checkpoints: Path, step: int, checkpoint_config: dict[str, Any]) -> Path:
        """Checkpoint ``step`` into ``checkpoints`` and mark it as the last one."""
        folder = checkpoints / f"step-{step:07d}"
        cpu = None if self.cpu_before is None else round(self.cpu_before + time.process_time() - self.cpu_started, 3)
        training_state = {
            "step": step,
            "cpu_seconds": cpu,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "train_config": asdict(self.config),
        }
        checkpoint = {**checkpoint_config, "train": asdict(self.config), "step": step, "cpu_seconds": cpu}
        save_checkpoint(folder, checkpoint, self.model, training_state)
        mark_last(checkpoints, folder)
        return folder


class _MetricsLog:
    """The main process's metric rows: means over the steps since the last row, appended to
    metrics.csv (a resumed run continues it) and written to TensorBoard."""

    def __init__(self, out: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(out / "tensorboard"))
        self.file = open(out / "metrics.csv", "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.csv: csv.DictWriter | None = None
        self.window: list[dict[str, float]] = []

    def add(self, metrics: dict[str, float]) -> None:
        self.window.append(metrics)

    def write(self, step: int, lr: float, grad_norm: float, seconds: float) -> dict[str, float]:
        """Write the row of ``step`` and start a new window; returns the row."""
        row = {k: sum(m[k] for m in self.window) / len(self.window) for k in self.window[0]}
        row |= {"step": step, "lr": lr, "grad_norm": grad_norm, "seconds": round(seconds, 2)}
        if self.csv is None:
            self.csv = csv.DictWriter(self.file, fieldnames=list(row))
            if self.file.tell() == 0:
                self.csv.writeheader()
        self.csv.writerow(row)
        self.file.flush()
        for key, value in row.items():
            if key != "step":
                self.writer.add_scalar(f"train/{key}", value, step)
        self.window = []
        return row

    def close(self) -> None:
        self.writer.close()
        self.file.close()


def _out_of_time(started: float, max_minutes: float | None, world: int) -> bool:
    """Whether the wall-clock budget is spent; with several processes, whether any one's is, so
    that every process stops at the same step."""
    out_of_time = max_minutes is not None and time.perf_counter() - started > 60 * max_minutes
    if world > 1 and max_minutes is not None:
        import torch.distributed as dist

        flag = torch.tensor(float(out_of_time))
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        out_of_time = bool(flag.item())
    return out_of_time
