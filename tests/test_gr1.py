"""GR-1: attention mask, losses, training loop, checkpoints, resume, the agent's history, sizes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from agents.gr1.config import PRESETS, GR1Config  # noqa: E402
from agents.gr1.layers import trunk_mask  # noqa: E402
from agents.weights import count_parameters  # noqa: E402
from tests.tiny_models import make_clip_text, make_vit_mae  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
T, S = 3, 32  # history, image size


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoders")
    return make_clip_text(folder / "clip"), make_vit_mae(folder / "vit", image_size=S, patch_size=8)


def tiny_config(encoders, **overrides) -> GR1Config:
    clip, vit = encoders
    base = PRESETS["tiny"].with_overrides(
        {
            "text_encoder": str(clip),
            "vision_encoder": str(vit),
            "vision_config": {},
            "freeze_vision": False,
            "image_size": S,
            "history": T,
            "hidden": 32,
            "layers": 2,
            "heads": 2,
            "resampler_latents": 3,
            "decoder_hidden": 32,
            "decoder_heads": 2,
        }
    )
    return base.with_overrides(overrides)


class Windows(torch.utils.data.Dataset):
    """Random but fixed training windows with the keys agents.data.EpisodeWindows serves."""

    def __init__(self, n: int = 16, seed: int = 0, chunk: int = 1):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        for i in range(n):
            mask = torch.ones(T, dtype=torch.bool)
            mask[: i % T] = False  # some windows start at an episode start (left padding)
            self.items.append(
                {
                    "rgb_static": torch.randint(0, 256, (T, 3, S, S), generator=g, dtype=torch.uint8),
                    "rgb_gripper": torch.randint(0, 256, (T, 3, S, S), generator=g, dtype=torch.uint8),
                    "future_rgb_static": torch.randint(0, 256, (T, 3, S, S), generator=g, dtype=torch.uint8),
                    "future_rgb_gripper": torch.randint(0, 256, (T, 3, S, S), generator=g, dtype=torch.uint8),
                    "state": torch.randn(T, 15, generator=g),
                    "actions": torch.cat(
                        [
                            torch.randn(T, chunk, 6, generator=g),
                            torch.randint(0, 2, (T, chunk, 1), generator=g) * 2.0 - 1,
                        ],
                        -1,
                    ),
                    "history_mask": mask,
                    "future_mask": mask.clone(),
                    "action_mask": mask[:, None].expand(T, chunk).clone(),
                    "instruction": ["open the drawer", "move the slider left"][i % 2],
                }
            )

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _normalizer():
    from agents.data.normalize import Normalizer

    return Normalizer(
        {"observation.state": [0.0] * 15, "action": [0.0] * 7},
        {"observation.state": [1.0] * 15, "action": [0.5] * 6 + [1.0]},
    )


def _checkpoint_config(config: GR1Config) -> dict:
    return {"agent": "gr1", "stage": "finetune", "model": config.to_dict(), "normalizer": _normalizer().to_dict()}


# --- the attention mask ---------------------------------------------------------------------------
def test_no_token_attends_to_a_query_token():
    steps, per_step = 3, 5
    is_query = torch.tensor([False, False, False, True, True])
    history = torch.tensor([[False, True, True]])  # the first step is padding
    mask = trunk_mask(history, per_step, is_query)[0]  # (15, 15)
    length = steps * per_step
    for i in range(length):
        for j in range(length):
            step_j = j // per_step
            expected = j <= i and not is_query[j % per_step] and bool(history[0, step_j])
            assert bool(mask[i, j]) == (expected or i == j), (i, j)
    # a query token still reads every observation token before it, in its own and earlier real steps
    act = length - 1
    assert mask[act, per_step : length - 2].tolist() == [True, True, True, False, False, True, True, True]


def test_queries_do_not_change_the_sequence(encoders):
    """Outputs at observation tokens do not depend on the query embeddings (nobody attends to them)."""
    from agents.gr1.model import GR1

    torch.manual_seed(0)
    model = GR1(tiny_config(encoders)).eval()
    batch = Windows(2)[0]
    batch = {k: (v[None] if isinstance(v, torch.Tensor) else [v]) for k, v in batch.items()}
    with torch.no_grad():
        images = {c: model.prepare_images(batch[c]).flatten(0, 1) for c in ("rgb_static", "rgb_gripper")}
        obs = model.encode_observation(images, batch["state"].flatten(0, 1)).unflatten(0, (1, T))
        lang = model.encode_language(batch["instruction"])
        probe = {}

        def hook(module, inputs, output):
            probe["x"] = output

        handle = model.norm.register_forward_hook(hook)
        model.trunk(obs, lang, batch["history_mask"])
        before = probe["x"].reshape(1, T, model.tokens_per_step, -1)[:, :, : model.obs_tokens].clone()
        model.act_query.add_(5.0)
        model.obs_queries.mul_(-3.0)
        model.trunk(obs, lang, batch["history_mask"])
        after = probe["x"].reshape(1, T, model.tokens_per_step, -1)[:, :, : model.obs_tokens]
        handle.remove()
    real = batch["history_mask"][0]
    torch.testing.assert_close(before[:, real], after[:, real])


# --- training -------------------------------------------------------------------------------------
def test_loss_decreases_on_a_tiny_batch(encoders):
    from agents.gr1.model import GR1

    torch.manual_seed(0)
    model = GR1(tiny_config(encoders))
    data = Windows(4)
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    first = None
    for _ in range(60):
        loss, metrics = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first or metrics
    assert metrics["arm_loss"] < 0.5 * first["arm_loss"]
    assert metrics["gripper_loss"] < first["gripper_loss"]
    assert metrics["video_loss_rgb_static"] < first["video_loss_rgb_static"]


def test_pretraining_ignores_actions(encoders):
    from agents.gr1.model import GR1

    model = GR1(tiny_config(encoders, action_loss=False))
    batch = torch.utils.data.default_collate([Windows(2)[i] for i in range(2)])
    del batch["actions"], batch["state"]
    loss, metrics = model.loss(batch)
    assert "arm_loss" not in metrics and loss.item() > 0
    loss.backward()
    assert model.arm_head[0].weight.grad is None  # the action head is untouched by video prediction


def _train(tmp, encoders, steps, resume=False, out="run", stop_after=None, chunk=1):
    from agents.gr1.model import GR1
    from agents.train.loop import TrainConfig, train

    torch.manual_seed(0)
    config = tiny_config(encoders, chunk=chunk)
    model = GR1(config)
    train_config = TrainConfig(
        steps=steps, batch_size=4, lr=1e-3, warmup_steps=2, log_every=1, checkpoint_every=3, device="cpu"
    )
    last = train(
        model,
        Windows(16, chunk=chunk),
        train_config,
        tmp / out,
        _checkpoint_config(config),
        resume=resume,
        progress=False,
        stop_after=stop_after,
    )
    return model, last


def test_resume_continues_the_same_run(tmp_path, encoders):
    from agents.train.loop import TrainConfig, train

    straight, _ = _train(tmp_path, encoders, steps=6, out="straight")
    _train(tmp_path, encoders, steps=6, out="resumed", stop_after=4)  # interrupted after step 4
    resumed, last = _train(tmp_path, encoders, steps=6, out="resumed", resume=True)
    assert last.name == "step-0000006"
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    rows = (tmp_path / "resumed" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[list(rows[0].split(",")).index("step")] for r in rows[1:]] == [str(i) for i in range(1, 7)]
    assert any((tmp_path / "resumed" / "tensorboard").iterdir())
    with pytest.raises(ValueError, match="already holds a training run"):
        train(resumed, Windows(16), TrainConfig(steps=2, batch_size=4, device="cpu"), tmp_path / "resumed", {})
    with pytest.raises(ValueError, match="no complete checkpoint"):
        train(
            resumed, Windows(16), TrainConfig(steps=2, batch_size=4, device="cpu"), tmp_path / "empty", {}, resume=True
        )


def test_checkpoint_round_trip_gives_identical_actions(tmp_path, encoders):
    from agents.gr1.agent import GR1Agent
    from agents.train.checkpoint import WEIGHTS

    model, last = _train(tmp_path, encoders, steps=3)
    assert (last / "config.json").is_file() and (last / WEIGHTS).is_file()
    # frozen encoder weights are not copied into the checkpoint
    from safetensors.torch import load_file

    assert not any(k.startswith("text.") for k in load_file(str(last / WEIGHTS)))
    rng = np.random.default_rng(0)
    observations = [
        {
            "rgb_static": rng.integers(0, 256, (200, 200, 3), dtype=np.uint8),
            "rgb_gripper": rng.integers(0, 256, (84, 84, 3), dtype=np.uint8),
            "robot_obs": rng.normal(size=15).astype(np.float32),
        }
        for _ in range(5)
    ]
    actions = []
    for source in (last, tmp_path / "run"):  # a checkpoint folder, or the run folder (its newest checkpoint)
        agent = GR1Agent(str(source))
        agent.reset("open the drawer")
        actions.append(np.stack([agent.act(o) for o in observations]))
    np.testing.assert_array_equal(actions[0], actions[1])
    assert actions[0].shape == (5, 7) and set(np.unique(actions[0][:, 6])) <= {-1.0, 1.0}


def test_act_pads_the_history_like_training_windows(tmp_path, encoders):
    """At step n < T the agent's action equals the model's on a left-padded training window."""
    from agents.gr1.agent import GR1Agent

    _, last = _train(tmp_path, encoders, steps=3)
    agent = GR1Agent(str(last))
    model, norm = agent.model, agent.normalizer
    rng = np.random.default_rng(1)
    frames = [
        {
            "rgb_static": rng.integers(0, 256, (S, S, 3), dtype=np.uint8),
            "rgb_gripper": rng.integers(0, 256, (S, S, 3), dtype=np.uint8),
            "robot_obs": rng.normal(size=15).astype(np.float32),
        }
        for _ in range(T + 2)
    ]
    agent.reset("move the slider left")
    for n, obs in enumerate(frames, start=1):
        got = agent.act(obs)
        window = frames[max(0, n - T) : n]
        pad = T - len(window)
        batch = {cam: torch.zeros(1, T, 3, S, S, dtype=torch.uint8) for cam in ("rgb_static", "rgb_gripper")} | {
            "state": torch.zeros(1, T, 15),
            "history_mask": torch.zeros(1, T, dtype=torch.bool),
        }
        for i, o in enumerate(window):
            for cam in ("rgb_static", "rgb_gripper"):
                batch[cam][0, pad + i] = torch.from_numpy(o[cam]).permute(2, 0, 1)
            batch["state"][0, pad + i] = torch.from_numpy(norm.normalize("observation.state", o["robot_obs"]))
            batch["history_mask"][0, pad + i] = True
        batch["instruction"] = ["move the slider left"]
        with torch.no_grad():
            pred = model(batch)
        arm = norm.unnormalize("action", torch.cat([pred["arm"][0, -1, 0], torch.zeros(1)]).numpy())[:6]
        np.testing.assert_allclose(got[:6], arm, rtol=1e-4, atol=1e-5)
        assert got[6] == (1.0 if pred["gripper"][0, -1, 0] > 0 else -1.0)
    agent.reset("open the drawer")
    assert len(agent._history) == 0  # the history is per task


def test_chunks_execute_their_first_execute_steps_then_replan(tmp_path, encoders):
    """A chunk-3 checkpoint: by default each plan's 3 actions are executed in turn; with
    execute_steps=2 it plans again after 2, its first plan's actions the same."""
    from agents.gr1.agent import GR1Agent

    _, last = _train(tmp_path, encoders, steps=2, chunk=3)
    rng = np.random.default_rng(2)
    frames = [
        {
            "rgb_static": rng.integers(0, 256, (S, S, 3), dtype=np.uint8),
            "rgb_gripper": rng.integers(0, 256, (S, S, 3), dtype=np.uint8),
            "robot_obs": rng.normal(size=15).astype(np.float32),
        }
        for _ in range(6)
    ]
    runs = {}
    for execute in (None, 2):
        agent = GR1Agent(str(last), execute_steps=execute)
        plans = []
        trunk = agent.model.trunk
        agent.model.trunk = lambda *a, _t=trunk, _p=plans, **k: (_p.append(len(_p)), _t(*a, **k))[1]
        agent.reset("open the drawer")
        runs[execute] = (np.stack([agent.act(f) for f in frames]), len(plans))
    assert runs[None][1] == 2 and runs[2][1] == 3  # plans at steps 1, 4 / 1, 3, 5
    np.testing.assert_array_equal(runs[None][0][:2], runs[2][0][:2])
    assert not np.allclose(runs[None][0][2], runs[2][0][2])  # step 3: the old plan's last vs a new plan's first
    with pytest.raises(ValueError, match=r"execute_steps must be in \[1, 3\]"):
        GR1Agent(str(last), execute_steps=4)


def test_bad_checkpoint_and_config_errors(tmp_path):
    from agents.gr1.agent import GR1Agent

    with pytest.raises(ValueError, match="neither a checkpoint"):
        GR1Agent(str(tmp_path))
    with pytest.raises(ValueError, match="divisible"):
        PRESETS["tiny"].with_overrides({"hidden": 30})
    with pytest.raises(ValueError, match="unknown GR1Config fields"):
        PRESETS["tiny"].with_overrides({"hiddn": 30})


# --- sizes ------------------------------------------------------------------------------------------
def test_paper_config_has_about_46m_trainable_parameters(tmp_path):
    """GR-1 reports about 46M trainable parameters; the frozen encoders only set the input widths, so
    one-layer stand-ins with CLIP ViT-B/32's projection (512) and ViT-B/16's width (768) suffice."""
    from agents.gr1.model import GR1

    clip = make_clip_text(tmp_path / "clip", hidden=64, projection_dim=512)
    vit = make_vit_mae(tmp_path / "vit", image_size=224, patch_size=16, hidden=768)
    model = GR1(PRESETS["paper"].with_overrides({"text_encoder": str(clip), "vision_encoder": str(vit)}))
    trainable = count_parameters(model)
    assert 43e6 < trainable < 49e6, trainable


def test_tiny_preset_builds_offline_with_the_real_minilm():
    from agents.gr1.model import GR1

    model = GR1(PRESETS["tiny"])
    assert model.text.dim == 384 and not model.vision.frozen
    assert count_parameters(model) < 3e6


@pytest.mark.slow
def test_paper_config_forward_backward_on_cpu(tmp_path):
    """Full-size frozen encoders (random weights, real shapes) and the paper trunk, batch of 1."""
    from agents.gr1.model import GR1

    clip = make_clip_text(tmp_path / "clip", hidden=512, layers=12, projection_dim=512)
    vit = make_vit_mae(tmp_path / "vit", image_size=224, patch_size=16, hidden=768, layers=12)
    config = PRESETS["paper"].with_overrides({"text_encoder": str(clip), "vision_encoder": str(vit)})
    model = GR1(config)
    t = config.history
    batch = {
        "rgb_static": torch.randint(0, 256, (1, t, 3, 200, 200), dtype=torch.uint8),
        "rgb_gripper": torch.randint(0, 256, (1, t, 3, 84, 84), dtype=torch.uint8),
        "state": torch.randn(1, t, 15),
        "actions": torch.cat([torch.randn(1, t, 1, 6), torch.ones(1, t, 1, 1)], -1),
        "history_mask": torch.ones(1, t, dtype=torch.bool),
        "action_mask": torch.ones(1, t, 1, dtype=torch.bool),
        "future_mask": torch.ones(1, t, dtype=torch.bool),
        "instruction": ["open the drawer"],
    }
    batch["future_rgb_static"], batch["future_rgb_gripper"] = batch["rgb_static"], batch["rgb_gripper"]
    loss, metrics = model.loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.blocks[0].attn.qkv.weight.grad is not None
    assert all(p.grad is None for p in model.vision.parameters())  # frozen, as GR-1


# --- data parallel ----------------------------------------------------------------------------------
DDP_SCRIPT = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.test_gr1 import Windows, _checkpoint_config, tiny_config
from agents.gr1.model import GR1
from agents.train.loop import TrainConfig, train
torch.manual_seed(0)
config = tiny_config(({clip!r}, {vit!r}))
model = GR1(config)
train(model, Windows(16), TrainConfig(steps=3, batch_size=2, lr=1e-3, warmup_steps=1, device="cpu", checkpoint_every=3),
      {out!r}, _checkpoint_config(config), progress=False)
import torch.distributed as dist
flat = torch.cat([p.detach().flatten() for p in model.parameters() if p.requires_grad])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
assert torch.equal(gathered[0], gathered[1]), "ranks diverged"
print("rank", dist.get_rank(), "ok")
dist.destroy_process_group()  # gloo threads left running abort the interpreter at exit
"""


def test_ddp_two_processes_on_cpu_with_gloo(tmp_path, encoders):
    script = tmp_path / "ddp.py"
    clip, vit = encoders
    script.write_text(DDP_SCRIPT.format(root=str(ROOT), clip=str(clip), vit=str(vit), out=str(tmp_path / "ddp")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with socket.socket() as probe:  # a free port, so concurrent runs of the suite do not collide
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port)]
    cmd.append(str(script))
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("ok") == 2
    assert (tmp_path / "ddp" / "checkpoints" / "step-0000003" / "model.safetensors").is_file()
