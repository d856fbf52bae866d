"""Regression corpus (issue 14): the evaluator never hangs, never mixes models, never loses a record."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gr_bench.evaluator import AgentStartError, RunDirectoryError, RunMismatchError, evaluate
from gr_bench.suites import get_suite

ROOT = Path(__file__).resolve().parents[1]


def _one():
    return get_suite("smoke").select(episodes=1)


def _two():
    return get_suite("smoke").select(episodes=2)


def _cli(*args, cwd=ROOT):
    """Run the CLI in a fresh process (the tests folder importable, as pytest has it)."""
    return subprocess.run(
        [sys.executable, "-m", "gr_bench.cli", *args],
        cwd=cwd,
        env={**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("gr-bench: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- agent code that exits, hangs or kills its process -------------------------------------------
@pytest.mark.parametrize(
    ("agent", "kind", "message"),
    [
        ("eval_agents:ExitingAgent", "agent_error", "sys.exit(3)"),
        ("eval_agents:HardExitingAgent", "agent_error", "os._exit(7)"),
        ("eval_agents:StringActionAgent", "malformed_action", "real numbers"),
        ("eval_agents:ComplexActionAgent", "malformed_action", "real numbers"),
    ],
)
def test_exits_and_bad_actions_fail_only_their_episode_in_process(tmp_path, agent, kind, message):
    results = evaluate(_two(), agent, tmp_path, progress=False)
    failures = [r["failure"] for r in results["episodes"]]
    assert [f["kind"] for f in failures] == [kind, kind]
    assert message in failures[0]["message"]


def test_time_limit_holds_when_the_agent_swallows_the_timeout(tmp_path):
    started = time.monotonic()
    results = evaluate(_one(), "eval_agents:TimeoutSwallowingAgent", tmp_path, time_limit=1.0, progress=False)
    assert results["episodes"][0]["failure"]["kind"] == "timeout"
    assert time.monotonic() - started < 60


def test_worker_that_dies_fails_its_episode_and_the_run_goes_on(tmp_path):
    results = evaluate(_two(), "eval_agents:SelfKillingAgent", tmp_path, workers=2, progress=False)
    failures = [r["failure"] for r in results["episodes"]]
    assert [f["kind"] for f in failures] == ["worker_died", "worker_died"]
    assert "SIGKILL" in failures[0]["message"] and "not retried" in failures[0]["message"]
    assert results["aggregates"]["failures"] == {"worker_died": 2}


def test_worker_that_ignores_the_time_limit_is_killed(tmp_path, monkeypatch):
    import gr_bench.evaluator as evaluator

    monkeypatch.setattr(evaluator, "KILL_GRACE", 1.0)
    results = evaluate(_two(), "eval_agents:NeverReturningAgent", tmp_path, workers=2, time_limit=3.0, progress=False)
    failures = [r["failure"] for r in results["episodes"]]
    assert {f["kind"] for f in failures} == {"timeout"}, failures
    # (under heavy load an episode may time out while its environment is built, before agent code runs)
    assert any("its worker was killed" in f["message"] for f in failures), failures


def test_in_process_agent_that_never_yields_stops_the_run_loudly_and_resumably(tmp_path):
    out = tmp_path / "run"
    proc = _cli(
        *("eval", "--agent", "eval_agents:NeverReturningAgent", "--suite", "smoke", "--episodes", "2"),
        *("--time-limit", "1", "--out", str(out)),
    )
    assert proc.returncode == 3 and "ignored the 1 s time limit" in proc.stderr and "--resume" in proc.stderr
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    # (under load the first episode may time out while its environment is built, before agent code runs)
    assert {r["failure"]["kind"] for r in records} == {"timeout"} and "ignored it" in records[-1]["failure"]["message"]


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("eval_agents:BrokenConstructorAgent", "cannot load my weights"),
        ("eval_agents:ExitingConstructorAgent", r"os._exit\(9\)"),
        ("eval_agents:SelfKillingConstructorAgent", "died while building it .killed by SIGKILL"),
    ],
)
def test_agent_that_cannot_be_built_fails_the_run(tmp_path, agent, message):
    with pytest.raises(AgentStartError, match=message):
        evaluate(_two(), agent, tmp_path, workers=2, progress=False)


def test_agent_that_exits_while_built_in_this_process_is_one_error():
    from gr_bench.agents import make_agent

    with pytest.raises(ValueError, match=r"os._exit\(9\)"):
        make_agent("eval_agents:ExitingConstructorAgent")


def test_cli_agent_that_cannot_be_built_is_one_line(tmp_path):
    proc = _cli(
        *("eval", "--agent", "eval_agents:BrokenConstructorAgent", "--suite", "smoke", "--episodes", "2"),
        *("--workers", "2", "--out", str(tmp_path / "run")),
    )
    assert "cannot load my weights" in _one_line_error(proc)


def test_workers_are_let_go_at_the_end_of_a_run(tmp_path):
    """Idle workers exit by themselves when the run is done: nothing leaks (no resource-tracker
    warning about semaphores the killed workers held)."""
    proc = _cli(
        *("eval", "--agent", "eval_agents:SemaphoreAgent", "--suite", "smoke", "--episodes", "2"),
        *("--workers", "2", "--out", str(tmp_path / "run")),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "leaked semaphore" not in proc.stderr


# --- run identity and the lock --------------------------------------------------------------------
def _fake_checkpoint(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"agent": "test"}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_checkpoint_sha256_is_the_sha256sum_listing(tmp_path):
    from agents.train.checkpoint import checkpoint_sha256

    folder = _fake_checkpoint(tmp_path / "ckpt", b"weights")
    listing = subprocess.run(
        "sha256sum config.json model.safetensors | sha256sum", shell=True, cwd=folder, capture_output=True, text=True
    ).stdout.split()[0]
    assert checkpoint_sha256(folder) == listing
    (folder / "model.safetensors").write_bytes(b"retrained")
    assert checkpoint_sha256(folder) != listing


def test_run_identity_includes_the_checkpoint_content(tmp_path):
    checkpoint = _fake_checkpoint(tmp_path / "ckpt", b"first")
    config = {"checkpoint": str(checkpoint)}
    agent = "eval_agents:ConfigurableAgent"
    results = evaluate(_one(), agent, tmp_path / "run", agent_config=config, progress=False)
    sha = results["agent"]["checkpoint_sha256"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["checkpoint_sha256"] == sha
    (checkpoint / "model.safetensors").write_bytes(b"retrained")  # same path, another model
    with pytest.raises(RunMismatchError, match="retrained"):
        evaluate(_one(), agent, tmp_path / "run", agent_config=config, progress=False)
    with pytest.raises(ValueError, match="same model"):
        evaluate(_one(), agent, tmp_path / "new", agent_config=config, reuse=tmp_path / "run", progress=False)


def test_reuse_knows_one_checkpoint_by_its_content_whatever_path_names_it(tmp_path):
    import shutil

    checkpoint = _fake_checkpoint(tmp_path / "ckpt", b"weights")
    agent = "eval_agents:ConfigurableAgent"
    evaluate(_one(), agent, tmp_path / "run", agent_config={"checkpoint": str(checkpoint)}, progress=False)
    copy = tmp_path / "elsewhere" / "ckpt"
    shutil.copytree(checkpoint, copy)  # the same model under another path
    results = evaluate(
        _one(), agent, tmp_path / "new", agent_config={"checkpoint": str(copy)}, reuse=tmp_path / "run", progress=False
    )
    assert results["reused"]["records"] == 1
    # other config fields still must match
    with pytest.raises(ValueError, match="same agent"):
        evaluate(
            _one(),
            agent,
            tmp_path / "other",
            agent_config={"checkpoint": str(copy), "blind": True},
            reuse=tmp_path / "run",
            progress=False,
        )


def test_second_process_on_the_same_out_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write("12345\n")
        f.flush()
        proc = _cli("eval", "--agent", "random", "--suite", "smoke", "--out", str(out))
    assert "another gr-bench process (pid 12345)" in _one_line_error(proc)
    assert not (out / "run.json").exists()


# --- resume ---------------------------------------------------------------------------------------
def test_resume_refuses_damage_before_the_last_line_and_deletes_nothing(tmp_path):
    suite = get_suite("smoke").select(episodes=3)
    evaluate(suite, "random", tmp_path, progress=False)
    (tmp_path / "results.json").unlink()
    log = tmp_path / "episodes.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    damaged = lines[0] + '{"episode_id": "smoke/x", "succ\n' + lines[2]
    log.write_text(damaged)
    with pytest.raises(RunDirectoryError, match="line 2"):
        evaluate(suite, "random", tmp_path, resume=True, progress=False)
    assert log.read_text() == damaged
    log.write_text(lines[0] + "[1, 2]\n")
    with pytest.raises(RunDirectoryError, match="line 2: not an episode record"):
        evaluate(suite, "random", tmp_path, resume=True, progress=False)


def test_resume_drops_only_a_half_written_last_line(tmp_path):
    suite = get_suite("smoke").select(episodes=2)
    evaluate(suite, "random", tmp_path, progress=False)
    (tmp_path / "results.json").unlink()
    log = tmp_path / "episodes.jsonl"
    first = log.read_text().splitlines(keepends=True)[0]
    log.write_text(first + first[:30])
    results = evaluate(suite, "random", tmp_path, resume=True, progress=False)
    assert len(results["episodes"]) == 2
    assert log.read_text().startswith(first) and log.read_text().count("\n") == 2


def test_hand_edited_record_of_the_wrong_shape_is_a_clear_error(tmp_path):
    suite = _one()
    evaluate(suite, "random", tmp_path, progress=False)
    (tmp_path / "results.json").unlink()
    record = json.loads((tmp_path / "episodes.jsonl").read_text())
    record["success"] = "yes"
    (tmp_path / "episodes.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(RunDirectoryError, match="success"):
        evaluate(suite, "random", tmp_path, resume=True, progress=False)


@pytest.mark.parametrize("content", ["[]", "{not json", '"text"'])
def test_damaged_run_json_is_a_clear_error(tmp_path, content):
    evaluate(_one(), "random", tmp_path, progress=False)
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(RunDirectoryError, match="run.json"):
        evaluate(_one(), "random", tmp_path, progress=False)


def test_out_that_is_a_file_or_unwritable(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match="a file is in the way"):
        evaluate(_one(), "random", tmp_path / "file", progress=False)
    with pytest.raises(RunDirectoryError, match="file is in the way|cannot create"):
        evaluate(_one(), "random", tmp_path / "file" / "sub", progress=False)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(RunDirectoryError, match="not writable"):
            evaluate(_one(), "random", locked, progress=False)
