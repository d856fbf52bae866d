"""Each agent's ``act()`` on a camera observation, and one training step of each trainable agent.

Adding an agent is one line in ``AGENTS``. Builders are named as ``module:function`` strings so
that under ``gr-bench perf check`` each side builds the agent with its own code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class AgentFigures:
    """``build``: a ``module:function`` taking a scratch folder and returning the agent;
    ``train_step``: one taking a scratch folder and returning ``step()``, one optimiser step of the
    agent's tiny config on a batch it made itself. Calls per round: a round should take 0.05-0.5 s."""

    build: str
    act_calls: int
    train_step: str | None = None
    train_calls: int = 1


GR1, GR3 = "gr_bench.perf.gr1", "gr_bench.perf.gr3"
AGENTS = {  # one line per agent
    "random": AgentFigures("gr_bench.perf.workloads:random_agent", act_calls=50_000),
    "gr1_tiny": AgentFigures(f"{GR1}:tiny_agent", act_calls=20, train_step=f"{GR1}:tiny_train_step"),
    "gr3_tiny": AgentFigures(f"{GR3}:tiny_agent", act_calls=40, train_step=f"{GR3}:tiny_train_step", train_calls=3),
}


def load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("agent", list(AGENTS))
def test_act(figure, agent, tmp_path):
    """``act()`` on one observation with both camera images (the agent's chunk queue as in an episode)."""
    from gr_bench.perf.workloads import camera_observation

    spec = AGENTS[agent]
    built = load(spec.build)(tmp_path)
    obs = camera_observation()
    built.reset(obs["instruction"])

    def run():
        for _ in range(spec.act_calls):
            built.act(obs)

    figure(run, group="agent act", calls=spec.act_calls, unit="act() calls")


@pytest.mark.parametrize("agent", [name for name, spec in AGENTS.items() if spec.train_step])
def test_train_step(figure, agent, tmp_path):
    """One AdamW step of the agent's tiny config on a batch of training windows."""
    pytest.importorskip("torch")
    spec = AGENTS[agent]
    step = load(spec.train_step)(tmp_path)

    def run():
        for _ in range(spec.train_calls):
            step()

    figure(run, group="agent train", calls=spec.train_calls, unit="train steps")
