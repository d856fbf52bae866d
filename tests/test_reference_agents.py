"""Reference checkpoints (``reference:NAME``), the default checkpoint of gr1/gr3, and the blind control."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.blind import GREY, BlindAgent
from gr_bench.agents import make_agent, with_default_checkpoint
from gr_bench.cli import main


class Recorder:
    def __init__(self):
        self.seen = []
        self.seeds = []

    def seed(self, seed):
        self.seeds.append(seed)

    def reset(self, instruction):
        pass

    def act(self, observation):
        self.seen.append(observation)
        return np.zeros(7)


def test_the_blind_control_sees_grey_images_and_nothing_else_changes():
    inner = Recorder()
    agent = BlindAgent(inner)
    rng = np.random.default_rng(0)
    obs = {
        "rgb_static": rng.integers(0, 256, (20, 20, 3), dtype=np.uint8),
        "rgb_gripper": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
        "robot_obs": rng.normal(size=15),
        "instruction": "open the drawer",
    }
    agent.seed(3)
    agent.reset("open the drawer")
    agent.act(obs)
    seen = inner.seen[0]
    assert inner.seeds == [3] and not hasattr(agent, "bind_action_space")  # hooks forwarded only if the agent has them
    for cam in ("rgb_static", "rgb_gripper"):
        assert seen[cam].shape == obs[cam].shape and seen[cam].dtype == np.uint8 and (seen[cam] == GREY).all()
    assert seen["robot_obs"] is obs["robot_obs"] and seen["instruction"] == obs["instruction"]
    assert obs["rgb_static"].std() > 0  # the caller's observation is untouched


def test_blind_is_an_agent_option_recorded_in_its_config():
    assert isinstance(make_agent("random", {"blind": True}), BlindAgent)
    assert not isinstance(make_agent("random", {"blind": False}), BlindAgent)
    with pytest.raises(ValueError, match="true or false"):
        make_agent("random", {"blind": "yes"})
    with pytest.raises(ValueError, match="the oracle reads simulator state"):
        make_agent("oracle", {"blind": True})


def test_gr_agents_default_to_their_shipped_reference():
    pytest.importorskip("torch")
    assert with_default_checkpoint("gr3", {}) == ({"checkpoint": "reference:gr3-tiny"}, "reference:gr3-tiny")
    assert with_default_checkpoint("gr2", {}) == ({"checkpoint": "reference:gr2-tiny"}, "reference:gr2-tiny")
    assert with_default_checkpoint("gr1", {"checkpoint": "runs/x"}) == ({"checkpoint": "runs/x"}, None)
    assert with_default_checkpoint("random", {}) == ({}, None)


def test_a_missing_reference_is_one_clear_line_and_no_run_folder(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    import agents.reference

    monkeypatch.setattr(agents.reference, "ROOT", tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "run"
    for name in ("gr3", "gr2"):
        assert main(["eval", "--agent", name, "--suite", "smoke", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"no reference checkpoint '{name}-tiny'" in err and f"--recipe {name}-tiny" in err, err
        assert len(err.splitlines()) == 1 and not out.exists()
    assert main(["eval", "--agent", "random", "--suite", "smoke", "--agent-config", "[1]", "--out", str(out)]) == 2
    assert "JSON object" in capsys.readouterr().err and not out.exists()


class TabletopOnly(Recorder):
    """Serves the 7-D tabletop arm only, as GR-1 does."""

    def bind_action_space(self, space):
        if space.shape != (7,):
            raise ValueError(f"this agent serves the 7-D tabletop arm, not shape {space.shape}")


def test_an_agent_for_another_robot_is_refused_before_the_run(tmp_path, capsys):
    spec = "tests.test_reference_agents:TabletopOnly"
    out = tmp_path / "run"
    assert main(["eval", "--agent", spec, "--suite", "seen", "--env", "GRBench/Tidy-v0", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "serves the 7-D tabletop arm, not shape (19,)" in err and len(err.splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize(
    ("name", "env_ids"),
    [
        ("gr1", ["GRBench/Tabletop-v0"]),
        ("gr2", ["GRBench/Tabletop-v0"]),
        ("gr3", ["GRBench/Tabletop-v0", "GRBench/Tidy-v0"]),
    ],
)
def test_the_shipped_references_load_and_act_on_their_robots(name, env_ids):
    """The references ship with the package; each acts on every robot it serves, and its model card
    names the weights that are there."""
    pytest.importorskip("torch")
    import gymnasium as gym

    from agents.base import split_status
    from agents.train.checkpoint import checkpoint_sha256, resolve_checkpoint
    from envs.family import family_named

    config, default = with_default_checkpoint(name, {})
    folder = resolve_checkpoint(default)
    assert checkpoint_sha256(folder) in (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    agent = make_agent(name, config)
    for env_id in env_ids:
        env = gym.make(env_id).unwrapped
        obs, _ = env.reset(seed=0, options={"task": family_named(env_id).default_task})
        agent.bind_action_space(env.action_space)
        agent.reset(obs["instruction"])
        action, _ = split_status(agent.act({k: v for k, v in obs.items() if k != "scene_obs"}))
        env.close()
        assert action.shape == env.action_space.shape and np.all(np.isfinite(action))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gr1", "gr2", "gr3"])
def test_a_reference_scores_on_seen_as_its_model_card_says(tmp_path, name):
    """20 evenly spaced tabletop episodes of `seen`: the card's full-suite tabletop rate must lie
    inside their 95% Wilson interval."""
    import re

    from gr_bench.evaluator import evaluate
    from gr_bench.results import wilson
    from gr_bench.suites import get_suite

    card = (Path(__file__).resolve().parents[1] / "agents" / "reference" / f"{name}-tiny" / "MODEL_CARD.md").read_text()
    found = re.search(r"seen tabletop rate = ([0-9.]+)", card)
    assert found, f"{name}-tiny's card has no seen results yet (scripts/reference/ship.py --results seen=RUN)"
    suite = get_suite("seen").select(track="tabletop", episodes=20)
    results = evaluate(suite, name, tmp_path / "run", workers=2, progress=False)
    overall = results["aggregates"]["overall"]  # the headline episodes among the 20
    low, high = wilson(overall["successes"], overall["n"])
    said = float(found.group(1))
    assert low <= said <= high, f"{overall['successes']}/{overall['n']} on seen, card says {said}"
