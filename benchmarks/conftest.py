"""What every speed figure shares: the CPU-time timer, turn-taking, the environments.

A figure is one ``benchmark.pedantic`` call through the ``figure`` fixture: an untimed ``setup``
before each round (a reset, the same actions), a timed ``target`` doing ``calls`` units of work,
one warm-up round, then ``--benchmark-min-rounds`` rounds (5 unless given). Rounds are timed in
CPU seconds (``cpu_seconds``), which stop while another process holds the core, so figures are
steady on a shared machine. Before each round the figure waits for its turn
(``gr_bench/perf/interleave.py``): under ``gr-bench perf check`` the candidate's and the
reference's rounds alternate; run alone (``pytest benchmarks``) there is nothing to wait for.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import sys
import time
from pathlib import Path

import pytest

# One thread for BLAS, torch and Mesa's software rasteriser (llvmpipe; 0: draw in the calling
# thread), set before any of them loads: a figure then measures one core's work.
THREAD_VARIABLES = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LP_NUM_THREADS": "0"}
for _name, _value in THREAD_VARIABLES.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("MUJOCO_GL", "egl")

SEED = 0
TASK = "open_drawer"  # every tabletop figure's task: short, with articulation contacts
INSTRUCTION = "open the drawer"


def _load_interleave():
    # by file path from this tree, whichever revision's gr_bench this process imports
    path = Path(__file__).resolve().parents[1] / "gr_bench" / "perf" / "interleave.py"
    spec = importlib.util.spec_from_file_location("_gr_bench_perf_interleave", path)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TURNS = _load_interleave().Turns()


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its children that have exited (an
    evaluator's worker pool)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.benchmark(timer=cpu_seconds), append=False)


@pytest.fixture
def figure(benchmark, request):
    """``figure(target, setup=None, *, group, calls, unit, rounds=None, pair=None)`` times it.

    ``calls``: units of work (``unit``) in one round, so that reports can give a time per unit;
    ``pair``: the name of our figure a peer's figure is compared with (it then takes turns with it)."""

    def measure(target, setup=None, *, group: str, calls: int, unit: str, rounds: int | None = None, pair=None):
        benchmark.group = group
        benchmark.extra_info.update(calls=calls, unit=unit)
        if pair:
            benchmark.extra_info["pair"] = pair
        key = pair or request.node.name

        def setup_in_turn():
            TURNS.wait(key)
            return setup() if setup else None

        rounds = rounds or request.config.getoption("benchmark_min_rounds")
        benchmark.pedantic(target, setup=setup_in_turn, rounds=rounds, warmup_rounds=1)

    return measure


@pytest.fixture(scope="session")
def tabletop():
    """``tabletop(cameras)``: a tabletop env with these cameras (shared in the session)."""
    from envs.tabletop.env import TabletopEnv

    made: dict[tuple[str, ...], TabletopEnv] = {}

    def make(cameras: tuple[str, ...]) -> TabletopEnv:
        if cameras not in made:
            made[cameras] = TabletopEnv(cameras=cameras)
            reset_tabletop(made[cameras])
        return made[cameras]

    yield make
    for env in made.values():
        env.close()


def reset_tabletop(env):
    obs, _ = env.reset(seed=SEED, options={"task": TASK, "instruction": INSTRUCTION})
    return obs


def pytest_benchmark_update_machine_info(config, machine_info):
    """Where this process's gr-bench code came from (``perf check`` verifies the reference's),
    and what else shares the machine."""
    import importlib

    machine_info["code"] = {}
    for package in ("gr_bench", "envs", "agents"):
        try:
            module = importlib.import_module(package)
        except ImportError:  # a peer's venv
            continue
        machine_info["code"][package] = str(Path(module.__file__).resolve().parent)
    machine_info["load_average"] = list(os.getloadavg())
    machine_info["threads"] = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    machine_info["executable"] = sys.executable
