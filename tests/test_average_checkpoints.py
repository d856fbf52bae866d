"""scripts/average_checkpoints.py: uniform weight averaging of one run's checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from agents.train.checkpoint import save_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_checkpoints.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


class Tiny(nn.Module):
    def __init__(self, width: int = 3):
        super().__init__()
        self.linear = nn.Linear(2, width)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))


def checkpoint(folder: Path, value: float, count: int, agent: str = "gr2", width: int = 3) -> Path:
    model = Tiny(width)
    with torch.no_grad():
        model.linear.weight.fill_(value)
        model.linear.bias.fill_(-value)
        model.count.fill_(count)
    return save_checkpoint(folder, {"agent": agent, "step": count}, model)


def test_averages_floats_keeps_the_last_integers_and_config(tmp_path):
    a, b, c = (checkpoint(tmp_path / f"step-{i}", v, i) for i, v in ((1, 1.0), (2, 2.0), (3, 6.0)))
    done = run(str(a), str(b), str(c), "--out", str(tmp_path / "avg"))
    assert done.returncode == 0, done.stderr
    weights = load_file(str(tmp_path / "avg" / "model.safetensors"))
    assert torch.allclose(weights["linear.weight"], torch.full((3, 2), 3.0))
    assert torch.allclose(weights["linear.bias"], torch.full((3,), -3.0))
    assert int(weights["count"]) == 3  # an integer buffer is the last checkpoint's, not a mean
    config = json.loads((tmp_path / "avg" / "config.json").read_text())
    assert config["step"] == 3 and config["averaged_from"] == [str(a), str(b), str(c)]


def test_refuses_mixed_checkpoints_and_an_existing_out(tmp_path):
    a = checkpoint(tmp_path / "a", 1.0, 1)
    other_agent = checkpoint(tmp_path / "b", 1.0, 1, agent="gr1")
    other_shape = checkpoint(tmp_path / "c", 1.0, 1, width=4)
    for bad in (other_agent, other_shape):
        done = run(str(a), str(bad), "--out", str(tmp_path / "avg"))
        assert done.returncode == 2 and done.stderr.startswith("error:") and len(done.stderr.splitlines()) == 1
        assert not (tmp_path / "avg").exists()
    done = run(str(a), str(a), "--out", str(tmp_path / "a"))
    assert done.returncode == 2 and "exists" in done.stderr
    assert load_file(str(tmp_path / "a" / "model.safetensors"))["linear.weight"].eq(1.0).all()
