"""The evaluator: end to end, worker-count determinism, crash and resume, failure isolation,
results schema, stable suite hashes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from gr_bench.evaluator import RunMismatchError, evaluate
from gr_bench.results import validate, wilson
from gr_bench.suites import get_suite

ROOT = Path(__file__).resolve().parents[1]


def _strip(records):
    from gr_bench.results import without_timing

    return without_timing(records)


def test_oracle_smoke_end_to_end(tmp_path):
    results = evaluate(get_suite("smoke"), "oracle", tmp_path, progress=False)
    assert results["aggregates"]["overall"]["rate"] == 1.0
    assert len(results["episodes"]) == len(get_suite("smoke").episodes)
    validate(results)
    assert json.loads((tmp_path / "results.json").read_text())["suite"]["hash"] == get_suite("smoke").hash


def test_results_identical_for_any_worker_count(tmp_path):
    from gr_bench.suites import Suite

    # three tabletop episodes and the shortest kind of tidy one (an impossible request, 200 steps)
    tidy = get_suite("ood-instruction").select(env="GRBench/Tidy-v0", task="put_toy_car_in_tub")
    suite = Suite(
        "mixed", 1, "", get_suite("seen").select(env="GRBench/Tabletop-v0", episodes=3).episodes + tidy.episodes
    )
    one = evaluate(suite, "random", tmp_path / "one", workers=1, progress=False)
    two = evaluate(suite, "random", tmp_path / "two", workers=2, progress=False)
    assert _strip(one["episodes"]) == _strip(two["episodes"])
    assert one["aggregates"] == two["aggregates"]


def test_kill_and_resume_loses_and_repeats_nothing(tmp_path):
    suite_args = ["--agent", "random", "--suite", "seen", "--env", "GRBench/Tabletop-v0", "--episodes", "6"]
    out = tmp_path / "run"
    env = {**os.environ, "MUJOCO_GL": "egl"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gr_bench.cli", "eval", *suite_args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = out / "episodes.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = log.read_text().count("\n")
    assert 2 <= finished_before < 6, "the run should have been killed part way"
    # the killed run may have left half a line: resume must cope
    with open(log, "a") as f:
        f.write('{"episode_id": "seen/none/tr')
    suite = get_suite("seen").select(env="GRBench/Tabletop-v0", episodes=6)
    results = evaluate(suite, "random", out, resume=True, progress=False)
    ids = [r["episode_id"] for r in results["episodes"]]
    assert sorted(ids) == sorted(e.episode_id for e in suite.episodes)
    assert len(ids) == len(set(ids))
    lines = log.read_text().splitlines()
    assert len(lines) == 6 and len({json.loads(line)["episode_id"] for line in lines}) == 6
    clean = evaluate(suite, "random", tmp_path / "clean", progress=False)
    assert _strip(results["episodes"]) == _strip(clean["episodes"])


def test_run_directory_rules(tmp_path):
    suite = get_suite("smoke").select(episodes=1)
    first = evaluate(suite, "random", tmp_path, progress=False)
    # a finished run of the same suite and agent is reported again, not re-run
    again = evaluate(suite, "random", tmp_path, progress=False)
    assert _strip(again["episodes"]) == _strip(first["episodes"])
    assert (tmp_path / "episodes.jsonl").read_text().count("\n") == 1
    with pytest.raises(RunMismatchError, match="suite"):
        evaluate(get_suite("seen").select(episodes=1), "random", tmp_path, resume=True, progress=False)
    with pytest.raises(RunMismatchError, match="agent"):
        evaluate(suite, "oracle", tmp_path, progress=False)
    (tmp_path / "results.json").unlink()  # as if the run had been killed
    with pytest.raises(RunMismatchError, match="--resume"):
        evaluate(suite, "random", tmp_path, progress=False)


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        ("eval_agents:RaisingAgent", "agent_error"),
        ("eval_agents:WrongShapeAgent", "malformed_action"),
        ("eval_agents:NaNAgent", "malformed_action"),
    ],
)
def test_agent_failures_are_isolated(tmp_path, agent, kind):
    suite = get_suite("smoke").select(episodes=2)
    results = evaluate(suite, agent, tmp_path, progress=False)
    assert [r["failure"]["kind"] for r in results["episodes"]] == [kind, kind]
    assert results["aggregates"]["failures"] == {kind: 2}
    assert not any(r["success"] for r in results["episodes"])


def test_slow_agent_times_out(tmp_path):
    results = evaluate(
        get_suite("smoke").select(episodes=1), "eval_agents:SleepyAgent", tmp_path, time_limit=1.0, progress=False
    )
    assert results["episodes"][0]["failure"]["kind"] == "timeout"


def test_physics_blow_up_fails_only_its_episode(tmp_path, monkeypatch):
    from envs.errors import PhysicsError
    from envs.tabletop.sim import PlayTableSim

    original = PlayTableSim.step
    calls = {"n": 0}

    def flaky_step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 40:  # once: resets step the simulator too, so this lands in some episode
            raise PhysicsError("simulated blow-up")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PlayTableSim, "step", flaky_step)
    results = evaluate(get_suite("smoke").select(episodes=2), "oracle", tmp_path, progress=False)
    kinds = [r["failure"]["kind"] if r["failure"] else None for r in results["episodes"]]
    assert kinds.count("physics") == 1 and kinds.count(None) == 1
    assert sum(r["success"] for r in results["episodes"]) == 1


def test_learned_agents_never_see_scene_obs(tmp_path):
    results = evaluate(get_suite("smoke").select(episodes=1), "eval_agents:PeekingAgent", tmp_path, progress=False)
    assert results["episodes"][0]["failure"] is None


def test_schema_rejects_tampered_results(tmp_path):
    results = evaluate(get_suite("smoke").select(episodes=1), "random", tmp_path, progress=False)
    results["aggregates"]["overall"]["rate"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validate(results)
    del results["suite"]["hash"]
    with pytest.raises(jsonschema.ValidationError):
        validate(results)


def test_unknown_agent_names_close_match():
    from gr_bench.agents import resolve

    with pytest.raises(ValueError, match="oracle"):
        resolve("oracel")


def test_suite_hashes_are_stable_across_processes():
    code = "from gr_bench.suites import get_suite; print(get_suite('seen').hash, get_suite('smoke').hash)"
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0].split() == [get_suite("seen").hash, get_suite("smoke").hash]


def test_wilson_interval():
    lo, hi = wilson(0, 10)
    assert lo == 0 and 0.25 < hi < 0.35
    lo, hi = wilson(10, 10)
    assert 0.65 < lo < 0.75 and hi == pytest.approx(1)
    assert wilson(0, 0) == (0.0, 1.0)


def test_long_horizon_chain_oracle(tmp_path):
    chains = get_suite("long-horizon").select(env="GRBench/Tabletop-v0", episodes=3)
    results = evaluate(chains, "oracle", tmp_path, progress=False)
    chains = results["aggregates"]["chains"]
    completed = [r["completed"] for r in results["episodes"]]
    assert chains["n"] == 3 and chains["avg_len"] == pytest.approx(sum(completed) / 3)
    assert max(completed) == 5  # the chain machinery carries the oracle through a whole chain
    assert chains["success_after"] == [sum(c >= k for c in completed) / 3 for k in range(1, 6)]
    per_protocol = results["aggregates"]["chains_per_axis"]
    assert sum(p["n"] for p in per_protocol.values()) == 3
    assert set(per_protocol) == {r["axis"] for r in results["episodes"]}


def test_cli_eval_and_report(tmp_path, capsys):
    from gr_bench.cli import main

    assert main(["eval", "--agent", "oracle", "--suite", "smoke", "--out", str(tmp_path)]) == 0
    assert "overall" in capsys.readouterr().out
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64") >= 1
    assert main(["report", str(tmp_path / "results.json"), "--compare", str(tmp_path / "results.json")]) == 0
    assert main(["eval", "--agent", "oracel", "--suite", "smoke", "--out", str(tmp_path / "x")]) == 2


def _invalid_suite():
    from envs.tabletop.tracks import ENV_ID as TABLETOP
    from envs.tabletop.tracks import INVALID_MAX_STEPS
    from gr_bench.suites import Episode, Suite

    episode = Episode(
        episode_id="test/invalid/0",
        env_id=TABLETOP,
        scene="A",
        tasks=("lift_red_block_table",),
        instructions=("lift the green block",),
        seed=5,
        instruction_category="invalid",
        axis="instruction",
        max_steps=INVALID_MAX_STEPS,
    )
    return Suite("test-invalid", 1, "one impossible request", (episode,))


@pytest.mark.parametrize(
    ("agent", "success", "status"),
    [
        ("oracle", True, "invalid"),
        ("eval_agents:StillAgent", True, "ongoing"),
        ("eval_agents:EagerOracle", False, "ongoing"),
    ],
)
def test_invalid_requests_succeed_by_refusing_or_touching_nothing(tmp_path, agent, success, status):
    results = evaluate(_invalid_suite(), agent, tmp_path, progress=False)
    record = results["episodes"][0]
    assert record["success"] is success and record["status"] == status


def test_results_say_where_the_wall_time_went(tmp_path):
    """act() latency per call and the agent's and environment's shares of the episodes' wall time."""
    from gr_bench.report import markdown, table

    results = evaluate(get_suite("smoke").select(episodes=2), "random", tmp_path, progress=False)
    for record in results["episodes"]:
        assert record["acts"] == record["steps"] > 0 and record["agent_seconds"] > 0 and record["env_seconds"] > 0
        assert record["agent_seconds"] + record["env_seconds"] <= record["seconds"]
    timing = results["timing"]
    assert timing["episodes"] == 2 and timing["act_ms"] > 0
    assert 0 < timing["agent_share"] < 1 and 0 < timing["env_share"] < 1
    assert timing["agent_share"] + timing["env_share"] <= 1
    assert "act() " in table(results) and "in the environment" in markdown(results)
