"""The one agent registry: every entry resolves, and eval, train and the perf figures read it."""

from __future__ import annotations

import inspect

import pytest

from gr_bench.agents import AGENTS, resolve
from gr_bench.registry import REGISTRY, TRAIN_ONLY, resolve_name, trainable


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_entry_resolves(name):
    entry = REGISTRY[name]
    if entry.trainer or entry.perf_train_step:
        pytest.importorskip("torch")
    cls = resolve(name)
    assert callable(getattr(cls, "reset", None)) and callable(getattr(cls, "act", None))
    assert AGENTS[name] == entry.agent and entry.description
    if entry.trainer:
        build = resolve_name(entry.trainer)
        assert {"config", "overrides", "stage", "data", "videos", "tasks"} <= set(inspect.signature(build).parameters)
        assert entry.tiny_config, "a trainable agent names the preset that trains on a laptop CPU"
    for workload in (entry.perf_agent, entry.perf_train_step):
        if workload:
            assert callable(resolve_name(workload))


@pytest.mark.parametrize("name", list(TRAIN_ONLY))
def test_every_train_only_entry_resolves(name):
    pytest.importorskip("torch")
    entry = TRAIN_ONLY[name]
    build = resolve_name(entry.trainer)
    assert {"config", "overrides", "stage", "data", "videos", "tasks"} <= set(inspect.signature(build).parameters)
    assert entry.description and entry.tiny_config
    with pytest.raises(ValueError, match="is no agent: it cannot act"):  # nothing to evaluate
        resolve(name)


def test_eval_train_and_perf_iterate_the_registry(capsys):
    import importlib.util
    from pathlib import Path

    from gr_bench.cli import build_parser
    from gr_bench.train import TRAINABLE

    assert (
        TRAINABLE
        == trainable()
        == {
            "gr1": "agents.gr1.training:build",
            "gr2": "agents.gr2.training:build",
            "gr3": "agents.gr3.training:build",
            "vqgan": "agents.gr2.training:build_tokenizer",  # train-only: no agent to evaluate
        }
    )
    assert not set(TRAIN_ONLY) & set(REGISTRY) and not set(TRAIN_ONLY) & set(AGENTS)
    help_text = build_parser()._subparsers._group_actions[0].choices["eval"].format_help()
    assert all(name in help_text for name in REGISTRY)
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_agents.py"
    spec = importlib.util.spec_from_file_location("bench_agents", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert set(bench.AGENTS) == {"random", "gr1_tiny", "gr2_tiny", "gr3_tiny"}  # the figure names the gate compares
