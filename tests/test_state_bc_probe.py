"""scripts/state_bc_probe.py: the privileged-state behaviour-cloning probe of docs/training.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "state_bc_probe.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


def test_probe_generates_trains_and_evaluates(tmp_path):
    done = run("--pool", "2", "--demos", "1", "--steps", "5", "--episodes", "1", "--chunk", "2", "--execute", "2",
               "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    demos = np.load(tmp_path / "demos-2.npz")
    # two successful demonstrations of each of the four tasks, every row labelled with its task
    assert len(np.unique(demos["episode"])) == 8
    assert sorted(np.unique(demos["task"]).tolist()) == [0, 1, 2, 3]
    assert demos["robot"].shape[1] == 15 and demos["scene"].shape[1] == 24 and demos["action"].shape[1] == 7
    result = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1])
    assert result["demos_per_task"] == 1 and result["chunk"] == 2 and result["episodes"] == 4
    assert 0 <= result["solved"] <= 4 and sum(result["per_task"].values()) == result["solved"]


def test_probe_bad_arguments_one_line(tmp_path):
    for args in (["--chunk", "2", "--execute", "3"], ["--demos", "600"]):
        done = run(*args, "--out", str(tmp_path))
        assert done.returncode != 0
        assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error:"), done.stderr
    assert not (tmp_path / "results.jsonl").exists()
