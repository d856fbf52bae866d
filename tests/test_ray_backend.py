"""``gr-bench eval --backend ray``: the same records as the local backend, ``--resume`` across
backends, a killed worker's episode retried (bounded, recorded); and (slow) a real two-node Ray
cluster on loopback that the test starts and stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

from gr_bench.evaluator import evaluate  # noqa: E402
from gr_bench.suites import get_suite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TIMING = ("seconds", "agent_seconds", "env_seconds")


def _records(out: Path) -> list[dict]:
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    for r in records:
        for key in TIMING:
            r.pop(key)
    return sorted(records, key=lambda r: r["episode_id"])


@pytest.fixture(scope="module")
def ray_instance():
    """One small local Ray instance for the module (2 CPUs), shut down after it."""
    import ray

    from gr_bench.ray_backend import WORKER_ENV

    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {**WORKER_ENV, "PYTHONPATH": os.environ["PYTHONPATH"]}},
    )
    yield ray
    ray.shutdown()


def test_ray_records_equal_local_and_resume_crosses_backends(tmp_path, ray_instance):
    suite = get_suite("smoke").select(episodes=2)
    evaluate(suite, "random", tmp_path / "local", progress=False)
    evaluate(suite, "random", tmp_path / "ray", workers=2, backend="ray", progress=False)
    assert _records(tmp_path / "ray") == _records(tmp_path / "local")
    # a local run cut short (its last record lost) is finished on Ray, and the other way round
    for first, then in (("local", "ray"), ("ray", "local")):
        out = tmp_path / f"{first}-then-{then}"
        evaluate(suite, "random", out, backend=first, progress=False)
        log = out / "episodes.jsonl"
        log.write_text("".join(log.read_text().splitlines(keepends=True)[:1]))
        (out / "results.json").unlink()
        results = evaluate(suite, "random", out, resume=True, backend=then, workers=2, progress=False)
        assert len(results["episodes"]) == 2 and _records(out) == _records(tmp_path / "local")


def test_a_killed_worker_gets_its_episode_retried_and_recorded(tmp_path, ray_instance):
    suite = get_suite("smoke").select(episodes=2)
    config = {"marker": str(tmp_path / "deaths"), "times": 1}
    evaluate(
        suite,
        "serve_agents:DiesOnceAgent",
        tmp_path / "ray",
        agent_config=config,
        workers=2,
        backend="ray",
        progress=False,
    )
    records = _records(tmp_path / "ray")
    assert [r["failure"] for r in records] == [None, None]
    assert sorted(r.get("retries", 0) for r in records) == [0, 1]
    # the same episodes, nothing dying (its one death is claimed): the records but for retries
    evaluate(suite, "serve_agents:DiesOnceAgent", tmp_path / "local", agent_config=config, progress=False)
    assert [{k: v for k, v in r.items() if k != "retries"} for r in records] == _records(tmp_path / "local")


def test_retries_are_bounded(tmp_path, ray_instance):
    from gr_bench.ray_backend import MAX_RETRIES

    suite = get_suite("smoke").select(episodes=1)
    config = {"marker": str(tmp_path / "deaths"), "times": 99}
    evaluate(suite, "serve_agents:DiesOnceAgent", tmp_path / "run", agent_config=config, backend="ray", progress=False)
    (record,) = _records(tmp_path / "run")
    assert record["failure"]["kind"] == "worker_died" and record["retries"] == MAX_RETRIES
    assert len(list((tmp_path / "deaths").iterdir())) == MAX_RETRIES + 1


def test_an_agent_that_cannot_be_built_stops_the_run(tmp_path, ray_instance):
    from gr_bench.evaluator import AgentStartError

    suite = get_suite("smoke").select(episodes=1)
    with pytest.raises(AgentStartError, match="in a Ray actor"):
        evaluate(
            suite,
            "serve_agents:DiesOnceAgent",
            tmp_path / "run",
            agent_config={"nope": 1},
            backend="ray",
            progress=False,
        )


def test_address_without_ray_backend_is_one_line(tmp_path, capsys):
    from gr_bench.cli import main

    out = tmp_path / "run"
    assert main(["eval", "--agent", "random", "--suite", "smoke", "--address", "x:1", "--out", str(out)]) == 2
    assert "--address names a Ray cluster: it needs --backend ray" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_a_two_node_cluster_on_loopback(tmp_path):
    """A head and a second node (separate raylet processes) on 127.0.0.1, started and stopped here;
    ``gr-bench eval --backend ray --address`` runs on both nodes, a worker killed mid-episode
    included, and its records equal the local backend's."""
    from ray.cluster_utils import Cluster

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]  # the nodes' workers inherit it
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        config = json.dumps({"marker": str(tmp_path / "deaths"), "times": 1})
        common = ["--suite", "smoke", "--episodes", "4", "--agent", "serve_agents:DiesOnceAgent", "--agent-config"]
        ray_run = subprocess.run(
            [
                sys.executable,
                "-m",
                "gr_bench.cli",
                "eval",
                *common,
                config,
                "--backend",
                "ray",
                "--address",
                cluster.address,
                "--workers",
                "2",
                "--out",
                str(tmp_path / "ray"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ray_run.returncode == 0, ray_run.stderr[-3000:]
    finally:
        cluster.shutdown()
    local = subprocess.run(
        [sys.executable, "-m", "gr_bench.cli", "eval", *common, config, "--out", str(tmp_path / "local")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr[-3000:]
    ray_records = _records(tmp_path / "ray")
    assert sorted(r.get("retries", 0) for r in ray_records) == [0, 0, 0, 1]
    assert [{k: v for k, v in r.items() if k != "retries"} for r in ray_records] == _records(tmp_path / "local")


@pytest.mark.slow
def test_an_actor_ignoring_its_time_limit_is_killed(tmp_path, ray_instance):
    """Agent code that swallows the time-out: its actor is killed KILL_GRACE s past the limit, the
    episode recorded as a time-out, and the next episode runs on a new actor."""
    suite = get_suite("smoke").select(episodes=2)
    evaluate(suite, "eval_agents:NeverReturningAgent", tmp_path / "run", time_limit=1.0, backend="ray", progress=False)
    records = _records(tmp_path / "run")
    assert [r["failure"]["kind"] for r in records] == ["timeout", "timeout"]
    assert all("Ray actor was killed" in r["failure"]["message"] for r in records)
