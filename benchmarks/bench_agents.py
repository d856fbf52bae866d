"""Each agent's ``act()`` on a camera observation, and one training step of each trainable agent.

The agents and their workloads come from the registry (``gr_bench.registry``: ``perf_agent``,
``perf_train_step``, calls per round); builders are ``module:function`` strings so that under
``gr-bench perf check`` each side builds the agent with its own code.
"""

from __future__ import annotations

import importlib

import pytest

from gr_bench.registry import REGISTRY, AgentEntry


def _figures() -> dict[str, AgentEntry]:
    """Figure name -> registry entry, for every registered agent with a perf workload."""
    return {
        f"{name}_{entry.tiny_config}" if entry.tiny_config else name: entry
        for name, entry in REGISTRY.items()
        if entry.perf_agent
    }


AGENTS = _figures()


def load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("agent", list(AGENTS))
def test_act(figure, agent, tmp_path):
    """``act()`` on one observation with both camera images (the agent's chunk queue as in an episode)."""
    from gr_bench.perf.workloads import camera_observation

    spec = AGENTS[agent]
    built = load(spec.perf_agent)(tmp_path)
    obs = camera_observation()
    built.reset(obs["instruction"])

    def run():
        for _ in range(spec.act_calls):
            built.act(obs)

    figure(run, group="agent act", calls=spec.act_calls, unit="act() calls")


@pytest.mark.parametrize("agent", [name for name, spec in AGENTS.items() if spec.perf_train_step])
def test_train_step(figure, agent, tmp_path):
    """One AdamW step of the agent's tiny config on a batch of training windows."""
    pytest.importorskip("torch")
    spec = AGENTS[agent]
    step = load(spec.perf_train_step)(tmp_path)

    def run():
        for _ in range(spec.train_calls):
            step()

    figure(run, group="agent train", calls=spec.train_calls, unit="train steps")
