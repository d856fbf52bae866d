"""Regression corpus (issue 14): training refuses what it should (a resume of another model or data, an
--init of another agent, out-of-range options) and a kill during the first checkpoint leaves a run
that starts again."""

import argparse

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from agents.train.checkpoint import load_weights, save_checkpoint  # noqa: E402
from agents.train.loop import TrainConfig, train  # noqa: E402


class TinyModel(nn.Module):
    def __init__(self, width: int = 3):
        super().__init__()
        self.layer = nn.Linear(width, 1)

    def loss(self, batch):
        loss = self.layer(batch).pow(2).mean()
        return loss, {"loss": loss.item()}


class TinyData(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        return torch.full((3,), float(index))


CONFIG = {"agent": "tiny", "model": {"width": 3}, "source": {"data": "data/a"}}
FAST = dict(steps=2, batch_size=2, warmup_steps=0, checkpoint_every=2, log_every=1, device="cpu")


def _train(out, checkpoint_config=CONFIG, **kwargs):
    return train(TinyModel(), TinyData(), TrainConfig(**FAST), out, checkpoint_config, progress=False, **kwargs)


@pytest.mark.parametrize(
    ("field", "value"), [("grad_clip", -1.0), ("grad_clip", 0.0), ("warmup_steps", -5), ("weight_decay", -0.1)]
)
def test_out_of_range_training_options(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{**FAST, field: value})


def test_negative_max_minutes(tmp_path):
    with pytest.raises(ValueError, match="--max-minutes"):
        _train(tmp_path / "run", max_minutes=-1)


def test_resume_with_other_data_or_model_is_refused(tmp_path):
    _train(tmp_path / "run")
    other_data = {**CONFIG, "source": {"data": "data/b"}}
    with pytest.raises(ValueError, match="other source"):
        _train(tmp_path / "run", other_data, resume=True)
    other_model = {**CONFIG, "model": {"width": 4}}
    with pytest.raises(ValueError, match="other model"):
        _train(tmp_path / "run", other_model, resume=True)
    # the same run resumes, also once the code describes its model with a field added since
    _train(tmp_path / "run", {**CONFIG, "model": {"width": 3, "dropout": 0.0}}, resume=True)


def test_init_from_another_agent_or_an_unfitting_checkpoint_is_refused(tmp_path):
    save_checkpoint(tmp_path / "other", {"agent": "gr3"}, TinyModel())
    with pytest.raises(ValueError, match="checkpoint of 'gr3', not tiny"):
        _train(tmp_path / "run", init=tmp_path / "other")
    save_checkpoint(tmp_path / "wide", {"agent": "tiny"}, nn.Sequential(nn.Linear(5, 2)))  # 0 tensors match
    with pytest.raises(ValueError, match="no tensor"):
        _train(tmp_path / "run2", init=tmp_path / "wide")


def test_corrupt_weights_are_a_clear_error(tmp_path):
    folder = save_checkpoint(tmp_path / "ckpt", {"agent": "tiny"}, TinyModel())
    (folder / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ValueError, match="damaged or not a safetensors file"):
        load_weights(TinyModel(), folder)
    (folder / "config.json").write_text("{cut sho")
    with pytest.raises(ValueError, match="config.json is damaged"):
        _train(tmp_path / "run", init=folder)


def test_kill_during_the_first_checkpoint_write_restarts_cleanly(tmp_path):
    out = tmp_path / "run"
    leftover = out / "checkpoints" / "step-0000002.tmp"
    leftover.mkdir(parents=True)
    (leftover / "config.json").write_text("{}")
    (out / "metrics.csv").write_text("loss,step\n0.5,1\n")
    with pytest.raises(ValueError, match="without --resume"):
        _train(out, resume=True)
    last = _train(out)
    assert last.name == "step-0000002" and not leftover.exists()
    assert [line.split(",")[-1] for line in (out / "metrics.csv").read_text().splitlines()[1:]] != ["1", "1"]


def test_seed_seeds_the_model_initialisation(tmp_path, monkeypatch):
    import agents.train.loop as loop
    from gr_bench import train as train_cli

    made = []

    def build(*args, **kwargs):
        made.append(TinyModel())
        return made[-1], TinyData(), CONFIG

    monkeypatch.setattr(train_cli, "build_for_training", build)
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: tmp_path)
    parser = argparse.ArgumentParser()
    train_cli.add_parser(parser.add_subparsers())
    for seed in (0, 1, 0):
        args = parser.parse_args(["train", "--agent", "gr1", "--seed", str(seed), "--out", str(tmp_path)])
        args.func(args)
    first, second, again = (m.layer.weight.detach() for m in made)
    assert torch.equal(first, again) and not torch.equal(first, second)


def test_train_without_torch_names_the_extra(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from gr_bench.cli import main\n"
        f"sys.exit(main(['train', '--agent', 'gr1', '--data', 'x', '--out', {str(tmp_path)!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "pip install -e '.[agents]'" in proc.stderr


def _train_to(steps, out):
    config = TrainConfig(**{**FAST, "steps": steps})
    return train(TinyModel(), TinyData(), config, out, CONFIG, progress=False, resume=True)


def test_each_checkpoint_records_the_cpu_seconds_of_the_run_so_far_across_a_resume(tmp_path, monkeypatch):
    """A run killed and resumed still says what its steps cost (the experiments' CPU budgets)."""
    import itertools
    import json

    from agents.train import loop

    clock = itertools.count(0.0, 10.0)  # a CPU clock that moves 10 s each time it is read
    monkeypatch.setattr(loop.time, "process_time", lambda: next(clock))
    first = _train(tmp_path / "run")
    resumed = _train_to(4, tmp_path / "run")
    cpu = {folder.name: json.loads((folder / "config.json").read_text())["cpu_seconds"] for folder in (first, resumed)}
    # each process reads the clock as often, so the resumed one adds as much as the first spent
    assert cpu["step-0000002"] > 0 and cpu["step-0000004"] == 2 * cpu["step-0000002"], cpu
    state = torch.load(resumed / "training_state.pt", weights_only=False)
    assert state["cpu_seconds"] == cpu["step-0000004"]
    # a checkpoint from before the count: the resumed run says it does not know, never a partial sum
    old = torch.load(resumed / "training_state.pt", weights_only=False)
    del old["cpu_seconds"]
    torch.save(old, resumed / "training_state.pt")
    last = _train_to(6, tmp_path / "run")
    assert json.loads((last / "config.json").read_text())["cpu_seconds"] is None
