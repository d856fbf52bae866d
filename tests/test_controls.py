"""Blind controls that never look (agents/controls.py): noop moves nothing, replay replays the mean
demonstration sequence of a collected dataset, bad input is one line; the flags they produce."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from agents.controls import NoOpAgent, ReplayAgent, mean_sequence

SMALL = dict(size=32, gripper_size=32, progress=False)


def _seen_episode(env_id_part: str):
    from gr_bench.suites import get_suite

    return next(e for e in get_suite("seen").episodes if env_id_part in e.env_id)


@pytest.mark.parametrize("family", ["Tabletop", "Tidy"])
def test_noop_moves_nothing(family):
    import gymnasium as gym

    import envs  # noqa: F401

    episode = _seen_episode(family)
    env = gym.make(episode.env_id, cameras=()).unwrapped
    try:
        options = {"task": episode.tasks[0], "scene": episode.scene, "instruction": episode.instructions[0]}
        if episode.variations:
            options["variations"] = episode.variations
        obs, _ = env.reset(seed=episode.seed, options=options)
        start = np.asarray(obs["robot_obs"], dtype=float).copy()
        agent = NoOpAgent()
        agent.bind(env, "ignored", "ignored")
        agent.reset(episode.instructions[0])
        for _ in range(60):
            obs, _, terminated, truncated, info = env.step(agent.act({}))
            assert not info["success"]
        assert env.untouched()
        moved = np.asarray(obs["robot_obs"], dtype=float) - start
        moved = (moved + np.pi) % (2 * np.pi) - np.pi  # angles wrap at +-pi
        assert np.all(np.abs(moved) < 0.02)  # the robot stayed too
    finally:
        env.close()


def test_noop_needs_the_environment():
    with pytest.raises(RuntimeError, match="bind"):
        NoOpAgent().reset("open the drawer")


def test_mean_sequence_per_step_over_the_runs_that_last():
    runs = [np.full((2, 1), 1.0), np.full((4, 1), 3.0), np.full((5, 1), 5.0)]
    mean = mean_sequence(runs)  # median length 4
    assert mean.shape == (4, 1)
    assert mean[:, 0].tolist() == [3.0, 3.0, 4.0, 4.0]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from gr_bench.collect import collect

    out = tmp_path_factory.mktemp("replay") / "data"
    collect("smoke", 2, out, **SMALL)  # gr-bench collect --suite smoke --episodes-per-task 2
    return out


class _Env:
    """Stands in for an environment: the replay control reads only its no-op action."""

    def no_op_action(self):
        return np.array([0, 0, 0, 0, 0, 0, 1.0])


def test_replay_reproduces_the_mean_sequence(dataset):
    episodes = pq.read_table(dataset / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    frames = pq.read_table(dataset / "data/chunk-000/file-000.parquet").to_pydict()
    actions = np.asarray(frames["action"], dtype=float)
    by_task: dict[str, list[np.ndarray]] = {}
    for e in episodes:
        rows = np.asarray(frames["episode_index"]) == e["episode_index"]
        by_task.setdefault(e["task_name"], []).append(actions[rows])
    assert len(by_task) > 1 and all(len(runs) == 2 for runs in by_task.values())

    agent = ReplayAgent(data=str(dataset))
    agent.bind(_Env(), "not-read", "train")
    for e in episodes:
        runs = by_task[e["task_name"]]
        length = int(np.median([len(r) for r in runs]))  # two runs: their mean length, rounded down
        expected = np.stack(
            [np.mean([r[t] for r in runs if len(r) > t], axis=0) for t in range(length)]
        )  # per step over the demonstrations that last that long
        agent.reset(e["tasks"][0])
        assert agent.task == e["task_name"]
        replayed = np.stack([agent.act({}) for _ in range(length)])
        np.testing.assert_allclose(replayed, expected, rtol=0, atol=1e-6)
        for _ in range(3):  # then it holds the environment's no-op
            assert np.array_equal(agent.act({}), _Env().no_op_action())


def test_replay_unknown_instruction(dataset):
    agent = ReplayAgent(data=str(dataset))
    known = next(iter(agent.instructions))
    task = agent.instructions[known]
    agent.reset("  " + known.upper() + " please ")  # case and spacing do not matter
    assert agent.task == task and agent.matched == known
    agent.reset(known + " right now")  # never seen: the known instruction sharing the most words
    assert agent.task == task and agent.matched == known
    strict = ReplayAgent(data=str(dataset), unknown_instruction="error")
    with pytest.raises(ValueError, match="is not in the replay dataset") as caught:
        strict.reset("juggle three oranges")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "config, message",
    [
        ({}, "needs a dataset: --set data=PATH"),
        ({"data": "/no/such/dataset"}, "is not a folder"),
        ({"data": "."}, "is not a LeRobot dataset"),
        ({"data": "DATASET", "unknown_instruction": "guess"}, "unknown_instruction must be one of"),
    ],
)
def test_bad_replay_config_is_one_line(config, message, dataset, tmp_path, capsys):
    from gr_bench.cli import main

    args = ["eval", "--agent", "replay", "--suite", "smoke", "--out", str(tmp_path / "run")]
    for key, value in config.items():
        args += ["--set", f"{key}={json.dumps(str(dataset) if value == 'DATASET' else value)}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_flags_reach_the_suite_listing(tmp_path, capsys):
    from gr_bench.blind_flags import listing_line, load_flags

    flags = {
        "suite": "seen",
        "version": 2,
        "tasks": {"close_drawer": {"flagged_by": ["replay"], "replay": {"successes": 4, "n": 6}}},
    }
    from envs.episodes import Episode

    def episode(task, headline=True):
        return Episode(task, "GRBench/Tabletop-v0", "A", (task,), ("x",), 0, "train", "none", headline=headline)

    line = listing_line([episode("open_drawer"), episode("close_drawer")], flags)
    assert line and "close_drawer (replay 4/6)" in line and "seen v2" in line
    assert listing_line([episode("open_drawer")], flags) is None
    # a suite that screened the flagged starts (v3) names what it scores beside the headline
    line = listing_line([episode("open_drawer"), episode("close_drawer", headline=False)], flags)
    assert line.startswith("beside the headline (blind-solvable whatever the start): close_drawer;")
    assert load_flags(tmp_path / "missing.json") is None
    committed = load_flags()
    if committed and committed["tasks"]:  # the committed table's flags are in the listing
        from gr_bench.cli import main

        assert main(["ls", "suites"]) == 0
        out = capsys.readouterr().out
        assert "blind-solvable tasks" in out and next(iter(committed["tasks"])) in out


class _SeedEnv:
    """A stand-in environment: the replay sequence solves it on seeds divisible by 3, the no-op on
    seeds divisible by 5; each episode ends after 4 steps."""

    max_steps = 4

    def reset(self, seed=None, options=None):
        self.seed, self.t = seed, 0
        return {}, {}

    def no_op_action(self):
        return np.zeros(1)

    def step(self, action):
        self.t += 1
        solved = (action[0] == 1 and self.seed % 3 == 0) or (self.seed % 5 == 0)
        return {}, 0.0, bool(solved), self.t >= self.max_steps, {"success": bool(solved)}

    def close(self):
        pass


def test_screen_moves_only_flagged_episodes_to_blind_failures():
    from dataclasses import replace

    from envs.blind_screen import screen_episodes, unscreened_tasks
    from envs.episodes import Episode

    base = Episode("e", "Fake-v0", "A", ("push",), ("push it",), 0, "train", "none", max_steps=None)
    episodes = [replace(base, episode_id=f"e{i}", seed=seed) for i, seed in enumerate((3, 5, 7))]
    other = replace(base, episode_id="o", tasks=("lift",), seed=3)
    made = []

    def make_env(env_id):
        made.append(env_id)
        return _SeedEnv()

    screened, log = screen_episodes(
        [*episodes, other], ["push"], {"push": np.ones((2, 1))}, make_env, require_expert=False
    )
    assert made == ["Fake-v0"] and screened[-1] is other  # unflagged: untouched, not simulated
    assert screened[2] is episodes[2] and log[2] == {"episode_id": "e2", "rejected": [], "passed": True, "seed": 7}
    for episode, entry in zip(screened[:2], log[:2], strict=True):
        assert entry["passed"] and episode.seed % 3 and episode.seed % 5 and episode.seed == entry["seed"]
        assert entry["rejected"][0]["seed"] in (3, 5)
    assert log[0]["rejected"][0]["by"] == ["replay"] and log[1]["rejected"][0]["by"] == ["noop", "replay"]
    again, _ = screen_episodes([*episodes, other], ["push"], {"push": np.ones((2, 1))}, make_env, require_expert=False)
    assert again == screened  # keyed: the same seeds every time
    several = {"push": [np.zeros((2, 1)), np.ones((2, 1))]}  # any of several motions rejects a state
    assert screen_episodes([*episodes, other], ["push"], several, make_env, require_expert=False)[0] == screened
    always = replace(base, episode_id="a", seed=15)
    stuck, stuck_log = screen_episodes([always], ["push"], {}, lambda env_id: _AlwaysEnv(), attempts=3)
    assert stuck == [always] and not stuck_log[0]["passed"] and len(stuck_log[0]["rejected"]) == 3
    assert unscreened_tasks([always, other], stuck_log) == ["push"] and unscreened_tasks(screened, log) == []


class _AlwaysEnv(_SeedEnv):
    """Solved by anything, whatever the seed (a fixture that a memorised motion always reaches)."""

    def step(self, action):
        return {}, 0.0, True, False, {"success": True}


def test_screen_rejects_an_initial_state_the_no_op_solves():
    """seen v2's place_in_drawer: the no-op solved 2 of 6 episodes (docs/blind_controls.md); the
    screen gives such an episode a state that the no-op does not solve and the expert does."""
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.blind_screen import expert_solves, open_loop_solves, screen_episodes
    from gr_bench.suites import get_suite

    def make_env(env_id):
        return gym.make(env_id, cameras=()).unwrapped

    env = make_env("GRBench/Tabletop-v0")
    candidates = [e for e in get_suite("seen", 2).episodes if e.tasks == ("place_in_drawer",)]
    solved = next(e for e in candidates if open_loop_solves(env, e))  # the no-op solves it
    [screened], [entry] = screen_episodes([solved], ["place_in_drawer"], {}, make_env)
    assert entry["passed"] and entry["rejected"][0] == {"seed": solved.seed, "by": ["noop"]}
    assert screened.seed != solved.seed and screened.scene == solved.scene
    assert not open_loop_solves(env, screened) and expert_solves(env, screened)
    env.close()


def test_nearest_instruction_weighs_object_names_over_template_words():
    agent = ReplayAgent.__new__(ReplayAgent)  # only the instruction table matters here
    agent.unknown_instruction, agent.data = "nearest", "table"
    agent.instructions = {
        "drop the bowl and the plate into the dish tub": "bowl_and_plate",  # unweighted, a tie won by order
        "put the cup and the bowl into the dish tub": "cup_and_bowl",
        "put the apple in the bin": "apple",
        "put the spoon in the tub": "spoon",
    }
    assert agent.task_of("drop the cup and the bowl into the dish tub")[0] == "cup_and_bowl"


def test_flags_reach_the_report():
    from gr_bench.blind_flags import report_lines

    flags = {
        "suite": "seen",
        "version": 2,
        "tasks": {"close_drawer": {"flagged_by": ["replay"], "replay": {"successes": 4, "n": 6}}},
    }
    per_task = {"close_drawer": {"successes": 6, "n": 6}, "open_drawer": {"successes": 1, "n": 6}}
    lines = report_lines(per_task, flags)
    assert lines[1] == "close_drawer: this agent 6/6, blind replay 4/6" and "seen v2" in lines[0]
    assert report_lines({"open_drawer": per_task["open_drawer"]}, flags) == []
