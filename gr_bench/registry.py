"""The one agent registry: every registered agent's class, how to train it, its tiny config and its
perf workloads, as ``module:name`` strings imported only when used.

``gr-bench eval --agent NAME`` (and its ``--help``), ``gr-bench train --agent NAME``, the perf
figures (``benchmarks/bench_agents.py``) and the tests iterate this table. Adding an agent is its
package plus one entry here. ``TRAIN_ONLY`` lists models that ``gr-bench train`` trains but that are
no agent (nothing to evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentEntry:
    agent: str  # module:Class behind the Agent protocol (agents.base)
    description: str
    # module:function returning (model, dataset, checkpoint_config) for `gr-bench train`; the options it
    # takes (stage, data, vl_data, invalid_pool, ...) are read off its signature
    trainer: str | None = None
    tiny_config: str | None = None  # the preset that trains on a laptop CPU (tests, perf figures)
    # perf workloads: module:function(scratch folder) -> the agent, and -> step() (one optimiser step)
    perf_agent: str | None = None
    perf_train_step: str | None = None
    act_calls: int = 20  # act() calls per timed round (a round should take 0.05-0.5 s)
    train_calls: int = 1  # train steps per timed round


GR1_PERF, GR2_PERF, GR3_PERF = "gr_bench.perf.gr1", "gr_bench.perf.gr2", "gr_bench.perf.gr3"

REGISTRY: dict[str, AgentEntry] = {
    "random": AgentEntry(
        "agents.random_agent:RandomAgent",
        "uniformly random actions in the episode's action space: the floor",
        perf_agent="gr_bench.perf.workloads:random_agent",
        act_calls=50_000,
    ),
    "oracle": AgentEntry(
        "gr_bench.agents:OracleAgent",
        "the environment's scripted expert, reading simulator state (privileged)",
    ),
    "noop": AgentEntry(
        "agents.controls:NoOpAgent",
        "blind control: the robot stays as it is every step (the environment's no-op action)",
    ),
    "replay": AgentEntry(
        "agents.controls:ReplayAgent",
        "blind control: the task's mean demonstration actions replayed open-loop (--set data=PATH, collected data)",
    ),
    "gr1": AgentEntry(
        "agents.gr1.agent:GR1Agent",
        "GR-1: GPT over language, state and image tokens, video prediction (one 7-D arm)",
        trainer="agents.gr1.training:build",
        tiny_config="tiny",
        perf_agent=f"{GR1_PERF}:tiny_agent",
        perf_train_step=f"{GR1_PERF}:tiny_train_step",
        act_calls=20,
    ),
    "gr2": AgentEntry(
        "agents.gr2.agent:GR2Agent",
        "GR-2: GPT over language, state and VQGAN frame tokens, next-frame tokens, cVAE action chunks (one 7-D arm)",
        trainer="agents.gr2.training:build",
        tiny_config="tiny",
        perf_agent=f"{GR2_PERF}:tiny_agent",
        perf_train_step=f"{GR2_PERF}:tiny_train_step",
        act_calls=20,
    ),
    "gr3": AgentEntry(
        "agents.gr3.agent:GR3Agent",
        "GR-3: a vision-language backbone and a flow-matching action transformer, task status (both robots)",
        trainer="agents.gr3.training:build",
        tiny_config="tiny",
        perf_agent=f"{GR3_PERF}:tiny_agent",
        perf_train_step=f"{GR3_PERF}:tiny_train_step",
        act_calls=40,
        train_calls=3,
    ),
}


@dataclass(frozen=True)
class ModelEntry:
    """A model that ``gr-bench train`` trains but that does not act, so ``gr-bench eval`` has no such agent
    (a part of an agent trained on its own first, like GR-2's image tokenizer)."""

    trainer: str  # module:function, as AgentEntry.trainer
    description: str
    tiny_config: str


TRAIN_ONLY: dict[str, ModelEntry] = {
    "vqgan": ModelEntry(
        "agents.gr2.training:build_tokenizer",
        "GR-2's VQGAN image tokenizer, trained first on single frames (--videos, --data); not an agent",
        tiny_config="tiny",
    ),
}


def trainable() -> dict[str, str]:
    """Name -> its trainer, for the agents that train and the train-only models."""
    agents = {name: e.trainer for name, e in REGISTRY.items() if e.trainer}
    return {**agents, **{name: e.trainer for name, e in TRAIN_ONLY.items()}}


def resolve_name(path: str):
    """The object a ``module:name`` string names (imported now): ``envs.utils.names.resolve_name``,
    the one resolver, which the environment families use too."""
    from envs.utils.names import resolve_name as resolve

    return resolve(path)
