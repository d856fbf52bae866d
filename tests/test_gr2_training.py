"""GR-2 through ``gr-bench train``: the tokenizer (``--agent vqgan``), video pre-training, fine-tuning from the
pre-training checkpoint, resume, DDP, and the agent acting from what was trained."""

from __future__ import annotations

import csv
import json
import math

import pytest

pytest.importorskip("torch")

from gr_bench.cli import main  # noqa: E402


def _rows(run):
    with open(run / "metrics.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_train_the_tokenizer_on_collected_frames_and_resume(tmp_path):
    from agents.gr2.training import Frames, build_tokenizer

    data = tmp_path / "data"
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer",
                 "--out", str(data), "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    frames = Frames([str(data)], 32)
    assert len(frames) == 2 * len(frames.videos[0])  # both cameras' images, each a sample
    sample = frames[len(frames) - 1]  # a gripper image, resized like the static ones
    assert sample.shape == (3, 32, 32) and 0 <= sample.min() <= sample.max() <= 1

    run = tmp_path / "run"
    common = ["train", "--agent", "vqgan", "--videos", str(data), "--set", "image_size=32", "--batch-size", "4",
              "--warmup-steps", "1", "--log-every", "2", "--device", "cpu", "--out", str(run)]  # fmt: skip
    assert main([*common, "--steps", "4"]) == 0
    checkpoint = run / "checkpoints" / "step-0000004"
    assert (checkpoint / "model.safetensors").is_file()
    saved = json.loads((checkpoint / "config.json").read_text())
    assert saved["agent"] == "vqgan" and saved["model"]["image_size"] == 32 and saved["step"] == 4
    rows = _rows(run)
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(math.isfinite(float(r["psnr"])) and 0 < float(r["code_usage"]) <= 1 for r in rows)

    assert main([*common, "--steps", "6", "--resume"]) == 0  # continues from step 4
    assert (run / "checkpoints" / "step-0000006" / "model.safetensors").is_file()
    assert [int(r["step"]) for r in _rows(run)] == [2, 4, 6]

    # its weights are a GR-2 model's tokenizer; the options it does not take are refused
    from agents.gr2.tokenizer import VQGAN
    from agents.train.checkpoint import load_weights

    tokenizer, _, _ = build_tokenizer(overrides={"image_size": 32}, videos=[str(data)])
    assert isinstance(tokenizer, VQGAN)
    load_weights(tokenizer, run / "checkpoints" / "step-0000006")
    with pytest.raises(ValueError, match="--videos"):
        build_tokenizer()
    with pytest.raises(ValueError, match="--tasks"):
        build_tokenizer(videos=[str(data)], tasks=["open_drawer"])


# --- GR-2's stages ----------------------------------------------------------------------------------
SMALL = {"layers": 1, "hidden": 64, "heads": 2, "history": 2, "chunk": 3, "cvae_hidden": 32, "latent_dim": 8}
TRAIN = ["--batch-size", "2", "--warmup-steps", "1", "--log-every", "1", "--device", "cpu"]


def _sets(fields: dict) -> list[str]:
    return [arg for key, value in fields.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A collected dataset, a 2-step tokenizer, 3 steps of pre-training on its video (seed 1), 3 of
    fine-tuning from it (seed 0)."""
    root = tmp_path_factory.mktemp("gr2")
    paths = {name: root / name for name in ("data", "vqgan", "pretrain", "finetune")}
    data = str(paths["data"])
    assert main(["collect", "--suite", "smoke", "--episodes-per-task", "1", "--tasks", "open_drawer", "--out", data,
                 "--workers", "1", "--size", "48", "--gripper-size", "32"]) == 0  # fmt: skip
    assert main(["train", "--agent", "vqgan", "--videos", data, "--set", "image_size=32", "--steps", "2", *TRAIN,
                 "--out", str(paths["vqgan"])]) == 0  # fmt: skip
    assert main(["train", "--agent", "gr2", "--stage", "pretrain", "--videos", data, "--tokenizer", str(paths["vqgan"]),
                 "--steps", "3", *TRAIN, *_sets(SMALL), "--seed", "1",
                 "--out", str(paths["pretrain"])]) == 0  # fmt: skip
    assert main(["train", "--agent", "gr2", "--stage", "finetune", "--data", data, "--init", str(paths["pretrain"]),
                 "--steps", "3", *TRAIN, "--out", str(paths["finetune"])]) == 0  # fmt: skip
    return paths


def _overrides() -> dict:
    from gr_bench.train import parse_overrides

    return parse_overrides([f"{k}={json.dumps(v)}" for k, v in SMALL.items()])


def _last(run):
    from agents.train.checkpoint import resolve_checkpoint

    return resolve_checkpoint(run)


def _weights(run) -> dict:
    from safetensors.torch import load_file

    return load_file(str(_last(run) / "model.safetensors"))


def test_pretrain_on_video_then_finetune_from_it(runs):
    import torch

    from agents.gr2.training import build
    from agents.train.checkpoint import checkpoint_sha256

    pre = json.loads((_last(runs["pretrain"]) / "config.json").read_text())
    tokenizer = {"checkpoint": str(runs["vqgan"]), "sha256": checkpoint_sha256(runs["vqgan"]), "step": 2}
    assert pre["agent"] == "gr2" and pre["stage"] == "pretrain" and pre["step"] == 3 and pre["normalizer"] is None
    assert pre["model"]["image_size"] == 32 and not pre["model"]["action_loss"]  # the tokenizer's size, video only
    assert pre["source"]["tokenizer"] == tokenizer and pre["source"]["videos"] == [str(runs["data"])]
    rows = _rows(runs["pretrain"])
    assert [int(r["step"]) for r in rows] == [1, 2, 3] and "arm_loss" not in rows[0]
    assert all(0 <= float(r["token_acc_rgb_static"]) <= 1 and math.isfinite(float(r["loss"])) for r in rows)

    ft = json.loads((_last(runs["finetune"]) / "config.json").read_text())
    assert ft["stage"] == "finetune" and ft["model"]["action_loss"] and ft["normalizer"]
    assert ft["model"] == {**pre["model"], "action_loss": True}  # the model is --init's, with the actions on
    assert ft["source"]["tokenizer"] == tokenizer and ft["source"]["init"] == str(runs["pretrain"])
    assert {"arm_loss", "gripper_loss", "kl", "video_loss_rgb_static"} <= set(_rows(runs["finetune"])[0])

    # the tokenizer travels inside every GR-2 checkpoint: the fine-tuned one holds the VQGAN's weights,
    # which only --init's checkpoint can have brought (no --tokenizer was given)
    vqgan, finetuned, pretrained = _weights(runs["vqgan"]), _weights(runs["finetune"]), _weights(runs["pretrain"])
    assert set(vqgan) and all(torch.equal(finetuned[f"tokenizer.{k}"], v) for k, v in vqgan.items())
    # the trunk started from the pre-trained one (seed 1), not from a fresh initialisation (seed 0)
    torch.manual_seed(0)
    fresh, _, _ = build(overrides=_overrides(), stage="finetune", data=str(runs["data"]), tokenizer=str(runs["vqgan"]))
    key = "blocks.0.attn.qkv.weight"
    moved = (finetuned[key] - pretrained[key]).abs().max()
    assert moved < 0.01 < (finetuned[key] - fresh.state_dict()[key]).abs().max()


def test_finetuning_windows_carry_the_frozen_tokenizers_codes_and_train_as_the_frames_would(runs):
    """Fine-tuning reads each frame's codes from a cache (``CodedWindows``): the same codes the tokenizer gives
    the window's frames, and the same loss as training on the frames themselves."""
    import torch
    from torch.utils.data import default_collate

    from agents.gr2.training import CodedWindows, build

    torch.manual_seed(0)
    model, dataset, _ = build(
        overrides=_overrides(), stage="finetune", data=str(runs["data"]), tokenizer=str(runs["vqgan"])
    )
    assert isinstance(dataset, CodedWindows) and "0 episodes encoded" in repr(dataset)
    model.eval()
    indices = [0, 1, len(dataset) // 2, len(dataset) - 1]  # the first two windows are left-padded
    coded = default_collate([dataset[i] for i in indices])
    framed = default_collate([dataset.windows[i] for i in indices])
    assert "rgb_static" not in coded and coded["codes"].shape == (4, model.config.history, model.frame_tokens)
    valid = framed["history_mask"]
    assert not valid.all()
    assert torch.equal(coded["codes"][valid], model.frame_codes(framed)[valid])
    with torch.no_grad():
        a, b = model.loss(coded)[1], model.loss(framed)[1]
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-5 for k in a), (a, b)


def test_video_batches_never_touch_the_action_head(runs):
    """Pre-training batches carry no actions and the loss has no action term: the cVAE head gets no
    gradient, so AdamW (weight decay included) leaves it exactly as it was initialised."""
    import torch

    from agents.gr2.training import build

    torch.manual_seed(1)  # as `gr-bench train --seed 1` seeded the pre-training run's initial weights
    model, dataset, _ = build(
        overrides=_overrides(),
        stage="pretrain",
        videos=[str(runs["data"])],
        tokenizer=str(runs["vqgan"]),
    )
    assert not model.config.action_loss and "actions" not in dataset[0]
    pretrained = _weights(runs["pretrain"])
    head = {k: v for k, v in model.state_dict().items() if k.startswith("action_head.")}
    assert head and all(torch.equal(pretrained[k], v) for k, v in head.items())  # 3 steps later, untouched
    assert not torch.equal(pretrained["frame_head.weight"], model.frame_head.weight.detach())  # the rest trained

    batch = torch.utils.data.default_collate([dataset[0], dataset[1]])
    batch["actions"] = torch.ones(2, model.config.history, model.config.chunk, 7)  # even if a batch had actions
    loss, metrics = model.loss(batch)
    loss.backward()
    assert not {"arm_loss", "gripper_loss", "kl"} & set(metrics)
    assert all(p.grad is None for p in model.action_head.parameters())
    assert model.frame_head.weight.grad is not None


def test_resume_and_the_options_gr2_refuses(runs, tmp_path, capsys):
    args = ["train", "--agent", "gr2", "--stage", "finetune", "--data", str(runs["data"]), "--init",
            str(runs["pretrain"]), *TRAIN]  # fmt: skip
    run = tmp_path / "ft"
    assert main([*args, "--steps", "4", "--checkpoint-every", "2", "--out", str(run)]) == 0
    import shutil

    shutil.rmtree(run / "checkpoints" / "step-0000004")  # as if killed after step 2's checkpoint
    (run / "checkpoints" / "last").write_text("step-0000002")
    assert main([*args, "--steps", "4", "--checkpoint-every", "2", "--out", str(run), "--resume"]) == 0
    assert [int(r["step"]) for r in _rows(run)] == [1, 2, 3, 4]
    assert (run / "checkpoints" / "step-0000004" / "model.safetensors").is_file()

    capsys.readouterr()
    refused = {
        "GR-2 trains on a frozen VQGAN tokenizer": ["--stage", "pretrain", "--videos", str(runs["data"])],
        "is a checkpoint of 'gr2', not vqgan": [
            "--stage",
            "pretrain",
            "--videos",
            str(runs["data"]),
            "--tokenizer",
            str(runs["pretrain"]),
        ],  # fmt: skip
        "contradicts the tokenizer": [
            "--stage",
            "pretrain",
            "--videos",
            str(runs["data"]),
            "--tokenizer",
            str(runs["vqgan"]),
            "--set",
            "image_size=64",
        ],  # fmt: skip
        "is a checkpoint of 'vqgan', not gr2": ["--data", str(runs["data"]), "--init", str(runs["vqgan"])],
        "plain video is for --stage pretrain": [
            "--data",
            str(runs["data"]),
            "--videos",
            str(runs["data"]),
            "--init",
            str(runs["pretrain"]),
        ],  # fmt: skip
        "the tokenizer of --init": [
            "--data",
            str(runs["data"]),
            "--init",
            str(runs["pretrain"]),
            "--set",
            "codebook_size=64",
        ],  # fmt: skip
        "gr1's training takes no --tokenizer": ["--tokenizer", str(runs["vqgan"])],
    }
    for message, extra in refused.items():
        agent = "gr1" if "gr1" in message else "gr2"
        assert main(["train", "--agent", agent, *extra, "--out", str(tmp_path / "x")]) == 2, message
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()

    # --tokenizer beside --init must be the tokenizer that --init was trained with
    from agents.gr2.training import build
    from agents.train.checkpoint import resolve_checkpoint

    data, pre = str(runs["data"]), str(runs["pretrain"])
    model, _, _ = build(stage="finetune", data=data, init=pre, tokenizer=str(runs["vqgan"]))
    assert model.config.action_loss and model.config.image_size == 32
    other = tmp_path / "other-vqgan"
    shutil.copytree(resolve_checkpoint(runs["vqgan"]), other)
    saved = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**saved, "step": 99}))  # another checkpoint: another sha256
    with pytest.raises(ValueError, match="leave out --tokenizer"):
        build(stage="finetune", data=data, init=pre, tokenizer=str(other))


def test_the_agent_acts_from_the_finetuned_checkpoint(runs, tmp_path, capsys):
    import gymnasium as gym
    import numpy as np

    from agents.gr2.agent import GR2Agent
    from envs.family import family_named

    env = gym.make("GRBench/Tabletop-v0").unwrapped
    obs, _ = env.reset(seed=0, options={"task": "open_drawer"})
    obs = {k: v for k, v in obs.items() if k != "scene_obs"}
    chunk = 3
    plans = []
    for execute_steps in (None, 1):
        agent = GR2Agent(str(runs["finetune"]), execute_steps=execute_steps)
        agent.bind_action_space(env.action_space)
        agent.reset(obs["instruction"])
        actions = np.stack([agent.act(obs) for _ in range(chunk + 1)])
        assert actions.shape == (chunk + 1, 7) and np.isfinite(actions).all()
        assert set(np.unique(actions[:, 6])) <= {-1.0, 1.0}  # the gripper from its logit's sign
        plans.append(actions)
    assert np.array_equal(plans[0][0], plans[1][0])  # the same first plan: the prior's mean, no sampling
    assert len(agent._history) == 2  # the history window (history=2) keeps the newest observations
    with pytest.raises(ValueError, match="tabletop arm"):
        agent.bind_action_space(gym.make(family_named("GRBench/Tidy-v0").env_id).unwrapped.action_space)
    with pytest.raises(ValueError, match="fine-tune it on demonstrations"):
        GR2Agent(str(runs["pretrain"]))

    # through the CLI: another agent's checkpoint is one line and no run folder
    capsys.readouterr()
    out = tmp_path / "eval"
    wrong = ["--checkpoint", str(runs["vqgan"])]
    assert main(["eval", "--agent", "gr2", *wrong, "--suite", "smoke", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is a checkpoint of 'vqgan', not gr2" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_act_plans_on_a_left_padded_window_as_training_does(runs):
    """With ``execute_steps=1`` the agent plans at every step: its action at step n is the first of the
    chunk the model gives for a training window left-padded to ``history`` (the prior's mean)."""
    import numpy as np
    import torch

    from agents.gr2.agent import GR2Agent

    agent = GR2Agent(str(runs["finetune"]), execute_steps=1)
    model, norm, t = agent.model, agent.normalizer, agent.config.history
    rng = np.random.default_rng(1)
    sizes = {"rgb_static": 40, "rgb_gripper": 24}
    frames = [
        {cam: rng.integers(0, 256, (n, n, 3), dtype=np.uint8) for cam, n in sizes.items()}
        | {"robot_obs": rng.normal(size=15).astype(np.float32)}
        for _ in range(t + 2)
    ]
    agent.reset("open the drawer")
    for n, obs in enumerate(frames, start=1):
        got = agent.act(obs)
        window = frames[max(0, n - t) : n]
        pad = t - len(window)
        batch = {cam: torch.zeros(1, t, 3, size, size, dtype=torch.uint8) for cam, size in sizes.items()}
        batch |= {"state": torch.zeros(1, t, 15), "history_mask": torch.zeros(1, t, dtype=torch.bool)}
        for i, o in enumerate(window):
            for cam in sizes:
                batch[cam][0, pad + i] = torch.from_numpy(o[cam]).permute(2, 0, 1)
            batch["state"][0, pad + i] = torch.from_numpy(norm.normalize("observation.state", o["robot_obs"]))
            batch["history_mask"][0, pad + i] = True
        batch["instruction"] = ["open the drawer"]
        with torch.no_grad():
            pred = model(batch, with_actions=False)
        arm = norm.unnormalize("action", torch.cat([pred["arm"][0, -1, 0], torch.zeros(1)]).numpy())[:6]
        np.testing.assert_allclose(got[:6], arm, rtol=1e-4, atol=1e-5)
        assert got[6] == (1.0 if pred["gripper"][0, -1, 0] > 0 else -1.0)
    agent.reset("close the drawer")
    assert len(agent._history) == 0  # the history is per task


def test_temporal_ensembling_averages_the_chunks_that_cover_a_step(runs):
    """``ensemble=m``: a plan at every step, and the action at step n is the mean of what the chunks
    planned at steps n-k (k < chunk) give for step n, weighted exp(-m * i) from the oldest; the
    gripper is the sign of its mean. Checked against the chunks the agent's own model plans."""
    import numpy as np

    from agents.gr2.agent import GR2Agent

    m = 0.5
    plain, ensembled = GR2Agent(str(runs["finetune"]), execute_steps=1), GR2Agent(str(runs["finetune"]), ensemble=m)
    chunk = ensembled.config.chunk
    planned = []  # every chunk the ensembling agent plans, un-normalised, in order
    inner = ensembled._ensembled
    ensembled._ensembled = lambda actions: (planned.append(actions.copy()), inner(actions))[1]
    rng = np.random.default_rng(2)
    frames = [
        {"rgb_static": rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)}
        | {"rgb_gripper": rng.integers(0, 256, (24, 24, 3), dtype=np.uint8), "robot_obs": rng.normal(size=15)}
        for _ in range(chunk + 3)
    ]
    plain.reset("open the drawer")
    ensembled.reset("open the drawer")
    for n, obs in enumerate(frames):
        first = plain.act(obs)
        got = ensembled.act(obs)
        np.testing.assert_allclose(planned[n][0, :6], first[:6], rtol=1e-4, atol=1e-5)  # the same plan
        covering = [(planned[s][n - s], n - s) for s in range(max(0, n - chunk + 1), n + 1)]  # oldest first
        weights = np.exp(-m * np.arange(len(covering)))
        mean = weights @ np.stack([a for a, _ in covering]) / weights.sum()
        np.testing.assert_allclose(got[:6], mean[:6], rtol=1e-6)
        assert got[6] == (1.0 if mean[6] > 0 else -1.0)
    assert len(ensembled._chunks) == chunk
    ensembled.reset("close the drawer")
    assert not ensembled._chunks
    with pytest.raises(ValueError, match="weight decay"):
        GR2Agent(str(runs["finetune"]), ensemble=-1.0)
    with pytest.raises(ValueError, match="leave execute_steps out"):
        GR2Agent(str(runs["finetune"]), ensemble=0.01, execute_steps=3)


def test_finetune_data_parallel_on_cpu_with_gloo(runs, tmp_path):
    """Two processes under torchrun (gloo) fine-tune through the CLI; the frozen tokenizer, held as buffers,
    is the same on both ranks and in the checkpoint."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import torch

    with socket.socket() as probe:  # a free port, so concurrent runs of the suite do not collide
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
           "-m", "gr_bench.cli", "train", "--agent", "gr2", "--data", str(runs["data"]),
           "--init", str(runs["pretrain"]), "--steps", "2", *TRAIN, "--out", str(out)]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    weights = _weights(out)
    vqgan = _weights(runs["vqgan"])
    assert all(torch.equal(weights[f"tokenizer.{k}"], v) for k, v in vqgan.items())
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_the_video_figures_script_on_held_out_frames(runs, tmp_path):
    """scripts/gr2_frames.py: PSNR, next-frame token accuracy beside copying the last frame, and the picture."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "gr2_frames.py"
    out, figures = tmp_path / "frames.png", tmp_path / "frames.json"
    args = ["--checkpoint", str(runs["finetune"]), "--data", str(runs["data"]), "--samples", "6", "--pictures", "1"]
    done = subprocess.run(
        [sys.executable, str(script), *args, "--out", str(out), "--json", str(figures)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads(figures.read_text())
    assert saved["windows"] == 6 and out.stat().st_size > 1000
    for cam in ("rgb_static", "rgb_gripper"):
        assert 0 < saved[f"psnr_{cam}"] < 60
        assert 0 <= saved[f"token_acc_{cam}"] <= 1 and 0 <= saved[f"copy_last_acc_{cam}"] <= 1
