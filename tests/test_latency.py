"""Latency-aware evaluation (``--latency-steps K``): each action reaches the robot K control steps
after the observation it answers; before the first one arrives the robot stays as it is."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gr_bench.agents import latency_steps, make_agent
from gr_bench.evaluator import EpisodeRunner
from gr_bench.suites import get_suite

SPEC = f"{__name__}:CountingAgent"


class CountingAgent:
    """Moves the arm a little along x; the first entry of its n-th action is n / 1000."""

    def __init__(self):
        self.calls = 0

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation):
        self.calls += 1
        return np.r_[self.calls / 1000, np.zeros(5), 1.0]


def _applied_actions(latency: int, steps: int = 10) -> list[np.ndarray]:
    episode = get_suite("smoke").episodes[0]
    episode = type(episode)(**{**episode.__dict__, "max_steps": steps})
    runner = EpisodeRunner(SPEC, {"latency_steps": latency} if latency else None)
    env = runner.environment(episode.env_id)
    applied, step = [], env.step

    def spy(action):
        applied.append(np.asarray(action, dtype=float).copy())
        return step(action)

    env.step = spy
    record = runner.run(episode)
    assert record["failure"] is None and record["steps"] == steps
    return applied


@pytest.mark.parametrize("latency", [0, 1, 3])
def test_actions_arrive_latency_steps_late(latency):
    applied = _applied_actions(latency)
    still = np.r_[np.zeros(6), 1.0]  # the tabletop's no-op: no motion, gripper open
    for step, action in enumerate(applied):
        expected = still if step < latency else np.r_[(step - latency + 1) / 1000, np.zeros(5), 1.0]
        np.testing.assert_allclose(action, expected)


def test_latency_is_the_evaluators_option_and_is_checked():
    assert latency_steps(None) == 0 and latency_steps({"latency_steps": 4}) == 4
    assert isinstance(make_agent(SPEC, {"latency_steps": 4}), CountingAgent)  # the agent never sees it
    for bad in (-1, 2.5, True, "4", 10_000):
        with pytest.raises(ValueError, match="latency_steps must be"):
            latency_steps({"latency_steps": bad})


def test_the_cli_runs_a_latency_curve_and_refuses_bad_values(tmp_path, capsys, monkeypatch):
    from gr_bench.cli import main

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "lat"
    args = ["eval", "--agent", "random", "--suite", "smoke", "--episodes", "2", "--out", str(out)]
    assert main([*args, "--latency-steps", "0,3"]) == 0
    for latency in (0, 3):
        results = json.loads((out / f"latency-{latency}" / "results.json").read_text())
        assert results["agent"]["config"].get("latency_steps", 0) == latency  # recorded with the agent
    assert "| 3 | all |" in (out / "latency.md").read_text() and (out / "latency.png").stat().st_size > 0
    capsys.readouterr()
    assert main([*args, "--latency-steps", "two"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--latency-steps takes whole numbers" in err
