"""Whole evaluator runs, as a user starts them: agent, environments, episodes, files written.

The full ``unseen`` suite (238 tabletop and 24 tidy episodes) takes the oracle about a minute on 2
workers, too long to run several times on each side of the gate: its figure is a fixed tenth of it,
every tenth episode of each environment (23 tabletop, 2 tidy, evenly spaced), on 2 workers, pool
start-up included. The gated time is CPU time, the workers' included; the wall-clock rate, episodes
per minute on 2 workers, is in the figure's ``extra_info``.
"""

from __future__ import annotations

import itertools
import time

import pytest

UNSEEN_FRACTION = 10  # every tenth episode of each environment
WORKERS = 2


def _unseen_subset():
    from gr_bench.suites import Suite, get_suite

    # pinned to v2, the version the baseline revision measured: the same episodes on both sides
    # (v3 moved the starts of the blind-solvable tasks, and with them the oracle's episode lengths)
    unseen = get_suite("unseen", 2)
    episodes = ()
    for env in ("GRBench/Tabletop-v0", "GRBench/Tidy-v0"):
        count = len(unseen.select(env=env).episodes)
        episodes += unseen.select(env=env, episodes=count // UNSEEN_FRACTION).episodes
    return Suite(unseen.name, unseen.version, unseen.description, episodes)


@pytest.mark.parametrize(
    ("agent", "suite", "workers"),
    [("random", "smoke", 1), ("oracle", "unseen", WORKERS)],
    ids=["random-smoke", "oracle-unseen"],
)
def test_evaluate(figure, benchmark, tmp_path, agent, suite, workers):
    """``gr-bench eval``: random on one smoke episode (360 steps, both cameras, one worker), or the
    oracle on the fixed unseen subsample on 2 workers."""
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    episodes = get_suite("smoke").select(episodes=1) if suite == "smoke" else _unseen_subset()
    runs, walls = itertools.count(), []

    def setup():
        return (tmp_path / f"run{next(runs)}",), {}

    def run(out):
        start = time.perf_counter()
        evaluate(episodes, agent, out, workers=workers, progress=False)
        walls.append(time.perf_counter() - start)

    n = len(episodes.episodes)
    figure(run, setup, group="evaluation", calls=n, unit="episodes", rounds=3)
    benchmark.extra_info["episodes_per_wall_minute"] = [round(60 * n / wall, 2) for wall in walls[1:]]
