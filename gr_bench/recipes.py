"""``gr-bench train --recipe NAME``: the reference agents, from nothing to a checkpoint, in one command.

A recipe collects its demonstrations with the scripted experts (``gr-bench collect``, resumable from
its staging), then trains with fixed options (``gr-bench train``, resumable from its last
checkpoint). Killed at any point, the same command continues where it stopped and gives the same
checkpoint: collection seeds and training batches are pure functions of the recipe's seed.

Everything lands in a work folder (default ``runs/reference/NAME``); the demonstrations go to a
data folder shared by the recipes (default ``runs/reference/data``), so the GR-3 recipe reuses
the arm's data the GR-1 recipe collected. ``recipe.json`` in the work folder records the CPU
time each phase used (user + system of this process and its collection workers), summed over
every invocation and written once a minute, the machine, and the versions.

Data size, steps and width are provisional until the validation curve
(scripts/reference/curve.py) of these runs says otherwise; the shipped model cards record what was chosen.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.atomic import write_atomic
from agents.reference.recipes import RECIPES, Collection, Recipe, Stage  # data beside the references they make

DEFAULT_ROOT = Path("runs/reference")


__all__ = ["RECIPES", "Collection", "Recipe", "Stage", "get_recipe"]


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        from envs.errors import unknown_name_error

        raise unknown_name_error("recipe", name, RECIPES)
    return RECIPES[name]


class CpuLedger:
    """CPU seconds per phase, summed over invocations, in ``recipe.json``; rewritten every minute by a
    background thread, so a killed invocation loses at most a minute of its count."""

    def __init__(self, path: Path, recipe: Recipe):
        self.path = path
        self.data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        wanted = json.loads(json.dumps(asdict(recipe)))  # as JSON gives it back
        if self.data and self.data.get("recipe") != wanted:
            raise ValueError(
                f"{path.parent} holds a run of another version of recipe {recipe.name!r}; "
                "choose another --workdir or remove it"
            )
        self.data["recipe"] = wanted
        self.data.setdefault("cpu_seconds", {})
        self.data["machine"] = _machine()
        self.phase: str | None = None
        self._base = self._cpu()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    @staticmethod
    def _cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def start(self, phase: str) -> None:
        with self._lock:
            self._flush()
            self.phase = phase
        if not self._thread.is_alive():
            self._thread.start()

    def _flush(self) -> None:
        now = self._cpu()
        if self.phase is not None:
            spent = self.data["cpu_seconds"]
            spent[self.phase] = round(spent.get(self.phase, 0.0) + now - self._base, 1)
        self._base = now
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_atomic(self.path, json.dumps(self.data, indent=2))

    def _tick(self) -> None:
        while not self._stop.wait(60):
            with self._lock:
                self._flush()

    def finish(self, **fields: Any) -> dict[str, Any]:
        self._stop.set()
        with self._lock:
            self.data.update(fields)
            self._flush()
            self.phase = None
        return self.data


def _machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }


def run_recipe(
    name: str,
    workdir: str | Path | None = None,
    data_root: str | Path | None = None,
    workers: int = 1,
    threads: int = 1,
    device: str = "auto",
    max_minutes: float | None = None,
) -> Path:
    """Collect, train the recipe's earlier stages (a tokenizer, a pre-training), then its model, each
    resumed where a killed call stopped; returns the last checkpoint of the last stage that ran."""
    import torch

    from gr_bench.collect import collect

    recipe = get_recipe(name)
    workdir = Path(workdir) if workdir else DEFAULT_ROOT / recipe.name
    data_root = Path(data_root) if data_root else DEFAULT_ROOT / "data"
    workdir.mkdir(parents=True, exist_ok=True)
    ledger = CpuLedger(workdir / "recipe.json", recipe)
    print(f"recipe {recipe.name}: {recipe.description}")
    print(f"work folder {workdir}, data in {data_root}")

    datasets = []
    for c in recipe.collections:
        ledger.start(f"collect:{c.name}")
        out = data_root / c.name
        print(f"[collect] {c.episodes_per_task} expert demonstrations per task of {c.suite!r} in {c.env} -> {out}")
        collect(c.suite, c.episodes_per_task, out, env=c.env, workers=workers)
        datasets.append(str(out))

    if threads:
        torch.set_num_threads(threads)
    deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
    runs = {}
    for stage in recipe.before:
        ledger.start(f"train:{stage.name}")
        runs[stage.name] = workdir / stage.name
        last, step = _train_stage(
            stage,
            recipe.seed,
            datasets,
            runs[stage.name],
            device,
            deadline,
            tokenizer=runs[stage.tokenizer] if stage.tokenizer else None,
        )
        if step < stage.steps:  # out of time: the next call continues this stage
            data = ledger.finish(last_checkpoint=str(last), stage=stage.name, step=step, done=False)
            print(f"checkpoint {last} (stage {stage.name}, step {step} of {stage.steps}); CPU so far {_hours(data)}")
            return last

    ledger.start("train")
    model = Stage(
        "train",
        recipe.agent,
        recipe.steps,
        config=recipe.config,
        overrides=recipe.overrides,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        warmup_steps=recipe.warmup_steps,
        checkpoint_every=recipe.checkpoint_every,
    )
    last, step = _train_stage(
        model,
        recipe.seed,
        datasets,
        workdir / "train",
        device,
        deadline,
        recipe=recipe.name,
        tokenizer=runs[recipe.tokenizer] if recipe.tokenizer else None,
        init=runs[recipe.init] if recipe.init else None,
    )
    data = ledger.finish(last_checkpoint=str(last), stage="train", step=step, done=step >= recipe.steps)
    print(f"checkpoint {last} (step {step} of {recipe.steps}); CPU time so far {_hours(data)}")
    return last


def _hours(ledger: dict[str, Any]) -> str:
    return f"{sum(ledger['cpu_seconds'].values()) / 3600:.2f} h: {ledger['cpu_seconds']}"


def _train_stage(
    stage,
    seed: int,
    datasets: list[str],
    out: Path,
    device: str,
    deadline: float | None,
    recipe: str | None = None,
    tokenizer: Path | None = None,
    init: Path | None = None,
) -> tuple[Path, int]:
    """Train one stage into ``out`` (resuming its last checkpoint; a finished stage is not rebuilt);
    (its last checkpoint, its step)."""
    import torch

    from agents.train.checkpoint import last_checkpoint
    from agents.train.loop import TrainConfig, train
    from gr_bench.train import build_for_training

    last = last_checkpoint(out / "checkpoints")
    if last is not None:
        step = json.loads((last / "config.json").read_text(encoding="utf-8"))["step"]
        if step >= stage.steps:
            print(f"[{stage.name}] done: {last}")
            return last, step
    torch.manual_seed(seed)  # the model's initial weights follow the recipe's seed
    model, dataset, checkpoint_config = build_for_training(
        stage.agent,
        config=stage.config,
        overrides=stage.overrides,
        stage=stage.stage,
        data=datasets,
        tokenizer=str(tokenizer) if tokenizer else None,
        init=str(init) if init else None,
    )
    if recipe:
        checkpoint_config["recipe"] = recipe
    config = TrainConfig(
        steps=stage.steps,
        batch_size=stage.batch_size,
        lr=stage.lr,
        warmup_steps=stage.warmup_steps,
        checkpoint_every=stage.checkpoint_every,
        log_every=100,
        seed=seed,
        device=device,
    )
    print(
        f"[{stage.name}] {stage.agent} {stage.config}, {stage.steps} steps of batch {stage.batch_size} on {dataset!r}"
    )
    if last is not None:
        print(f"[{stage.name}] resuming {out} from {last.name}")
    minutes = None if deadline is None else max((deadline - time.monotonic()) / 60, 1e-9)
    last = train(
        model,
        dataset,
        config,
        out,
        checkpoint_config,
        resume=last is not None,
        max_minutes=minutes,
        init=init if last is None else None,
    )
    return last, json.loads((last / "config.json").read_text(encoding="utf-8"))["step"]
