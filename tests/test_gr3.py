"""GR-3: attention masks, flow matching, task status, M-RoPE positions, cache layers, adapters, training,
checkpoints, the act() chunk queue, and the paper sizes (meta device)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch.nn.functional as F  # noqa: E402

from agents.base import INVALID, ONGOING, TASK_STATUSES, TERMINATED  # noqa: E402
from agents.gr3.action_transformer import ActionTransformer, attention_mask  # noqa: E402
from agents.gr3.adapters import ADAPTERS  # noqa: E402
from agents.gr3.config import PRESETS, GR3Config  # noqa: E402
from agents.gr3.flow import euler, interpolate, velocity_target  # noqa: E402
from agents.gr3.status import STATUS_INDEX, status_labels, swap_instructions  # noqa: E402
from gr_bench.train import invalid_requests  # noqa: E402
from tests.tiny_models import make_qwen25_vl, make_qwen_tokenizer, tiny_qwen25_vl_fields  # noqa: E402

S, K = 32, 4  # image size, chunk
INSTRUCTIONS = ("open the drawer", "push the red block left")
INVALID_POOL = ("open the fridge", "lift the cyan block")

# Qwen/Qwen2.5-VL-3B-Instruct's config.json on the hub; the vision fields it leaves out (depth,
# intermediate size, heads, window, full-attention blocks, merge and temporal patch) are the
# Qwen2_5_VLVisionConfig defaults it was saved with.
QWEN25_VL_3B = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "tokens_per_second": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
    },
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "tie_word_embeddings": True,
}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return make_qwen_tokenizer(tmp_path_factory.mktemp("qwen_tokenizer"))


def tiny_config(tokenizer, **overrides) -> GR3Config:
    base = PRESETS["tiny"].with_overrides(
        {
            "tokenizer": str(tokenizer),
            "backbone_config": tiny_qwen25_vl_fields(),  # 4 layers: the DiT has 2
            "image_size": S,  # 4x4 patches of 8: 4 tokens per view
            "max_instruction_tokens": 8,
            "dit_hidden": 32,
            "dit_mlp": 64,
            "chunk": K,
            "execute_steps": 2,
            "flow_samples": 2,
        }
    )
    return base.with_overrides(overrides)


def make_model(tokenizer, seed=0, **overrides):
    from agents.gr3.model import GR3

    torch.manual_seed(seed)
    return GR3(tiny_config(tokenizer, **overrides), invalid_pool=INVALID_POOL)


def randomize(module, std=0.3, seed=0):
    """Random weights everywhere, so that zero-initialised gates (adaLN-Zero) do not hide a path."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)


def window(robot: str, seed: int, instruction: str, episode_end: int | None = None) -> dict:
    """One training window (history 1) as EpisodeWindows serves it, for ``robot``'s adapter."""
    adapter = ADAPTERS[robot]
    g = torch.Generator().manual_seed(seed)
    actions = torch.randn(1, K, adapter.action_dim, generator=g)
    for d in adapter.gripper_dims:
        actions[..., d] = torch.randint(0, 2, (1, K), generator=g) * 2.0 - 1
    action_mask = torch.ones(1, K, dtype=torch.bool)
    if episode_end is not None:
        action_mask[0, episode_end:] = False
        actions[0, episode_end:] = 0
    sample = {cam: torch.randint(0, 256, (1, 3, S, S), generator=g, dtype=torch.uint8) for cam in adapter.cameras}
    return sample | {
        "state": torch.randn(1, adapter.state_dim, generator=g),
        "actions": actions,
        "action_mask": action_mask,
        "history_mask": torch.ones(1, dtype=torch.bool),
        "instruction": instruction,
    }


class Windows(torch.utils.data.Dataset):
    def __init__(self, n: int = 8, robot: str = "tabletop_arm"):
        self.items = [window(robot, i, INSTRUCTIONS[i % 2], episode_end=(i % 4) or None) for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate(items):
    return torch.utils.data.default_collate(items)


def views(batch: int = 2, n: int = 2, seed: int = 0) -> list:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (batch, 3, S, S), generator=g, dtype=torch.uint8) for _ in range(n)]


def _normalizer(robot: str = "tabletop_arm"):
    from agents.data.normalize import Normalizer

    adapter = ADAPTERS[robot]
    std = [0.5] * adapter.action_dim
    for d in adapter.gripper_dims:
        std[d] = 1.0
    return Normalizer(
        {"observation.state": [0.1] * adapter.state_dim, "action": [0.0] * adapter.action_dim},
        {"observation.state": [2.0] * adapter.state_dim, "action": std},
    )


# --- attention masks --------------------------------------------------------------------------------
def test_attention_mask_sees_the_real_prompt_and_the_chunk_causally():
    prefix_mask = torch.tensor([[True, True, True], [True, True, False]])  # sample 1: one padding token
    mask = attention_mask(prefix_mask, tokens=3, samples=2)  # [state, a1, a2] x 2 flow samples
    assert mask.shape == (2, 6, 3 + 6)
    assert mask[0, :, :3].all() and mask[1, :, :2].all() and not mask[1, :, 2].any()  # padding: never a key
    own = mask[0, :, 3:].int()
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0, 0],  # state: itself
            [1, 1, 0, 0, 0, 0],  # a1: state, a1
            [1, 1, 1, 0, 0, 0],  # a2: state, a1, a2
            [0, 0, 0, 1, 0, 0],  # the second flow sample never sees the first
            [0, 0, 0, 1, 1, 0],
            [0, 0, 0, 1, 1, 1],
        ]
    )
    assert torch.equal(own, expected) and torch.equal(mask[1, :, 3:].int(), expected)


def test_dit_outputs_respect_the_masks():
    """An action's velocity does not depend on later actions, other flow samples or padded prompt tokens."""
    dit = ActionTransformer(layers=2, hidden=32, mlp=64, heads=2, kv_heads=1, head_dim=16, state_dim=5, action_dim=3)
    randomize(dit, std=0.2)
    g = torch.Generator().manual_seed(1)
    b, s, k, lp = 2, 2, 4, 6
    noisy, t, state = torch.randn(b, s, k, 3, generator=g), torch.rand(b, s, generator=g), torch.randn(b, 5)
    keys = [torch.randn(b, 1, lp, 16, generator=g) for _ in range(2)]
    values = [torch.randn(b, 1, lp, 16, generator=g) for _ in range(2)]
    prefix_mask = torch.ones(b, lp, dtype=torch.bool)
    prefix_mask[1, -2:] = False
    rope = (torch.ones(b, k + 1, 16), torch.zeros(b, k + 1, 16))
    with torch.no_grad():
        v = dit(noisy, t, state, keys, values, prefix_mask, rope)
        later = noisy.clone()
        later[:, 0, 2] += 1.0  # action 3 of flow sample 0
        v_later = dit(later, t, state, keys, values, prefix_mask, rope)
        padded = [x.clone() for x in keys], [x.clone() for x in values]
        for x in (*padded[0], *padded[1]):
            x[:, :, -2:] += 5.0  # the last two prompt tokens: real in sample 0, padding in sample 1
        v_padded = dit(noisy, t, state, *padded, prefix_mask, rope)
    torch.testing.assert_close(v_later[:, 0, :2], v[:, 0, :2])  # earlier actions unchanged
    assert not torch.allclose(v_later[:, 0, 2:], v[:, 0, 2:])
    torch.testing.assert_close(v_later[:, 1], v[:, 1])  # the other flow sample unchanged
    torch.testing.assert_close(v_padded[1], v[1])
    assert not torch.allclose(v_padded[0], v[0])


# --- flow matching ----------------------------------------------------------------------------------
def test_flow_path_and_target():
    g = torch.Generator().manual_seed(0)
    noise, actions, t = torch.randn(2, 3, 4, 5, generator=g), torch.randn(2, 3, 4, 5, generator=g), torch.rand(2, 3)
    torch.testing.assert_close(interpolate(noise, actions, torch.zeros(2, 3)), noise)
    torch.testing.assert_close(interpolate(noise, actions, torch.ones(2, 3)), actions)
    h = 1e-2  # the path is straight: its finite difference is the target everywhere
    slope = (interpolate(noise, actions, t + h) - interpolate(noise, actions, t)) / h
    torch.testing.assert_close(slope, velocity_target(noise, actions), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(velocity_target(noise, actions), actions - noise)


def test_euler_integration_on_known_fields():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 4, 2, generator=g)
    for steps in (1, 5, 10):  # dx/dt = -x: each Euler step multiplies by (1 - dt)
        torch.testing.assert_close(euler(lambda x, t: -x, x0, steps), x0 * (1 - 1 / steps) ** steps)
    # the exact flow-matching field towards a point carries noise onto it in any number of steps
    target = torch.randn(3, 4, 2, generator=g)
    seen = []

    def towards_target(x, t):
        seen.append(t[0].item())
        return (target - x) / (1 - t)[:, None, None]

    torch.testing.assert_close(euler(towards_target, x0, 5), target)
    assert seen == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])


def test_flow_loss_targets_actions_minus_noise_on_real_steps_and_dimensions(tokenizer):
    model = make_model(tokenizer, swap_prob=0.0, status_weight=0.0)
    batch = collate([Windows(2)[i] for i in range(2)])  # sample 1 ends after 1 step
    seen = {}

    def zero_velocity(prefix, state, noisy, t):
        seen.update(noisy=noisy, t=t)
        return torch.zeros_like(noisy)

    model.velocity = zero_velocity
    _, metrics = model.loss(batch)
    actions = F.pad(batch["actions"][:, -1], (0, model.config.action_dim - 7))[:, None]  # (B, 1, K, A)
    t = seen["t"][..., None, None]
    noise = (seen["noisy"] - t * actions) / (1 - t)  # a_t = (1 - t) noise + t a
    target = (actions - noise)[..., :7]  # only the arm's 7 real dimensions
    steps = batch["action_mask"][:, -1][:, None, :, None].expand_as(target)
    assert metrics["flow_loss"] == pytest.approx((target[steps] ** 2).mean().item(), rel=1e-4)


# --- task status ------------------------------------------------------------------------------------
def test_status_labels_mark_the_last_steps_terminated():
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    labels = status_labels(mask, terminal_steps=2)
    names = [TASK_STATUSES[i] for i in labels]
    assert names == [ONGOING, ONGOING, TERMINATED, TERMINATED]  # 4+, 3, 2 and 1 steps left
    with pytest.raises(ValueError, match="longer than terminal_steps"):
        status_labels(mask, terminal_steps=4)


def test_swapped_instructions_come_from_the_pool_of_invalid_requests():
    pool = ("open the fridge", "lift the cyan block")
    torch.manual_seed(0)
    out, swapped = swap_instructions(["open the drawer"] * 200, 0.3, pool)
    assert 30 < int(swapped.sum()) < 90
    assert all(o in pool for o, s in zip(out, swapped, strict=True) if s)
    assert all(o == "open the drawer" for o, s in zip(out, swapped, strict=True) if not s)
    assert set(o for o, s in zip(out, swapped, strict=True) if s) == set(pool)
    out, swapped = swap_instructions(["a", "b"], 0.0, pool)
    assert out == ["a", "b"] and not swapped.any()
    out, swapped = swap_instructions(["a", "b"], 0.0, ())  # no pool is fine while nothing is swapped
    assert not swapped.any()
    with pytest.raises(ValueError, match="non-empty pool"):
        swap_instructions(["a"] * 10, 0.999, ())


def test_each_robot_has_a_training_bank_of_invalid_requests_disjoint_from_the_suites():
    from envs.tabletop.language_ood import invalid_instructions
    from envs.tidy.language import instructions
    from envs.tidy.tasks import tasks_in_category

    tabletop = invalid_requests("tabletop_arm")
    assert len(tabletop) >= 30 and not set(tabletop) & set(invalid_instructions())
    tidy = invalid_requests("bytemini")
    evaluated = {p for task in tasks_in_category("invalid") for p in instructions(task, "eval")}
    assert tidy and not set(tidy) & evaluated
    with pytest.raises(ValueError, match="no bank"):
        invalid_requests("unicycle")


def test_status_training_without_a_pool_of_invalid_requests_is_refused(tokenizer):
    from agents.gr3.model import GR3

    model = GR3(tiny_config(tokenizer, swap_prob=0.1))
    with pytest.raises(ValueError, match="invalid_pool"):
        model.loss(collate([Windows(2)[i] for i in range(2)]))
    GR3(tiny_config(tokenizer, swap_prob=0.0)).loss(collate([Windows(2)[i] for i in range(2)]))  # no swap, no pool


def test_swapped_samples_are_invalid_and_get_no_flow_loss(tokenizer):
    model = make_model(tokenizer, swap_prob=0.999, status_weight=1.0)
    batch = collate([Windows(4)[i] for i in range(4)])
    logits = {}
    model.status_head.register_forward_hook(lambda m, i, out: logits.update(out=out))
    torch.manual_seed(0)
    loss, metrics = model.loss(batch)
    assert metrics["swapped"] == 1.0 and metrics["flow_loss"] == 0.0
    invalid = torch.full((4,), STATUS_INDEX[INVALID])
    torch.testing.assert_close(loss, F.cross_entropy(logits["out"], invalid))  # status only, all invalid
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in model.dit.parameters())
    assert model.status_head.weight.grad.abs().sum() > 0


def test_real_samples_are_labelled_by_how_close_the_episode_end_is(tokenizer):
    model = make_model(tokenizer, swap_prob=0.0, terminal_steps=2)
    batch = collate([Windows(4)[i] for i in range(4)])  # episodes end after 4+, 1, 2, 3 steps
    logits = {}
    model.status_head.register_forward_hook(lambda m, i, out: logits.update(out=out))
    _, metrics = model.loss(batch)
    labels = torch.tensor([STATUS_INDEX[s] for s in (ONGOING, TERMINATED, TERMINATED, ONGOING)])
    assert metrics["status_loss"] == pytest.approx(F.cross_entropy(logits["out"], labels).item(), rel=1e-5)


# --- backbone ---------------------------------------------------------------------------------------
def test_patchify_matches_the_qwen_image_processor(tokenizer):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    model = make_model(tokenizer)
    images = views(batch=2, n=2)  # 2 samples x 2 views
    pixel_values, grid = model.backbone.pixel_values(images)
    processor = Qwen2VLImageProcessorPil(patch_size=8, merge_size=2, temporal_patch_size=2)
    ordered = [images[v][b].permute(1, 2, 0).numpy() for b in range(2) for v in range(2)]  # sample, then view
    expected = processor(images=ordered, do_resize=False, return_tensors="pt")
    torch.testing.assert_close(grid, expected["image_grid_thw"])
    torch.testing.assert_close(pixel_values, expected["pixel_values"].float(), atol=1e-5, rtol=1e-5)


def test_backbone_runs_on_3d_mrope_positions(tokenizer):
    model = make_model(tokenizer).eval()
    backbone = model.backbone
    seen = {}

    def capture(module, args, kwargs):
        seen["position_ids"] = kwargs["position_ids"]

    backbone.vlm.model.language_model.register_forward_pre_hook(capture, with_kwargs=True)
    with torch.no_grad():
        prefix = backbone(views(), list(INSTRUCTIONS))
    positions = seen["position_ids"]
    prompt = backbone.prompt(list(INSTRUCTIONS), 2)
    assert positions.shape == (3, *prompt["input_ids"].shape)  # (temporal, height, width) x (B, L)
    torch.testing.assert_close(positions, prefix.position_ids)
    # the first view's 2x2 merged tokens (after <|vision_start|> at 0): one time, a grid of rows and columns
    assert positions[:, 0, 1:5].tolist() == [[1, 1, 1, 1], [1, 1, 2, 2], [1, 2, 1, 2]]
    # the 1-D fallback would count every token; M-RoPE advances an image by its grid side only
    first_text = 2 * (backbone.tokens_per_view + 2)
    assert positions[0, 0, first_text].item() < first_text
    expected, _ = backbone.vlm.model.get_rope_index(
        prompt["input_ids"],
        prompt["mm_token_type_ids"],
        image_grid_thw=backbone.pixel_values(views())[1],
        attention_mask=prompt["attention_mask"],
    )
    torch.testing.assert_close(positions, expected)
    # the DiT's tokens continue the prompt: one past the last real position
    real = prompt["attention_mask"].bool()
    for b in range(2):
        assert prefix.next_position[b].item() == positions[:, b][:, real[b]].max().item() + 1


def test_dit_block_i_reads_the_cache_of_vlm_layer_half_plus_i(tokenizer):
    model = make_model(tokenizer).eval()
    backbone = model.backbone
    images, instructions = views(), list(INSTRUCTIONS)
    with torch.no_grad():
        prefix = backbone(images, instructions)
        prompt = backbone.prompt(instructions, 2)
        pixel_values, grid = backbone.pixel_values(images)
        out = backbone.vlm.model(
            input_ids=prompt["input_ids"],
            attention_mask=prompt["attention_mask"],
            position_ids=prefix.position_ids,
            pixel_values=pixel_values,
            image_grid_thw=grid,
            use_cache=True,
        )
    assert backbone.depth == 4 and prefix.layers == (2, 3) and len(model.dit.blocks) == 2
    for i, layer in enumerate(prefix.layers):
        torch.testing.assert_close(prefix.keys[i], out.cache.layers[layer].keys)
        torch.testing.assert_close(prefix.values[i], out.cache.layers[layer].values)
        assert not torch.allclose(prefix.keys[i], out.cache.layers[i].keys)  # not the first half's
    received = {}
    for i, block in enumerate(model.dit.blocks):
        block.register_forward_pre_hook(lambda m, args, i=i: received.update({i: (args[2], args[3])}))
    randomize(model.dit)
    state, noisy, t = (
        torch.zeros(2, model.config.state_dim),
        torch.randn(2, 1, K, model.config.action_dim),
        torch.rand(2, 1),
    )
    with torch.no_grad():
        v = model.velocity(prefix, state, noisy, t)
        assert all(received[i][0] is prefix.keys[i] and received[i][1] is prefix.values[i] for i in range(2))
        prefix.values[1] = prefix.values[1] + 1.0  # VLM layer 3 is what block 1 reads
        assert not torch.allclose(model.velocity(prefix, state, noisy, t), v)


def test_sampling_reuses_the_cache_as_if_the_vlm_ran_at_every_step(tokenizer):
    model = make_model(tokenizer).eval()
    randomize(model.dit, std=0.1)
    noise = torch.randn(2, K, model.config.action_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        cached, status = model.sample(views(), torch.zeros(2, model.config.state_dim), list(INSTRUCTIONS), noise=noise)
        again, _ = model.sample(
            views(), torch.zeros(2, model.config.state_dim), list(INSTRUCTIONS), noise=noise, recompute_prefix=True
        )
    torch.testing.assert_close(cached, again)
    assert cached.shape == (2, K, model.config.action_dim) and status.shape == (2, len(TASK_STATUSES))
    assert not torch.allclose(cached, noise)


def test_backbone_loads_real_weights_from_a_path(tmp_path, tokenizer):
    from safetensors.torch import load_file

    from agents.gr3.model import GR3

    folder = make_qwen25_vl(tmp_path / "qwen", tokenizer)
    model = GR3(tiny_config(tokenizer).with_overrides({"backbone": str(folder), "tokenizer": None}))
    saved = load_file(str(folder / "model.safetensors"))
    name = next(k for k in saved if k.endswith("layers.0.self_attn.q_proj.weight"))  # the hub's key layout
    assert torch.equal(model.backbone.vlm.model.language_model.layers[0].self_attn.q_proj.weight, saved[name])
    assert model.backbone.tokenizer.convert_tokens_to_ids("<|image_pad|>") == model.backbone.vlm.config.image_token_id


def test_tiny_preset_builds_offline_and_trains_the_vision_tower():
    from agents.gr3.model import GR3

    model = GR3(PRESETS["tiny"])  # the MiniLM vocabulary, Qwen's vision tokens added
    assert all(p.requires_grad for p in model.backbone.vlm.model.visual.parameters())
    assert len(model.dit.blocks) == model.backbone.depth // 2 == 2
    assert sum(p.numel() for p in model.parameters()) < 4e6


# --- training ---------------------------------------------------------------------------------------
def test_loss_decreases_on_a_tiny_batch(tokenizer):
    model = make_model(tokenizer, swap_prob=0.0)
    batch = collate([Windows(4)[i] for i in range(4)])

    def evaluate():  # the same noise and flow times every time
        torch.manual_seed(123)
        with torch.no_grad():
            return model.loss(batch)[1]

    before = evaluate()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(100):
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = evaluate()
    assert after["flow_loss"] < 0.6 * before["flow_loss"], (before, after)
    assert after["status_loss"] < 0.1 * before["status_loss"] and after["status_acc"] == 1.0


def _train(tmp, tokenizer, steps=3, out="run"):
    from agents.gr3.model import GR3
    from agents.train.loop import TrainConfig, train

    torch.manual_seed(0)
    config = tiny_config(tokenizer)
    model = GR3(config, invalid_pool=INVALID_POOL)
    checkpoint_config = {"agent": "gr3", "stage": "finetune", "model": config.to_dict()}
    checkpoint_config["normalizer"] = _normalizer().to_dict()
    train_config = TrainConfig(steps=steps, batch_size=4, lr=1e-3, warmup_steps=1, checkpoint_every=steps, device="cpu")
    last = train(model, Windows(8), train_config, tmp / out, checkpoint_config, progress=False)
    return model, last


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tokenizer):
    return _train(tmp_path_factory.mktemp("gr3"), tokenizer)


def observation(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "rgb_static": rng.integers(0, 256, (200, 200, 3), dtype=np.uint8),
        "rgb_gripper": rng.integers(0, 256, (84, 84, 3), dtype=np.uint8),
        "robot_obs": rng.normal(size=15).astype(np.float32),
    }


def test_checkpoint_round_trip_gives_identical_actions(checkpoint):
    from agents.gr3.agent import GR3Agent

    model, last = checkpoint
    chunks = []
    for source in (last, last.parents[1]):  # a checkpoint folder, or the run folder
        agent = GR3Agent(str(source), seed=7)
        agent.reset("open the drawer")
        chunks.append(agent.plan(observation()))
    np.testing.assert_array_equal(chunks[0][0], chunks[1][0])
    assert chunks[0][1] == chunks[1][1]
    # the same as the trained model in memory, with the same noise
    agent.seed(7)
    io = agent.io["tabletop_arm"]
    inputs = io.inputs(observation())
    model.eval()
    with torch.no_grad():
        actions, _ = model.sample(
            inputs["images"], inputs["state"], ["open the drawer"], generator=torch.Generator().manual_seed(7)
        )
    expected = io.outputs({"actions": actions[0]})["actions"].numpy()
    np.testing.assert_allclose(chunks[0][0], expected, rtol=1e-5, atol=1e-6)
    assert chunks[0][0].shape == (K, 7) and set(np.unique(chunks[0][0][:, 6])) <= {-1.0, 1.0}


def test_act_executes_the_chunk_from_a_queue_and_replans_every_n_steps(checkpoint):
    from agents.gr3.agent import GR3Agent

    agent = GR3Agent(str(checkpoint[1]), execute_steps=3)
    with torch.no_grad():
        agent.model.status_head.bias.copy_(torch.tensor([20.0, 0.0, 0.0]))  # always ongoing
    plans = []
    plan = agent.plan
    agent.plan = lambda obs: plans.append(plan(obs)) or plans[-1]
    agent.reset("open the drawer")
    out = [agent.act(observation(i)) for i in range(7)]
    assert len(plans) == 3  # steps 0, 3 and 6
    expected = [plans[0][0][0], plans[0][0][1], plans[0][0][2], plans[1][0][0], plans[1][0][1], plans[1][0][2]]
    for (action, status), want in zip(out, expected + [plans[2][0][0]], strict=True):
        np.testing.assert_array_equal(action, want)
        assert status == ONGOING
    agent.reset("open the drawer")  # a new task forgets the old chunk
    agent.act(observation())
    assert len(plans) == 4
    with pytest.raises(ValueError, match="execute_steps"):
        GR3Agent(str(checkpoint[1]), execute_steps=K + 1)


def test_act_reports_invalid_at_once_and_terminated_after_the_chunk(checkpoint):
    from agents.gr3.agent import GR3Agent

    agent = GR3Agent(str(checkpoint[1]), execute_steps=2, status_patience=1)
    chunk = np.arange(K * 7, dtype=np.float64).reshape(K, 7)
    agent.plan = lambda obs: (chunk, INVALID)
    agent.reset("open the door")
    action, status = agent.act(observation())
    assert status == INVALID and np.array_equal(action, chunk[0])
    agent.plan = lambda obs: (chunk, TERMINATED)
    agent.reset("open the drawer")
    statuses = [agent.act(observation())[1] for _ in range(3)]
    assert statuses == [ONGOING, ONGOING, TERMINATED]  # the last chunk's actions are carried out first
    with pytest.raises(RuntimeError, match="reset"):
        GR3Agent(str(checkpoint[1])).act(observation())
    with pytest.raises(ValueError, match="status_patience"):
        GR3Agent(str(checkpoint[1]), status_patience=0)


def test_a_status_is_reported_only_when_consecutive_plans_agree(checkpoint):
    from agents.gr3.agent import GR3Agent

    agent = GR3Agent(str(checkpoint[1]), execute_steps=2, status_patience=2)
    chunk = np.zeros((K, 7))
    plans = iter([INVALID, ONGOING, INVALID, INVALID])
    agent.plan = lambda obs: (chunk, next(plans))
    agent.reset("open the door")
    statuses = [agent.act(observation())[1] for _ in range(7)]
    # plan 1 invalid (alone: its chunk runs), plan 2 ongoing, plan 3 invalid, plan 4 agrees: reported
    assert statuses == [ONGOING] * 6 + [INVALID]
    plans = iter([TERMINATED, ONGOING, TERMINATED, TERMINATED])
    agent.reset("open the drawer")
    statuses = [agent.act(observation())[1] for _ in range(9)]
    assert statuses == [ONGOING] * 8 + [TERMINATED]  # the agreeing plan's chunk is carried out first
    plans = iter([INVALID, INVALID])
    agent.reset("open the fridge")  # a new episode starts a new streak
    assert [agent.act(observation())[1] for _ in range(3)] == [ONGOING, ONGOING, INVALID]


# --- adapters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("robot", "state_dim", "action_dim"), [("tabletop_arm", 15, 7), ("bytemini", 39, 19)])
def test_adapters_pad_to_the_model_and_back(robot, state_dim, action_dim):
    adapter = ADAPTERS[robot]
    config = PRESETS["tiny"].with_overrides({"robot": robot, "chunk": K, "execute_steps": 2})
    batch = collate([window(robot, i, "open the drawer") for i in range(3)])
    inputs = adapter.training_inputs(config.state_dim, config.action_dim)(batch)
    assert [tuple(v.shape) for v in inputs["images"]] == [(3, 3, S, S)] * len(adapter.cameras)
    assert inputs["state"].shape == (3, config.state_dim) and inputs["actions"].shape == (3, K, config.action_dim)
    torch.testing.assert_close(inputs["state"][:, :state_dim], batch["state"][:, -1])
    assert not inputs["state"][:, state_dim:].any() and not inputs["actions"][..., action_dim:].any()
    assert inputs["action_dims"].tolist() == [True] * action_dim + [False] * (config.action_dim - action_dim)

    normalizer = _normalizer(robot)
    rng = np.random.default_rng(0)
    obs = {cam: rng.integers(0, 256, (24, 40, 3), dtype=np.uint8) for cam in adapter.cameras}
    obs["robot_obs"] = rng.normal(size=state_dim).astype(np.float32)
    single = adapter.observation_inputs(config.state_dim, normalizer)(obs)
    assert [tuple(v.shape) for v in single["images"]] == [(1, 3, 24, 40)] * len(adapter.cameras)
    np.testing.assert_allclose(single["state"][0, :state_dim].numpy(), (obs["robot_obs"] - 0.1) / 2.0, rtol=1e-6)

    model_actions = torch.randn(K, config.action_dim)
    env_actions = adapter.action_outputs(normalizer)({"actions": model_actions})["actions"]
    assert env_actions.shape == (K, action_dim)
    arm = [d for d in range(action_dim) if d not in adapter.gripper_dims]
    torch.testing.assert_close(env_actions[:, arm], model_actions[:, arm] * 0.5)
    grippers = env_actions[:, list(adapter.gripper_dims)]
    assert torch.equal(grippers, torch.where(model_actions[:, list(adapter.gripper_dims)] >= 0, 1.0, -1.0))

    other = "bytemini" if robot == "tabletop_arm" else "tabletop_arm"
    with pytest.raises(ValueError, match=f"the {other!r} adapter needs"):
        ADAPTERS[other].training_inputs(config.state_dim, config.action_dim)(batch)
    with pytest.raises(ValueError, match=f"{other!r} adapter expects"):
        other_cameras = {cam: batch[adapter.cameras[0]] for cam in ADAPTERS[other].cameras}
        ADAPTERS[other].training_inputs(config.state_dim, config.action_dim)(batch | other_cameras)


def test_bytemini_trains_through_its_adapter_only(tokenizer):
    """The 19-D bimanual robot with three cameras needs nothing but its adapter entry."""
    model = make_model(tokenizer, robot="bytemini", swap_prob=0.0)
    batch = collate([window("bytemini", i, INSTRUCTIONS[i % 2]) for i in range(2)])
    loss, metrics = model.loss(batch)
    loss.backward()
    assert metrics["flow_loss"] > 0 and model.dit.embed_action.weight.grad is not None
    assert model.backbone.prompt(["open the drawer"], 3)["input_ids"].shape[1] >= 3 * (
        model.backbone.tokens_per_view + 2
    )


def test_one_model_serves_both_robots(tmp_path, tokenizer):
    """GR-3 as a multi-embodiment policy: one model trained on both robots' data (every batch one
    robot's), saved with a normaliser per robot; the agent picks the robot from the episode's action
    space and refuses a robot it was not trained for."""
    import gymnasium

    from agents.data import RobotMix
    from agents.gr3.agent import GR3Agent
    from agents.gr3.model import GR3
    from agents.train.loop import TrainConfig, train

    torch.manual_seed(0)
    weights = {"bytemini": 1.0, "tabletop_arm": 1.0}
    config = tiny_config(tokenizer, robots=["tabletop_arm", "bytemini"], robot_weights=weights)
    pools = {"tabletop_arm": INVALID_POOL, "bytemini": ("put the teapot in the bin",)}
    model = GR3(config, invalid_pool=pools)
    data = RobotMix({"tabletop_arm": Windows(8), "bytemini": Windows(8, robot="bytemini")}, config.robot_weights)
    with pytest.raises(ValueError, match="one of the model's robots"):
        model.loss(collate([data[0], data[1]]) | {"robot": ["tabletop_arm", "bytemini"]})  # two robots: refused
    checkpoint_config = {
        "agent": "gr3",
        "stage": "finetune",
        "model": config.to_dict(),
        "normalizers": {r: _normalizer(r).to_dict() for r in config.robots},
    }
    train_config = TrainConfig(steps=6, batch_size=4, lr=1e-3, warmup_steps=1, checkpoint_every=6, device="cpu")
    seen = []
    original = model.loss

    def loss(batch):
        seen.append(set(batch["robot"]))
        return original(batch)

    model.loss = loss
    last = train(model, data, train_config, tmp_path / "run", checkpoint_config, progress=False)
    assert all(len(robots) == 1 for robots in seen) and set().union(*seen) == {"tabletop_arm", "bytemini"}

    agent = GR3Agent(str(last))
    rng = np.random.default_rng(0)
    for robot in ("bytemini", "tabletop_arm"):
        adapter = ADAPTERS[robot]
        agent.bind_action_space(gymnasium.spaces.Box(-1, 1, (adapter.action_dim,)))
        agent.reset("clean up the table")
        obs = {cam: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for cam in adapter.cameras}
        action, status = agent.act(obs | {"robot_obs": rng.normal(size=adapter.state_dim).astype(np.float32)})
        assert action.shape == (adapter.action_dim,) and np.isfinite(action).all() and status in TASK_STATUSES
    with pytest.raises(ValueError, match=r"trained for robots .* shape \(17,\)"):
        agent.bind_action_space(gymnasium.spaces.Box(-1, 1, (17,)))


def test_training_build_on_a_bytemini_dataset(tmp_path, tokenizer):
    """gr-bench train's build: EpisodeWindows with the robot's cameras, grippers left +-1, other tasks to swap in."""
    from agents.data.lerobot_format import EpisodeData, image_stats, write_dataset
    from agents.data.video_io import encode_video
    from agents.gr3.training import build

    adapter, rng = ADAPTERS["bytemini"], np.random.default_rng(0)
    episodes = []
    for e, (task, text) in enumerate(
        [("clear_table", "clear the table"), ("put_cup_in_bin", "put the cup in the bin")]
    ):
        n = 6
        videos, stats = {}, {}
        for cam in adapter.cameras:
            frames = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
            videos[f"observation.images.{cam}"] = encode_video(tmp_path / f"{cam}-{e}.mp4", frames, 20)
            stats[f"observation.images.{cam}"] = image_stats(frames)
        action = rng.normal(size=(n, 19)).astype(np.float32)
        action[:, 17:] = np.sign(action[:, 17:])
        columns = {"observation.state": rng.normal(size=(n, 39)).astype(np.float32), "action": action}
        episodes.append(EpisodeData(text, columns, videos, stats, extra={"task_name": task}))
    features = {
        "observation.state": {"dtype": "float32", "shape": [39], "names": [f"s{i}" for i in range(39)]},
        "action": {"dtype": "float32", "shape": [19], "names": [f"a{i}" for i in range(19)]},
    }
    sizes = {f"observation.images.{cam}": (16, 16) for cam in adapter.cameras}
    write_dataset(tmp_path / "data", episodes, features, 20, video_sizes=sizes, robot_type="bytemini")

    overrides = tiny_config(tokenizer, robot="bytemini").to_dict()
    pool = list(invalid_requests("bytemini"))  # the tidy env's bank
    model, dataset, checkpoint_config = build("tiny", overrides, data=str(tmp_path / "data"), invalid_pool=pool)
    assert checkpoint_config["agent"] == "gr3" and model.config.robots == ("bytemini",)
    assert model.invalid_pool == {"bytemini": tuple(pool)}
    normalizer = checkpoint_config["normalizers"]["bytemini"]
    mean, std = normalizer["mean"]["action"], normalizer["std"]["action"]
    assert mean[17:] == [0.0, 0.0] and std[17:] == [1.0, 1.0]  # grippers stay +-1
    sample = dataset[5]
    assert sample["rgb_head"].shape == (1, 3, S, S) and sample["actions"].shape == (1, K, 19)
    loss, _ = model.loss(collate([dataset[i] for i in (0, 5, 6, 11)]))
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="no 'pretrain' stage"):
        build("tiny", overrides, stage="pretrain", data=str(tmp_path / "data"))

    # few-shot from a trained checkpoint: its model and normaliser, no wrist views, no state
    from agents.train.loop import TrainConfig, train

    config = TrainConfig(steps=1, batch_size=2, warmup_steps=1, checkpoint_every=1, device="cpu")
    train(model, dataset, config, tmp_path / "run", checkpoint_config, progress=False)
    with pytest.raises(ValueError, match="--init"):
        build("tiny", stage="fewshot", data=str(tmp_path / "data"))
    few, human, few_config = build("tiny", stage="fewshot", data=str(tmp_path / "data"), init=str(tmp_path / "run"))
    assert few.config == model.config and few_config["normalizers"] == checkpoint_config["normalizers"]
    assert few_config["stage"] == "fewshot" and few_config["source"]["init"] == str(tmp_path / "run")
    sample = human[5]
    assert not sample["rgb_left_wrist"].any() and not sample["rgb_right_wrist"].any() and not sample["state"].any()
    assert sample["rgb_head"].any()
    # co-training data must come from the robot's own cameras
    from gr_bench.collect_vl import collect_vl

    collect_vl(tmp_path / "vl", scenes=1, questions_per_scene=2, size=32, gripper_size=16, progress=False)
    with pytest.raises(ValueError, match="collect it from the robot's environment"):
        build("tiny", overrides, data=str(tmp_path / "data"), vl_data=str(tmp_path / "vl"))


def test_registries_and_config_errors():
    from gr_bench.agents import AGENTS
    from gr_bench.train import TRAINABLE

    assert AGENTS["gr3"] == "agents.gr3.agent:GR3Agent" and TRAINABLE["gr3"] == "agents.gr3.training:build"
    tiny = PRESETS["tiny"]
    with pytest.raises(ValueError, match="not an adapter"):
        tiny.with_overrides({"robot": "spot"})
    with pytest.raises(ValueError, match="at least one robot, each once"):
        tiny.with_overrides({"robots": ["bytemini", "bytemini"]})
    with pytest.raises(ValueError, match="robot_weights"):
        tiny.with_overrides({"robot_weights": {"bytemini": 1.0}})
    assert tiny.with_overrides({"robot": "bytemini"}).robots == ("bytemini",)  # one-robot configs still load
    with pytest.raises(ValueError, match="wider than the model's"):
        tiny.with_overrides({"robot": "bytemini", "action_dim": 8})
    with pytest.raises(ValueError, match="terminal_steps"):
        tiny.with_overrides({"chunk": 2, "execute_steps": 2, "terminal_steps": 2})
    with pytest.raises(ValueError, match="needs a tokenizer"):
        tiny.with_overrides({"tokenizer": None})
    with pytest.raises(ValueError, match="unknown GR3Config fields"):
        tiny.with_overrides({"chunks": 3})
    assert GR3Config.from_dict(tiny.to_dict()) == tiny


# --- paper sizes ------------------------------------------------------------------------------------
def test_paper_backbone_on_the_meta_device(tokenizer):
    """Qwen2.5-VL-3B's architecture through GR-3's own code, without weights: the sizes GR-3 derives."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from agents.gr3.model import GR3

    with torch.device("meta"):
        vlm = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(**QWEN25_VL_3B))
        # the paper preset with this architecture at random (the test tokenizer's small vocabulary)
        config = PRESETS["paper"].with_overrides(
            {"backbone": None, "backbone_config": QWEN25_VL_3B, "tokenizer": str(tokenizer)}
        )
        model = GR3(config)
    vlm_params = sum(p.numel() for p in vlm.parameters())
    assert 3.6e9 < vlm_params < 3.9e9, vlm_params  # "3B": 3.75B with tied embeddings
    text = vlm.model.language_model
    assert len(text.layers) == 36 and text.layers[0].self_attn.k_proj.weight.shape == (256, 2048)
    assert text.layers[0].mlp.gate_proj.weight.shape == (11008, 2048)
    assert len(vlm.model.visual.blocks) == 32 and vlm.model.visual.merger.mlp[-1].weight.shape == (2048, 5120)

    backbone = model.backbone
    assert backbone.read_layers == tuple(range(18, 36)) and len(model.dit.blocks) == 18
    assert (backbone.heads, backbone.kv_heads, backbone.head_dim) == (16, 2, 128)
    assert backbone.tokens_per_view == 64  # a 224x224 view: 16x16 patches of 14, merged 2x2
    attn = model.dit.blocks[0].attn
    assert attn.q_proj.weight.shape == (16 * 128, 1024) and attn.k_proj.weight.shape == (2 * 128, 1024)
    dit_params = sum(p.numel() for p in model.dit.parameters())
    assert 3.9e9 < vlm_params + dit_params < 4.3e9  # GR-3: "4B parameters" in all


def test_paper_action_transformer_forward_backward_on_a_3b_cache():
    """The paper DiT (18 blocks, width 1024) on random KV shaped as Qwen2.5-VL-3B caches them."""
    with torch.device("meta"):
        dit = ActionTransformer(
            layers=18, hidden=1024, mlp=4096, heads=16, kv_heads=2, head_dim=128, state_dim=48, action_dim=24
        )
    dit.to_empty(device="cpu")
    randomize(dit, std=0.02)
    config = PRESETS["paper"]
    prompt = 2 * (64 + 2) + 12  # two 224x224 views and a short instruction
    g = torch.Generator().manual_seed(0)
    keys = [torch.randn(1, 2, prompt, 128, generator=g) for _ in range(18)]
    values = [torch.randn(1, 2, prompt, 128, generator=g) for _ in range(18)]
    k = config.chunk
    rope = (torch.ones(1, k + 1, 128), torch.zeros(1, k + 1, 128))
    noisy = torch.randn(1, 1, k, config.action_dim, generator=g)
    v = dit(noisy, torch.rand(1, 1), torch.randn(1, 48), keys, values, torch.ones(1, prompt, dtype=torch.bool), rope)
    assert v.shape == (1, 1, k, 24)
    v.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in dit.blocks[-1].parameters())


@pytest.mark.slow
def test_reduced_depth_3b_backbone_end_to_end(tokenizer):
    """Qwen2.5-VL-3B's widths with 2 text and 2 vision layers, the paper DiT's width: loss, backward, sample."""
    from agents.gr3.model import GR3

    fields = {
        **QWEN25_VL_3B,
        "text_config": {**QWEN25_VL_3B["text_config"], "num_hidden_layers": 2},
        "vision_config": {**QWEN25_VL_3B["vision_config"], "depth": 2, "fullatt_block_indexes": [1]},
    }
    config = PRESETS["paper"].with_overrides(
        {"backbone": None, "backbone_config": fields, "tokenizer": str(tokenizer), "chunk": 8, "execute_steps": 4}
    )
    torch.manual_seed(0)
    model = GR3(config, invalid_pool=INVALID_POOL)
    g = torch.Generator().manual_seed(0)
    batch = {
        "rgb_static": torch.randint(0, 256, (1, 1, 3, 200, 200), generator=g, dtype=torch.uint8),
        "rgb_gripper": torch.randint(0, 256, (1, 1, 3, 84, 84), generator=g, dtype=torch.uint8),
        "state": torch.randn(1, 1, 15, generator=g),
        "actions": torch.randn(1, 1, 8, 7, generator=g),
        "action_mask": torch.ones(1, 1, 8, dtype=torch.bool),
        "instruction": ["open the drawer"],
    }
    loss, _ = model.loss(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.backbone.vlm.model.visual.blocks[0].attn.qkv.weight.grad is not None  # trained end to end
    model.eval()
    with torch.no_grad():
        actions, status = model.sample(
            [batch["rgb_static"][:, 0], batch["rgb_gripper"][:, 0]], torch.zeros(1, 48), ["open the drawer"]
        )
    assert actions.shape == (1, 8, 24) and status.shape == (1, 3)


# --- co-training with vision-language data, few-shot "human" data ---------------------------------
QUESTIONS = ("is the drawer open?", "where is the red block in the image?")
ANSWERS = ("yes", "12 40 20 48")


def vl_samples(n: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [
        {
            "rgb_static": torch.randint(0, 256, (3, 48, 48), generator=g, dtype=torch.uint8),
            "rgb_gripper": torch.randint(0, 256, (3, 20, 20), generator=g, dtype=torch.uint8),
            "question": QUESTIONS[i % 2],
            "answer": ANSWERS[i % 2],
        }
        for i in range(n)
    ]


def test_answer_prompts_label_only_the_answer_and_its_end_token(tokenizer):
    model = make_model(tokenizer)
    backbone = model.backbone
    prompt = backbone.prompt(list(QUESTIONS), 2, list(ANSWERS))
    plain = backbone.prompt(list(QUESTIONS), 2)
    for row in range(2):
        n_prompt = int(plain["attention_mask"][row].sum())
        answer = backbone.tokenizer(ANSWERS[row], add_special_tokens=False)["input_ids"]
        end = backbone.tokenizer.eos_token_id or backbone.tokenizer.sep_token_id
        labels = prompt["labels"][row]
        assert (labels[:n_prompt] == -100).all()  # the views and the question are not predicted
        assert labels[n_prompt : n_prompt + len(answer) + 1].tolist() == answer + [end]
        assert (labels[n_prompt + len(answer) + 1 :] == -100).all()  # padding
        assert prompt["input_ids"][row, :n_prompt].tolist() == plain["input_ids"][row, :n_prompt].tolist()


def test_answer_loss_is_the_vlms_own_next_token_loss(tokenizer):
    """Logits only at answer positions give the same loss as the full LM head with labels."""
    model = make_model(tokenizer)
    randomize(model.backbone.vlm, std=0.05)
    backbone, images = model.backbone, views(2)
    loss, accuracy = backbone.answer_loss(images, list(QUESTIONS), list(ANSWERS))
    prompt = backbone.prompt(list(QUESTIONS), 2, list(ANSWERS))
    pixel_values, grid = backbone.pixel_values(images)
    positions, _ = backbone.vlm.model.get_rope_index(
        prompt["input_ids"], prompt["mm_token_type_ids"], image_grid_thw=grid, attention_mask=prompt["attention_mask"]
    )
    reference = backbone.vlm(
        input_ids=prompt["input_ids"],
        attention_mask=prompt["attention_mask"],
        position_ids=positions,
        pixel_values=pixel_values,
        image_grid_thw=grid,
        labels=prompt["labels"],
    ).loss
    torch.testing.assert_close(loss, reference, rtol=1e-5, atol=1e-5)
    assert 0.0 <= float(accuracy) <= 1.0


def test_cotraining_batches_train_the_backbone_only_through_the_answer_loss(tokenizer):
    from agents.gr3.cotraining import CoTraining

    model = make_model(tokenizer, swap_prob=0.0, status_weight=0.0)
    robot = Windows(4)
    data = CoTraining(robot, vl_samples(3))
    batch = collate([data[i] for i in range(4)])
    assert batch["vl_rgb_static"].shape == (4, 3, 48, 48) and list(batch["vl_question"][:2]) == [
        QUESTIONS[data.vl_index(0) % 2],
        QUESTIONS[data.vl_index(1) % 2],
    ]
    torch.manual_seed(0)
    loss, metrics = model.loss(batch)
    torch.manual_seed(0)
    robot_loss, robot_metrics = model.loss(collate([robot[i] for i in range(4)]))
    assert "vl_loss" in metrics and "vl_loss" not in robot_metrics
    torch.testing.assert_close(loss, robot_loss + metrics["vl_loss"] * model.config.vl_weight, rtol=1e-4, atol=1e-4)

    model.zero_grad()
    vl_loss, _ = model.vl_loss(batch)
    vl_loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in model.dit.parameters())
    assert all(p.grad is None or not p.grad.any() for p in model.status_head.parameters())
    vision = model.backbone.vlm.model.visual
    assert any(p.grad is not None and p.grad.any() for p in vision.parameters())  # the vision tower learns too

    half = make_model(tokenizer, vl_fraction=0.5)
    seen = {}
    original = half.backbone.answer_loss
    half.backbone.answer_loss = lambda v, q, a: seen.update(n=len(q)) or original(v, q, a)
    half.vl_loss(batch)
    assert seen["n"] == 2


def test_cotraining_pairs_visit_every_question():
    from agents.gr3.cotraining import CoTraining

    data = CoTraining(Windows(40), vl_samples(7))
    assert len(data) == 40 and {data.vl_index(i) for i in range(7)} == set(range(7))
    with pytest.raises(ValueError, match="empty"):
        CoTraining(Windows(4), [])


def test_human_trajectories_have_no_wrist_view_and_no_state():
    from agents.gr3.cotraining import HumanTrajectories

    robot = Windows(4)
    human = HumanTrajectories(robot, ADAPTERS["tabletop_arm"].wrist_cameras)
    sample, original = human[1], robot[1]
    assert not sample["rgb_gripper"].any() and not sample["state"].any()
    assert torch.equal(sample["rgb_static"], original["rgb_static"]) and torch.equal(
        sample["actions"], original["actions"]
    )
    assert original["state"].any()  # the underlying data is untouched
    with pytest.raises(KeyError, match="rgb_left_wrist"):
        HumanTrajectories(robot, ("rgb_left_wrist",))[0]
    with pytest.raises(ValueError, match="at least one camera"):
        HumanTrajectories(robot, ())


def test_scene_questions_are_answered_from_the_simulator():
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.tabletop.vqa import QUESTION_KINDS, block_box, project, scene_questions

    env = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped
    kinds = set()
    for seed in range(6):
        env.reset(seed=seed, options={"scene": "ABC"[seed % 3]})
        state = env.symbolic_state
        qas = scene_questions(env, np.random.default_rng(seed), 20)
        assert len(qas) == 20
        for qa in qas:
            kinds.add(qa["kind"])
            if qa["question"] == "is the drawer open?":
                assert qa["answer"] == ("yes" if state.drawer == "open" else "no")
            if qa["question"] == "where is the sliding door?":
                assert qa["answer"] == state.slider
            if qa["kind"] == "grounding":
                colour = qa["question"].split()[3]
                left, top, right, bottom = map(int, qa["answer"].split())
                assert 0 <= left < right <= 99 and 0 <= top < bottom <= 99
                centre = env.sim.data.geom_xpos[env.sim.model.geom(f"block_{colour}").id]
                pixels, in_front = project(env.sim.model, env.sim.data, "static", centre[None], 100, 100)
                col, row = pixels[0]
                assert in_front[0]
                assert left - 1 <= col <= right + 1 and top - 1 <= row <= bottom + 1
                assert block_box(env.sim, colour) is not None
    assert kinds == set(QUESTION_KINDS)


def test_collect_vl_writes_a_dataset_that_loads_resized(tmp_path):
    from agents.data.vqa import VQADataset
    from gr_bench.collect_vl import collect_vl

    meta = collect_vl(tmp_path / "vl", scenes=3, questions_per_scene=4, size=64, gripper_size=32, progress=False)
    assert meta["scenes"] == 3 and meta["questions"] == 12 and sum(meta["kinds"].values()) == 12
    data = VQADataset(tmp_path / "vl", ("rgb_static", "rgb_gripper"), image_size=(S, S))
    item = data[5]
    assert item["rgb_static"].shape == (3, S, S) and item["rgb_gripper"].dtype == torch.uint8
    assert isinstance(item["question"], str) and item["answer"]
    with pytest.raises(FileExistsError, match="exists"):
        collect_vl(tmp_path / "vl", scenes=1, progress=False)
    with pytest.raises(ValueError, match=r"not \['head'\]"):
        VQADataset(tmp_path / "vl", ("rgb_head",))
    with pytest.raises(FileNotFoundError, match="collect-vl"):
        VQADataset(tmp_path, ("rgb_static",))
    # the same keys give the same scenes: rendering is deterministic
    again = collect_vl(tmp_path / "vl2", scenes=3, questions_per_scene=4, size=64, gripper_size=32, progress=False)
    assert again["kinds"] == meta["kinds"]
    assert (tmp_path / "vl" / "questions.jsonl").read_text() == (tmp_path / "vl2" / "questions.jsonl").read_text()


def test_one_forward_with_answers_leaves_the_robot_rows_as_they_are_alone(tokenizer):
    model = make_model(tokenizer)
    randomize(model.backbone.vlm, std=0.05)
    backbone, images = model.backbone, views(4)
    robot = ["open the drawer", "push the red block left"]
    fused, loss, _ = backbone.forward_with_answers(images, robot + list(QUESTIONS), [None, None, *ANSWERS])
    alone = backbone([v[:2] for v in images], robot)
    rows = fused.rows(2)
    torch.testing.assert_close(rows.features, alone.features, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(rows.next_position, alone.next_position)
    width = alone.mask.shape[1]
    assert not rows.mask[:, width:].any()  # the longer answer rows only add padding to the robot rows
    for fused_k, alone_k in zip(rows.keys, alone.keys, strict=True):
        torch.testing.assert_close(fused_k[:, :, :width], alone_k, rtol=1e-4, atol=1e-5)
    separate, _ = backbone.answer_loss([v[2:] for v in images], list(QUESTIONS), list(ANSWERS))
    torch.testing.assert_close(loss, separate, rtol=1e-4, atol=1e-5)


def test_greedy_answers_recover_what_the_backbone_was_taught(tokenizer):
    model = make_model(tokenizer)
    backbone, images = model.backbone, views(2)
    # words of the test tokenizer's vocabulary (anything else decodes as its unknown token)
    questions, answers = list(QUESTIONS), ["open", "the red block in the drawer"]
    optimizer = torch.optim.AdamW(backbone.parameters(), lr=3e-3)
    torch.manual_seed(0)
    for _ in range(150):
        loss, accuracy = backbone.answer_loss(images, questions, answers)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(accuracy) == 1.0
    assert backbone.answer(images, questions, max_tokens=8) == answers
