"""Whole evaluator runs, as a user starts them: agent, environments, episodes, files written.

``unseen`` in full is 262 episodes, about half an hour of CPU time: the oracle's throughput on it is
measured on a fixed subsample, every ``UNSEEN_STRIDE``-th tabletop episode and every tidy one up to
``UNSEEN_TIDY``, on 2 workers, start-up included (episodes per minute of wall-clock time are in
the figure's ``extra_info``; the gated time is CPU time, the workers' included).
"""

from __future__ import annotations

import time

import pytest

UNSEEN_TABLETOP = 6  # episodes of unseen's 238 tabletop ones, evenly spaced
UNSEEN_TIDY = 2  # of its 24 tidy ones, evenly spaced
WORKERS = 2


def _unseen_subset():
    from gr_bench.suites import TABLETOP, TIDY, Suite, get_suite

    unseen = get_suite("unseen")
    episodes = unseen.select(env=TABLETOP, episodes=UNSEEN_TABLETOP).episodes
    episodes += unseen.select(env=TIDY, episodes=UNSEEN_TIDY).episodes
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
    runs, walls = iter(range(1000)), []

    def setup():
        return (tmp_path / f"run{next(runs)}",), {}

    def run(out):
        start = time.perf_counter()
        evaluate(episodes, agent, out, workers=workers, progress=False)
        walls.append(time.perf_counter() - start)

    n = len(episodes.episodes)
    figure(run, setup, group="evaluation", calls=n, unit="episodes", rounds=3)
    benchmark.extra_info["episodes_per_wall_minute"] = [round(60 * n / wall, 2) for wall in walls[1:]]
