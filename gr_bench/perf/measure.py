"""Run the figures, interleaved with their calibrations, and write the report.

Each repetition visits every figure in turn, and every figure sample sits between two samples
of its calibration; the sample's ratio is its rate over the mean of those two. Medians over the
repetitions are reported. A burst of load from another process then hits one repetition of many
figures rather than every repetition of one, and the ratio cancels slow drifts of the machine.

Ratios use CPU time (``Clock``), which stops while another process holds the core; wall-clock
rates are reported beside them, as what a user waits for on an idle machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from gr_bench.perf.figures import CALIBRATIONS, FIGURES, Bench, Sampler

REPORT_FORMAT = "gr-bench-perf/1"
REPETITIONS = 7  # a full run: enough for medians whose run-to-run wobble stays well under 0.25
QUICK_REPETITIONS = 3
QUICK_SCALE = 0.5  # a quick run does half the work per sample
# One thread for BLAS and for Mesa's software rasteriser (llvmpipe; 0: draw in the calling thread):
# on a 2-core machine shared with others, a figure then scales with load as its calibration does.
THREAD_VARIABLES = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LP_NUM_THREADS": "0"}


def select(patterns: list[str] | None) -> list[str]:
    """Figure names matching any of ``patterns`` (shell-style); all figures without patterns."""
    from fnmatch import fnmatch

    if not patterns:
        return list(FIGURES)
    names = [n for n in FIGURES if any(fnmatch(n, p) for p in patterns)]
    if not names:
        raise ValueError(f"no figure matches {patterns}; figures: {', '.join(FIGURES)}")
    return names


def run_report(
    names: list[str] | None = None,
    repetitions: int = REPETITIONS,
    scale: float = 1.0,
    slow_env_step: int = 0,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Measure the named figures (all by default) and return the report.

    Args:
        repetitions: samples of each figure; the report gives their median.
        scale: work per sample relative to a full run (tests use less).
        slow_env_step: a hook to test the gate: this many extra raw ``mj_step`` calls inside every
            env step, on a scratch copy of the state, so the env is slower but behaves the same.
    """
    if repetitions < 1:
        raise ValueError(f"repetitions must be at least 1, got {repetitions}")
    names = names or list(FIGURES)
    load_before = os.getloadavg()
    started = time.perf_counter()
    bench = Bench()
    try:
        with _slowed_env_step(slow_env_step):
            figures, calibrations, skipped = _measure(bench, names, repetitions, scale, log)
    finally:
        bench.close()
    from gr_bench.results import environment_versions, git_revision

    return {
        "format": REPORT_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "versions": {**environment_versions(), **_optional_versions("torch")},
        "machine": _machine(load_before),
        "settings": {
            "figures": names,
            "repetitions": repetitions,
            "scale": scale,
            "slow_env_step": slow_env_step,
            "seconds": round(time.perf_counter() - started, 1),
        },
        "calibrations": calibrations,
        "figures": figures,
        "skipped": skipped,
    }


def _measure(bench: Bench, names: list[str], repetitions: int, scale: float, log):
    chosen = [FIGURES[n] for n in names]
    samplers: dict[str, Sampler] = {}
    skipped: dict[str, str] = {}
    for figure in chosen:
        try:
            samplers[figure.name] = figure.setup(bench)
        except ImportError as exc:  # an optional dependency (torch for a learned agent) is missing
            skipped[figure.name] = f"{type(exc).__name__}: {exc}"
            log(f"skipped {figure.name}: {skipped[figure.name]}")
    chosen = [f for f in chosen if f.name in samplers]
    kinds = sorted({f.calibration for f in chosen})
    calibrate = {k: CALIBRATIONS[k].setup(bench) for k in kinds}

    def calls(n: int) -> int:
        return max(1, round(n * scale))

    def calibration_sample(kind: str) -> float:
        n = calls(CALIBRATIONS[kind].calls)
        clock = calibrate[kind](n)
        cal_samples[kind]["rates"].append(n / clock.wall)
        cal_samples[kind]["cpu_rates"].append(n / clock.cpu)
        return n / clock.cpu

    # warm-up: renderers, caches and lazy imports settle before anything is timed
    for kind in kinds:
        calibrate[kind](max(1, calls(CALIBRATIONS[kind].calls) // 4))
    for figure in chosen:
        samplers[figure.name](max(1, calls(figure.calls) // 4))

    cal_samples = {k: {"rates": [], "cpu_rates": []} for k in kinds}
    samples = {f.name: {"rates": [], "cpu_rates": [], "ratios": []} for f in chosen}
    for rep in range(repetitions):
        log(f"repetition {rep + 1}/{repetitions}")
        previous: tuple[str, float] | None = None  # the last calibration sample, if it came just now
        for figure in chosen:
            kind = figure.calibration
            before = previous[1] if previous and previous[0] == kind else calibration_sample(kind)
            n = calls(figure.calls)
            clock = samplers[figure.name](n)
            after = calibration_sample(kind)
            previous = (kind, after)
            samples[figure.name]["rates"].append(n / clock.wall)
            samples[figure.name]["cpu_rates"].append(n / clock.cpu)
            samples[figure.name]["ratios"].append(n / clock.cpu / ((before + after) / 2))

    figures = {}
    for figure in chosen:
        sampled = samples[figure.name]
        ratio = statistics.median(sampled["ratios"])
        figures[figure.name] = {
            "description": figure.description,
            "unit": figure.unit,
            "calibration": figure.calibration,
            "calls_per_sample": calls(figure.calls),
            "rate": statistics.median(sampled["rates"]),
            "cpu_rate": statistics.median(sampled["cpu_rates"]),
            "ratio": ratio,
            "spread": (max(sampled["ratios"]) - min(sampled["ratios"])) / ratio,
            **sampled,
        }
    calibrations = {
        kind: {
            "description": CALIBRATIONS[kind].description,
            "unit": CALIBRATIONS[kind].unit,
            "calls_per_sample": calls(CALIBRATIONS[kind].calls),
            "rate": statistics.median(cal_samples[kind]["rates"]),
            "cpu_rate": statistics.median(cal_samples[kind]["cpu_rates"]),
            **cal_samples[kind],
        }
        for kind in kinds
    }
    return figures, calibrations, skipped


@contextmanager
def _slowed_env_step(extra_mj_steps: int) -> Iterator[None]:
    if extra_mj_steps <= 0:
        yield
        return
    import mujoco

    from envs.tabletop.env import TabletopEnv

    original = TabletopEnv.step
    scratch: dict[int, Any] = {}

    def slow_step(self, action):
        model = self.sim.model
        data = scratch.setdefault(id(model), mujoco.MjData(model))
        mujoco.mj_step(model, data, nstep=extra_mj_steps)
        return original(self, action)

    TabletopEnv.step = slow_step
    try:
        yield
    finally:
        TabletopEnv.step = original


def _machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    processor = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            processor = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), processor)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "processor": processor,
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "mujoco_gl": os.environ.get("MUJOCO_GL"),
        "threads": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "python": sys.version.split()[0],
    }


def _optional_versions(*packages: str) -> dict[str, str]:
    found = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found
