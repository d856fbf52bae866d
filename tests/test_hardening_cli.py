"""Regression corpus (issue 14): bad input is one clear line and a non-zero exit, never a traceback or
silently accepted; a newcomer's first hour (headless rendering, agents in the current folder)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import reset

from gr_bench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("gr-bench: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "tidy"], "Did you mean 'GRBench/Tidy-v0'"),
        (["--task", "open_drawer,opn_drawer"], "'opn_drawer'. Did you mean 'open_drawer'"),
        (["--axis", "lightning"], "axis 'lightning'"),
        (["--category", "invalidd"], "Did you mean 'invalid'"),
        (["--episodes", "0"], "--episodes must be at least 1"),
        (["--agent-config", "{bad"], "--agent-config is not JSON"),
        (["--agent-config", "[1]"], "JSON object"),
        (["--time-limit", "-1"], "time limit"),
    ],
)
def test_eval_bad_options_are_one_line(tmp_path, capsys, args, message):
    suite = "ood-instruction" if "--category" in args else "seen"
    assert main(["eval", "--agent", "random", "--suite", suite, *args, "--out", str(tmp_path / "run")]) == 2
    assert message in _error(capsys)


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["eval", "--agent", "random", "--suite", "smoke", "--out", str(tmp_path / "file")]) == 2
    assert "a file is in the way" in _error(capsys)


@pytest.mark.parametrize("content", ["[1, 2]", '{"suite": 3}', "{cut"])
def test_report_of_a_wrong_shaped_results_file_is_one_line(tmp_path, capsys, content):
    path = tmp_path / "results.json"
    path.write_text(content)
    assert main(["report", str(path)]) == 2
    assert str(path) in _error(capsys)


def test_leaderboard_file_with_infinity_is_one_line(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text('{"schema_version": 2, "x": Infinity}')
    assert main(["leaderboard", "validate", str(path)]) == 2
    assert "Infinity" in _error(capsys)


def test_agent_module_in_the_current_directory(tmp_path):
    gr_bench = Path(sys.executable).with_name("gr-bench")
    if not gr_bench.exists():
        pytest.skip("the gr-bench console script is not installed beside this Python")
    (tmp_path / "my_pkg").mkdir()
    (tmp_path / "my_pkg" / "__init__.py").write_text("")
    (tmp_path / "my_pkg" / "policy.py").write_text(
        "import numpy as np\n\nclass MyAgent:\n    def reset(self, instruction):\n        pass\n\n"
        "    def act(self, observation):\n        return np.r_[np.zeros(6), 1.0]\n"
    )
    args = ["eval", "--agent", "my_pkg.policy:MyAgent", "--suite", "smoke", "--episodes", "1", "--out", "run"]
    proc = subprocess.run(
        [str(gr_bench), *args],
        cwd=tmp_path,
        env={**os.environ, "MUJOCO_GL": "egl"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "results.json").exists()


def test_agent_help_says_where_modules_come_from(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "current directory" in capsys.readouterr().out


def test_import_envs_picks_a_headless_backend_and_says_so():
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY")}
    code = (
        "import os, envs, gymnasium as gym\n"
        "env = gym.make('GRBench/Tabletop-v0', resolution={'static': 32, 'gripper': 32})\n"
        "obs, _ = env.reset(seed=0, options={'task': 'open_drawer', 'instruction': 'open the drawer'})\n"
        "print(os.environ['MUJOCO_GL'], obs['rgb_static'].shape)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    backend = proc.stdout.split()[0]
    assert backend in ("egl", "osmesa") and f"MUJOCO_GL={backend}" in proc.stderr


@pytest.mark.parametrize("instruction", ["x" * 513, "open\x00 the drawer", "open the drawer \U0001f600"])
def test_instructions_outside_the_declared_space_are_refused(env, instruction):
    with pytest.raises(ValueError, match="instruction"):
        reset(env, 0, task="open_drawer", instruction=instruction)


@pytest.mark.parametrize("action", [["0.1"] * 7, np.zeros(7) + 1j, "abcdefg", [None] * 7])
def test_string_complex_and_object_actions_are_refused(env, action):
    reset(env, 0, task="open_drawer")
    with pytest.raises(ValueError, match="real numbers"):
        env.step(action)


def test_tidy_env_refuses_them_too():
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make("GRBench/Tidy-v0", cameras=()).unwrapped
    with pytest.raises(ValueError, match="instruction"):
        env.reset(seed=0, options={"instruction": "y" * 600})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="real numbers"):
        env.step(np.zeros(env.action_space.shape) + 1j)
    env.close()


def test_ctrl_c_during_a_collection_is_one_line_and_resumes(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a long collection with one line
    and exit 130; the same command then finishes it."""
    import signal
    import time

    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "gr_bench.cli", "collect", "--suite", "seen", "--tasks", "open_drawer",
           "--episodes-per-task", "12", "--workers", "2", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "MUJOCO_GL": "egl"}
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        # as a terminal starts it: with SIGINT's default action (a test suite run as a background job,
        # `pytest &`, inherits SIGINT ignored, and so would the collection)
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stderr=stderr,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 120
        while "1/12" not in log.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)  # the first demonstration is in
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    err = log.read_text()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "collect interrupted" in err and "run the same command again" in err
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "meta" / "info.json").is_file()
